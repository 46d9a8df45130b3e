"""Probes for `grader audit`: each builder's model as the worker describes it (layers, their
configurations, what `compile` was given, its outputs on fixed images) and the answers and
training dicts, compared between the reference and each surviving mutant."""

from __future__ import annotations

import numpy as np

from grader.testing import pack_of

SETTINGS = pack_of(__file__).settings
IMAGES = np.random.default_rng(7).random((8, 28, 28), dtype=np.float32)


def _model(student, role: str, *args) -> dict:
    model = getattr(student, SETTINGS["models"][role])(*args)
    return student.engine("describe_keras", model, probe=IMAGES)


def probe_notebook_model(student):
    """2.1 asks about the notebook network's layers, neurons and parameters only (its
    activations are the handout's, graded nowhere): that structure is what is compared."""
    return [(layer["class"], layer["config"].get("units"), layer["config"].get("use_bias"))
            for layer in _model(student, "notebook")["layers"]]


def probe_weight_decay_model(student):
    return [_model(student, "weight_decay", factor) for factor in (2.5e-5, 3e-4)]


def probe_cnn(student):
    return _model(student, "cnn")


def probe_answers(student):
    names = [*SETTINGS["answers"].values(), SETTINGS["weight_decay"]["training"],
             SETTINGS["weight_decay"]["results"], SETTINGS["cnn"]["training"]]
    return {name: getattr(student, name) for name in names}
