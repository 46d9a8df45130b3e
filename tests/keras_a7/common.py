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


WEIGHTED = ("Dense", "Conv2D")
# Layers that keep a linear map linear: two weighted layers with only these between collapse.
AFFINE = ("Flatten", "Reshape", "Dropout", "BatchNormalization", "InputLayer")


def _final_activation(model: StudentModel) -> str:
    last = model.spec.layers[-1]
    if last.kind == "Activation":
        return str(last.args.get("activation"))
    if last.kind in ("ReLU", "LeakyReLU"):
        return last.kind.lower()
    return str(last.args.get("activation", "linear"))


def check_nonlinear(model: StudentModel) -> None:
    """A weighted layer without an activation that feeds another weighted layer adds nothing
    (the two compose into one linear map), and categorical cross-entropy on probabilities
    needs a softmax output (on logits, none)."""
    layers = model.spec.layers
    for i, layer in enumerate(layers[:-1]):
        if layer.kind not in WEIGHTED or layer.args.get("activation") != "linear":
            continue
        following = next((f for f in layers[i + 1:] if f.kind not in AFFINE), None)
        if following is not None and following.kind in WEIGHTED:
            fail(f"{model.call}: layer {i + 1}, `{layer.describe()}`, has no activation and "
                 f"feeds `{following.describe()}`: without a nonlinearity between them the "
                 "two compose into a single linear map. Give it an activation "
                 "(`activation='relu'`).\n\n" + model.summary())
    compiled = model.compiled
    if compiled is None or compiled.loss != "categorical_crossentropy":
        return
    final = _final_activation(model)
    if not compiled.from_logits and final != "softmax":
        fail(f"{model.call} is compiled with categorical cross-entropy on probabilities, but "
             f"its output layer's activation is `{final}`: each image's 10 outputs must be "
             "probabilities that sum to 1. End with `activation='softmax'` (or compile with "
             "`from_logits=True` and no activation).\n\n" + model.summary())
    if compiled.from_logits and final == "softmax":
        fail(f"{model.call} ends with a softmax but is compiled with `from_logits=True`: the "
             "loss would apply a second softmax. Drop one of the two.\n\n" + model.summary())
