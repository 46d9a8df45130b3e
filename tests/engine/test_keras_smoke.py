"""CPU smoke of the Keras A7 training path (the GPU tests run the same code on CUDA): the
reference's models, described by Keras itself, rebuilt and trained by the grader's loop on a
small MNIST subset; the sweep's table, tolerance rule and plot; weight decay that acts."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from keras import layers as L  # noqa: E402
from keras import regularizers as R  # noqa: E402

from grader.models.keras_rebuild import check_keras_spec, rebuild_keras  # noqa: E402
from grader.sandboxed.models.keras_describe import describe_keras  # noqa: E402
from grader.train import TrainSettings, train_and_evaluate  # noqa: E402
from grader.train.keras_compile import parse_compile  # noqa: E402
from tests.keras_a7.common import StudentModel  # noqa: E402
from tests.keras_a7.training import (  # noqa: E402
    run_sweep,
    sweep_plot,
    sweep_table,
    train_cnn,
    train_keras,
)


def _student_model(model) -> StudentModel:
    raw = describe_keras(model)
    return StudentModel("`test()`", check_keras_spec(raw), parse_compile(raw["compile"]), "",
                        raw)


def weight_decay_model(factor: float) -> StudentModel:
    model = keras.Sequential([
        L.Flatten(), L.Dense(500, activation="relu", kernel_regularizer=R.l2(factor)),
        L.Dense(300, activation="relu", kernel_regularizer=R.l2(factor)),
        L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.1))
    return _student_model(model)


def test_cnn_trains_on_the_cpu(mnist_pixels_subset):
    model = keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
        L.Dropout(0.25), L.Flatten(), L.Dense(32, activation="relu"),
        L.Dense(10, activation="softmax")])
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.Adam(learning_rate=0.001))
    passed, results = train_cnn(_student_model(model), mnist_pixels_subset, epochs=2, batch_size=64,
                                seeds=[0])
    assert not passed and len(results) == 1  # 2,000 images cannot reach 99 %
    assert results[0].best_accuracy > 0.6, results[0].test_accuracy


def test_a_cnn_run_that_reaches_the_threshold_stops_and_says_so(mnist_pixels_subset,
                                                                 monkeypatch):
    """The CNN's first epoch that reaches the threshold decides: training stops there, the
    next seeds do not run, and the feedback says so."""
    from tests.keras_a7 import training

    monkeypatch.setitem(training.SETTINGS["cnn"], "threshold", 0.3)
    model = keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
        L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.001))
    student = _student_model(model)
    passed, results = train_cnn(student, mnist_pixels_subset, epochs=3, batch_size=64,
                                seeds=[0, 1])
    assert passed and len(results) == 1
    assert results[0].stopped_early and len(results[0].test_accuracy) == 1
    text = training.describe_cnn_runs(student, results, 3, 64)
    assert "at epoch 1 of 3; training stopped there" in text


def test_sweep_table_and_plot(mnist_pixels_subset):
    models = {f: weight_decay_model(f) for f in (1e-6, 1e-3)}
    sweep = run_sweep(models, mnist_pixels_subset, epochs=1, batch_size=128, replicates=2)
    assert [f.factor for f in sweep] == [1e-6, 1e-3] and all(len(f.runs) == 2 for f in sweep)
    assert sweep[0].runs[0].mode == "replicates (4 at once)"  # every factor's runs together
    one_by_one = run_sweep(models, mnist_pixels_subset, epochs=1, batch_size=128,
                           replicates=2, concurrent=False)
    for together, alone in zip(sweep, one_by_one, strict=True):
        for a, b in zip(together.runs, alone.runs, strict=True):
            assert a.train_loss == pytest.approx(b.train_loss, rel=1e-4)
    assert all(0.5 < f.mean <= 1 and f.std >= 0 for f in sweep)
    honest = {f.factor: (f.mean + 0.002, f.std) for f in sweep}
    _, failed = sweep_table(sweep, honest, tolerance=0.003)
    assert failed == []
    invented = {f.factor: (0.9847, 0.0) for f in sweep}
    table, failed = sweep_table(sweep, invented, tolerance=0.003)
    assert failed == [1e-6, 1e-3] and "**no**" in table and "Hinton" in table
    plot = sweep_plot(sweep)
    assert plot["x"] == [1e-6, 1e-3] and len(plot["errors"]["mean of replicates"]) == 2


def test_weight_decay_shrinks_the_weights(mnist_pixels_subset):
    """The regularizer's loss term acts: a large factor gives smaller hidden kernels."""
    norms = {}
    for factor in (1e-6, 1e-1):
        model = weight_decay_model(factor)
        rebuilt = rebuild_keras(model.spec, seed=0)
        settings = TrainSettings("SGD", 0.1, {}, epochs=1, batch_size=64, seed=0)
        compiled = model.training()
        train_and_evaluate(rebuilt.model, mnist_pixels_subset, settings,
                           optimizer_factory=compiled.optimizer_factory(),
                           loss_fn=compiled.loss_fn(rebuilt.model), penalty=rebuilt.penalty)
        norms[factor] = float(rebuilt.weighted[1].weight.detach().norm())
    assert norms[1e-1] < 0.7 * norms[1e-6], norms  # 31 steps of (1 - 2 * 0.1 * 0.1)


def test_same_seed_same_curve(mnist_pixels_subset):
    model = weight_decay_model(1e-4)
    a = train_keras(model, mnist_pixels_subset, epochs=1, batch_size=128, seed=3)
    b = train_keras(model, mnist_pixels_subset, epochs=1, batch_size=128, seed=3)
    assert a.test_accuracy == b.test_accuracy and a.train_loss == b.train_loss
    assert torch.get_num_threads() >= 1


@pytest.fixture(scope="module")
def reference_student():
    """The reference, loaded by a real worker as grading loads it."""
    from grader.packs import load_pack
    from grader.worker.client import Worker
    from grader.worker.proxy import Student

    pack = load_pack("keras_a7")
    path = pack.reference_dir / "solution.py"
    worker = Worker(path, path.parent, limits=pack.limits, load=pack.load_options)
    worker.start()
    yield Student(worker)
    worker.stop()


@pytest.mark.slow
def test_gpu_tests_run_end_to_end_on_a_tiny_cpu_subset(reference_student):
    """The GPU tests' own code on 256 CPU images (2 steps an epoch): the sweep's table and
    plot, the CNN's runs and curves, and failures that say why (nothing can reach the
    thresholds on so few images)."""
    from grader.feedback import GradingFailure
    from grader.train import load_mnist_tensors
    from tests.keras_a7 import test_thresholds as gpu

    try:
        tiny = load_mnist_tensors("cpu", subset=256, normalize=False)
    except Exception as exc:  # noqa: BLE001 - no MNIST here: nothing to smoke
        pytest.skip(f"MNIST not available: {exc}")
    feedback, curves = [], []
    with pytest.raises(GradingFailure, match="not reproduced for factor"):
        gpu.test_sweep_reproduces_report(reference_student, tiny, feedback, curves)
    assert "| factor |" in feedback[0] and "Hinton" in feedback[0] and "40 epochs" in feedback[0]
    assert curves[0]["x_scale"] == "log" and len(curves[0]["x"]) == 5
    feedback, curves = [], []
    with pytest.raises(GradingFailure, match="below 99%"):
        gpu.test_cnn_reaches_99_percent(reference_student, tiny, feedback, curves)
    assert "run 3 (seed 2)" in feedback[0] and len(curves) == 3
    assert all(len(c["series"]["validation accuracy"]) == 12 for c in curves)
