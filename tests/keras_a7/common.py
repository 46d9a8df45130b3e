"""Shared helpers of the Keras A7 suite: the student's Keras models as data, rebuilt here.

The worker calls the student's builder and describes the model it returns (layers, their
configurations, what ``compile`` was given); everything after that happens on this trusted
side: the whitelist, the rebuild in PyTorch, a fidelity check of that rebuild against the
student's own Keras model, and all training.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from grader.testing import (
    CompileError,
    KerasCompile,
    KerasModel,
    check_keras_spec,
    described,
    fail,
    fidelity_gap,
    layer_lines,
    pack_of,
    parse_compile,
    validated,
)

PACK = pack_of(__file__)
SETTINGS = PACK.settings
KERAS_MISSING = ("not run: Keras is not installed where grading runs (install the grader "
                 "with its `keras` extra: `pip install 'trustgrade[keras]'`)")
PROBE_IMAGES = 16


def require_keras() -> None:
    """Skip (never pass) when the grading environment has no Keras: the worker needs it."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip(KERAS_MISSING)


@dataclass(frozen=True)
class StudentModel:
    """A builder's model, validated: its layers and (when compiled) its loss and optimizer."""

    call: str  # e.g. "`build_cnn()`", for messages
    spec: KerasModel
    compiled: KerasCompile | None
    compile_error: str
    raw: dict

    def training(self) -> KerasCompile:
        """The loss and optimizer, or a failure that says what ``compile`` needs."""
        if self.compiled is None:
            fail(f"{self.call}: {self.compile_error}")
        return self.compiled

    def summary(self, parameters: bool = True) -> str:
        return "\n".join(layer_lines(self.spec, parameters=parameters))


def probe_images(seed: int = 0) -> np.ndarray:
    """Images in [0, 1] like the notebook's scaled pixels (no real data needed)."""
    return np.random.default_rng(seed).random((PROBE_IMAGES, 28, 28), dtype=np.float32)


def student_model(student: Any, role: str, *args: Any, probe: np.ndarray | None = None
                  ) -> StudentModel:
    """Call the builder for ``role`` (``notebook``, ``weight_decay``, ``cnn``) with ``args``
    in the worker, and validate the model it returns."""
    require_keras()
    builder = SETTINGS["models"][role]
    call = f"`{builder}({', '.join(repr(a) for a in args)})`"
    model = getattr(student, builder)(*args)
    raw = described(student, "describe_keras", model, probe=probe, what=call,
                    doing=f"reading the model {call} returns")
    spec = validated(raw, check_keras_spec, what=call)
    if spec.output_shape != (10,):
        fail(f"{call}: the model's output has shape {spec.output_shape} per image; it must "
             "end with 10 outputs, one per class (`Dense(num_classes, ...)`).\n\n"
             + "\n".join(layer_lines(spec)))
    try:
        compiled, error = parse_compile(raw.get("compile")), ""
    except CompileError as exc:
        compiled, error = None, exc.message
    return StudentModel(call, spec, compiled, error, raw)


def check_fidelity(model: StudentModel) -> None:
    """The rebuild, given the student's own weights, computes the student's own outputs.

    Called on a model described with probe images: a description without the model's own
    outputs and weights cannot be tied to the student's model, so it earns nothing."""
    gap = fidelity_gap(model.spec, model.raw, probe_images())
    if gap is None:
        fail(f"{model.call}: the grader could not read your model's own outputs and weights on "
             "its probe images, so it cannot check that the model it rebuilds is yours. "
             "Build the model from standard Keras layers and return it from the function.")
    if gap:
        fail(f"{model.call}: the grader rebuilds your model from its Keras configuration, "
             "and that rebuild, given your model's own weights, does not compute your model's "
             f"outputs ({gap}). Something in the model is not what its layers' "
             "configurations say; build it from standard Keras layers only.\n\n"
             + model.summary())
