"""Probes for `grader audit`: each problem's model as the worker describes it (layers and
their settings), its weights and eval-mode outputs on fixed images, and its TRAINING dict,
compared between the reference and each surviving mutant."""

from __future__ import annotations

import numpy as np

from grader.testing import pack_of

PROBLEMS = pack_of(__file__).settings["problems"]
IMAGES = np.random.default_rng(155).random((8, 1, 28, 28), dtype=np.float32)


def _problem(student, name: str) -> dict:
    settings = PROBLEMS[name]
    model = getattr(student, settings["builder"])()
    return {"layers": student.engine("describe_model", model),
            "run": student.engine("probe_model", model, IMAGES),
            "training": getattr(student, settings["training"])}


def probe_2c(student):
    return _problem(student, "2C")


def probe_2d(student):
    return _problem(student, "2D")


def probe_2e(student):
    return _problem(student, "2E")


def probe_3g(student):
    return _problem(student, "3G")
