"""Probes for `grader audit`: each problem's functions on fixed small inputs, and the report's
declared constants, compared between the reference and each surviving mutant."""

from __future__ import annotations

import numpy as np

SIZES = [(12, 7), (7, 5), (5, 10)]


def _mlp_inputs(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    params = [(rng.normal(0, 0.3, (m, n)).astype(np.float32),
               rng.normal(0, 0.1, n).astype(np.float32)) for m, n in SIZES]
    x = rng.random((9, 12)).astype(np.float32)
    return params, x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, 9)]


def probe_mlp_predict_and_loss(student):
    p1 = student.section("problem1")
    params, x, y = _mlp_inputs()
    return [p1.predict(params, x), p1.loss(params, (x, y))]


def probe_mlp_accuracy(student):
    params, x, y = _mlp_inputs(1)
    return student.section("problem1").accuracy(params, (x, y))


def probe_mlp_update(student):
    params, x, y = _mlp_inputs(2)
    return student.section("problem1").update(params, (x, y))


def probe_mlp_init(student):
    return student.section("problem1").init_random_params([6, 4, 3])


def probe_convnet(student):
    p2 = student.section("problem2")
    _, params = p2.init_random_params(np.array([0, 3], dtype=np.uint32), (-1, 28, 28, 1))
    rng = np.random.default_rng(3)
    x = rng.random((4, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 4)]
    return [p2.predict(params, x), p2.loss(params, (x, y))]


def probe_declared_constants(student):
    """BASELINE, the learning rates and layer sizes of the claims, CONVNET_ACCURACY..."""
    names = (student.worker.load_report or {}).get("names", [])
    return {name: getattr(student, name) for name in names if name.isupper()}
