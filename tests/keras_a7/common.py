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
import torch

from grader.feedback import fail
from grader.models.keras_rebuild import (
    KerasModel,
    KerasSpecError,
    check_keras_spec,
    layer_lines,
    load_keras_weights,
    rebuild_keras,
)
from grader.packs import load_pack
from grader.train.keras_compile import CompileError, KerasCompile, parse_compile
from grader.worker.client import SubmissionError

PACK = load_pack("keras_a7")
SETTINGS = PACK.settings
KERAS_MISSING = ("not run: Keras is not installed where grading runs (install the grader "
                 "with its `keras` extra: `pip install 'trustgrade[keras]'`)")
PROBE_IMAGES = 16
# The rebuild must compute the student's outputs from the student's weights this closely.
FIDELITY_ATOL, FIDELITY_RTOL = 1e-4, 1e-3


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
    try:
        raw = student.engine("describe_keras", model, probe=probe,
                             doing=f"reading the model {call} returns")
    except SubmissionError as exc:
        if exc.kind == "refused":
            fail(f"{call}: {exc.message}")
        raise
    try:
        spec = check_keras_spec(raw)
    except KerasSpecError as exc:
        fail(f"{call}: {exc.message}")
    if spec.output_shape != (10,):
        fail(f"{call}: the model's output has shape {spec.output_shape} per image; it must "
             "end with 10 outputs, one per class (`Dense(num_classes, ...)`).\n\n"
             + "\n".join(layer_lines(spec)))
    try:
        compiled, error = parse_compile(raw.get("compile")), ""
    except CompileError as exc:
        compiled, error = None, exc.message
    return StudentModel(call, spec, compiled, error, raw)


def _pads_unlike_tensorflow(spec: KerasModel) -> bool:
    """Keras 3 on PyTorch counts an odd extra pad in ``AveragePooling2D(padding='same')``
    averages, TensorFlow (where the student trained) does not; the rebuild follows
    TensorFlow, so its outputs differ there by design."""
    return any(layer.kind == "AveragePooling2D" and any(lo != hi for lo, hi in layer.args["pads"])
               for layer in spec.layers)


def check_fidelity(model: StudentModel) -> None:
    """The rebuild, given the student's own weights, computes the student's own outputs.

    Called on a model described with probe images: a description without the model's own
    outputs and weights cannot be tied to the student's model, so it earns nothing."""
    if _pads_unlike_tensorflow(model.spec):
        return
    if not isinstance(model.raw.get("outputs"), list | tuple | np.ndarray) \
            or "weights" not in model.raw:
        fail(f"{model.call}: the grader could not read your model's own outputs and weights on "
             "its probe images, so it cannot check that the model it rebuilds is yours. "
             "Build the model from standard Keras layers and return it from the function.")
    rebuilt = rebuild_keras(model.spec)
    try:
        load_keras_weights(rebuilt, model.raw["weights"])
    except KerasSpecError as exc:
        fail(f"{model.call}: {exc.message}")
    rebuilt.model.eval()
    images = torch.from_numpy(probe_images()).unsqueeze(1)
    with torch.no_grad():
        ours = rebuilt.model(images).numpy()
    theirs = np.asarray(model.raw["outputs"], dtype=np.float32)
    if theirs.shape != ours.shape or not np.all(np.isfinite(theirs)):
        fail(f"{model.call}: the model's own outputs have shape {theirs.shape} (or are not "
             f"finite); the rebuilt model gives {ours.shape}.")
    gap = np.abs(ours - theirs)
    bad = gap > FIDELITY_ATOL + FIDELITY_RTOL * np.abs(theirs)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        fail(f"{model.call}: the grader rebuilds your model from its Keras configuration, "
             "and that rebuild, given your model's own weights, does not compute your model's "
             f"outputs (image {i}, output {j}: yours {theirs[i, j]:.6g}, rebuilt "
             f"{ours[i, j]:.6g}). Something in the model is not what its layers' "
             "configurations say; build it from standard Keras layers only.\n\n"
             + model.summary())
