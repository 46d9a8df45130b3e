"""The CS155 threshold path on the CPU (CI has no GPU): the reference's models are built and
described in a worker, rebuilt here, and trained one epoch on a small real-MNIST subset by
the same code the GPU tests use. It checks the plumbing, not the thresholds."""

from __future__ import annotations

import pytest

from grader.packs import load_pack
from grader.worker.client import Worker
from grader.worker.proxy import Student

pytestmark = pytest.mark.slow
PACK = load_pack("cs155_set4")


@pytest.fixture(scope="module")
def reference():
    worker = Worker(PACK.reference_dir / "solution.py", PACK.reference_dir, limits=PACK.limits)
    worker.start()
    yield Student(worker)
    worker.stop()


@pytest.mark.parametrize("problem", ["2C", "2D", "2E", "3G"])
def test_threshold_path_runs_on_cpu(reference, small_mnist, problem):
    from tests.cs155_set4.common import describe_runs, train_problem

    passed, results = train_problem(reference, problem, small_mnist, epochs=1, seeds=[0])
    (result,) = results
    assert len(result.test_accuracy) == 1 and result.mode == "eager"
    assert result.best_accuracy > 0.3  # one epoch on 600 images: far above chance (0.1)
    assert result.determinism["seed"] == 0
    text = describe_runs(problem, results)
    assert "run 1 (seed 0)" in text and "per epoch" in text


def test_a_run_that_reaches_the_threshold_stops_and_says_so(reference, small_mnist,
                                                             monkeypatch):
    """The pass rule is "the best epoch reaches the threshold": the first epoch that does
    decides, so training stops there, no further seed runs, and the feedback says so."""
    from tests.cs155_set4 import common

    monkeypatch.setitem(common.PROBLEMS["2C"], "threshold", 0.3)  # one epoch reaches it
    passed, results = common.train_problem(reference, "2C", small_mnist, epochs=3,
                                           seeds=[0, 1])
    assert passed and len(results) == 1
    (result,) = results
    assert result.stopped_early and len(result.test_accuracy) == 1
    text = common.describe_runs("2C", results)
    assert f"reached {result.best_accuracy:.2%} test accuracy at epoch 1 of 3; training " \
           "stopped there" in text
