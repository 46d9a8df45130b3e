"""The accuracy thresholds, on a CUDA GPU: 97.5 % (2C), 98 % (2D), 98.3 % (2E, extra credit)
and 98.5 % (3G), on the 10,000 MNIST test images.

The model is rebuilt here from its layer list and trained by the grader's own loop with the
student's validated settings; no student code runs during training or evaluation, and the
test labels never reach the worker. Without a GPU these tests are skipped with that reason
(and score 0: they are never counted as passed); CI runs the same path on the CPU on a small
subset (tests/engine/test_cs155_smoke.py).
"""

from __future__ import annotations

import pytest

from grader.testing import DatasetError, fail, load_mnist_tensors

from .common import PROBLEMS, describe_runs, run_curves, train_problem

THRESHOLD_CASES = [
    pytest.param(name, marks=(pytest.mark.gpu, pytest.mark.graded(
        points=p["points"], function=p["builder"], uses=[p["training"]],
        name=f"{name}: best test accuracy reaches {p['threshold']:.1%}"
             + (" (extra credit)" if p.get("extra_credit") else ""))), id=name)
    for name, p in PROBLEMS.items()
]


@pytest.fixture(scope="module")
def mnist_on_gpu(training_device):
    try:
        return load_mnist_tensors(training_device)
    except DatasetError as exc:
        pytest.skip(f"not run: MNIST is not available where grading runs ({exc})")


@pytest.mark.parametrize("problem", THRESHOLD_CASES)
def test_accuracy_threshold(student, problem, mnist_on_gpu, feedback, curves):
    passed, results = train_problem(student, problem, mnist_on_gpu)
    feedback.append(describe_runs(problem, results))
    curves.extend(run_curves(problem, results))
    if not passed:
        fail(f"Best test accuracy {max(r.best_accuracy for r in results):.2%} is below "
             f"{PROBLEMS[problem]['threshold']:.1%}.")


