"""The ECE1513 training paths on the CPU (CI has no GPU): the reference is loaded in a worker,
its claims and convnet are read as data, and each claim and the 5-run convnet rule train on
a small real-MNIST subset for one epoch through the code the GPU tests use. This checks the
plumbing (and that every verdict comes with its numbers), not the thresholds."""

from __future__ import annotations

import pytest

from grader.packs import load_pack
from grader.worker.client import Worker
from grader.worker.proxy import Student

from .known import SUBMISSIONS

pytest.importorskip("jax")
pytestmark = pytest.mark.slow
PACK = load_pack("ece1513_a4")


@pytest.fixture(scope="module")
def reference():
    worker = Worker(PACK.reference_dir / "solution.py", PACK.reference_dir, limits=PACK.limits,
                    load=PACK.load_options)
    worker.start()
    yield Student(worker)
    worker.stop()


@pytest.fixture(scope="module")
def small_mnist(mnist_dir):
    from grader.train import load_mnist_tensors

    return load_mnist_tensors("cpu", subset=600, normalize=False, directory=mnist_dir)


@pytest.mark.parametrize("claim", ["BASELINE", "SLOW_LEARNING_RATE",
                                   "OSCILLATING_LEARNING_RATE", "DIVERGING_LEARNING_RATE",
                                   "UNDERFITTING_LAYER_SIZES", "OVERFITTING"])
def test_claim_path_runs_on_cpu(reference, small_mnist, claim):
    from tests.ece1513_a4.claims import CLAIMS, Trainer

    trainer = Trainer(small_mnist, epochs=1, seeds=[0])
    result = CLAIMS[claim](reference, trainer)
    (run,) = result.runs
    assert len(run.train_accuracy) == len(run.test_accuracy) == 1
    assert run.mode == "eager" and run.determinism["seed"] == 0
    text = result.feedback()
    assert "run 1 (seed 0)" in text and ("It holds" in text or "It does not hold" in text)
    assert result.verdict.why and any(ch.isdigit() for ch in result.verdict.why)
    (plot,) = result.curves()
    assert set(plot["series"]) == {"train accuracy", "test accuracy"}


def test_claims_use_the_declared_settings(reference, small_mnist):
    from tests.ece1513_a4.claims import CLAIMS, Trainer

    trainer = Trainer(small_mnist, epochs=1, seeds=[0])
    assert CLAIMS["SLOW_LEARNING_RATE"](reference, trainer).settings.learning_rate == 0.01
    overfit = CLAIMS["OVERFITTING"](reference, trainer).settings
    assert overfit.create_outliers and overfit.num_epochs == 50 and overfit.batch_size == 32
    underfit = CLAIMS["UNDERFITTING_LAYER_SIZES"](reference, trainer).settings
    assert underfit.layer_sizes == (784, 1, 1, 10) and underfit.learning_rate == 0.1


def test_convnet_path_runs_on_cpu(reference, small_mnist):
    from tests.ece1513_a4.convnet import convnet
    from tests.ece1513_a4.thresholds import describe_convnet_runs, train_convnet_runs

    net = convnet(reference)
    assert [layer["type"] for layer in net.spec][:3] == ["Conv", "Relu", "MaxPool"]
    assert net.optimizer["name"] == "momentum" and net.batch_size == 64
    assert net.num_epochs == 12 and net.create_outliers is False
    summary = train_convnet_runs(net, small_mnist, runs=2, epochs=1)
    assert len(summary.runs) == 2 and 0.1 < summary.mean <= 1
    assert summary.runs[0].determinism["seed"] == 0 and summary.runs[1].determinism["seed"] == 1
    assert summary.runs[0].mode == "replicates (2 at once)"  # the runs train together
    text = describe_convnet_runs(reference, net, summary)
    assert "± " in text and "mean ± std over 2 runs" in text and "Your report: 99.20 %" in text


def test_the_convnet_runs_trained_together_are_the_runs_one_by_one(reference, small_mnist):
    """Every run is kept (the pass rule is their mean): trained as one batched model, each
    is the run the loop makes alone with its seed (JAX's momentum rule, stacked)."""
    from tests.ece1513_a4.convnet import convnet
    from tests.ece1513_a4.training import train_convnet, train_convnets

    net = convnet(reference)
    common = dict(batch_size=net.batch_size, epochs=1)
    together = train_convnets(net.spec, net.optimizer, small_mnist, seeds=[0, 1], **common)
    for seed, batched in zip([0, 1], together, strict=True):
        alone = train_convnet(net.spec, net.optimizer, small_mnist, seed=seed, **common)
        assert alone.mode != batched.mode
        assert batched.train_loss == pytest.approx(alone.train_loss, rel=1e-4)
        assert batched.test_accuracy == pytest.approx(alone.test_accuracy, abs=2e-3)


def test_a_batchnorm_convnet_trains_on_cpu(small_mnist):
    """A real hand-in's convnet with `stax.BatchNorm` after each convolution is rebuilt and
    trained by the same path (batch statistics: the rebuilt layer has no running state)."""
    from grader.models.stax import StaxBatchNorm, rebuild_stax
    from tests.ece1513_a4.convnet import convnet
    from tests.ece1513_a4.thresholds import train_convnet_runs

    path = SUBMISSIONS / "ece1513_a4" / "correct" / "convnet_batchnorm.py"
    worker = Worker(path, path.parent, limits=PACK.limits, load=PACK.load_options)
    worker.start()
    try:
        net = convnet(Student(worker))
    finally:
        worker.stop()
    assert [layer["type"] for layer in net.spec][:3] == ["Conv", "BatchNorm", "Relu"]
    norms = [m for m in rebuild_stax(net.spec).modules() if isinstance(m, StaxBatchNorm)]
    assert len(norms) == 2 and all(m.weight.shape == (1, m.weight.shape[1], 1, 1) for m in norms)
    summary = train_convnet_runs(net, small_mnist, runs=2, epochs=1)
    assert 0.1 < summary.mean <= 1 and summary.runs[0].mode == "replicates (2 at once)"
