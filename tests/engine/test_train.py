"""Trusted-side training: settings validation, the training loop, and its CUDA-graph path.

Fast tests use synthetic, learnable 28x28 images (a class-dependent blob), not MNIST.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from torch import nn

from grader.train import (
    MnistTensors,
    SettingsError,
    TrainSettings,
    load_mnist_tensors,
    parse_settings,
    train_and_evaluate,
)

DEFAULTS = {"epochs": 10, "batch_size": 32}  # a handout's, as a pack states them


# --- data and models ------------------------------------------------------------------------
def synthetic(n_train: int = 512, n_test: int = 256, device: str = "cpu") -> MnistTensors:
    """Each class is a blurred blob at its own place (jittered, noisy): easy but not trivial."""
    g = torch.Generator().manual_seed(1234)
    n = n_train + n_test
    labels = torch.arange(n) % 10
    labels = labels[torch.randperm(n, generator=g)]
    centre_y = 5.0 + 9.0 * (labels // 4).float() + torch.randn(n, generator=g)
    centre_x = 4.0 + 6.5 * (labels % 4).float() + torch.randn(n, generator=g)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    dist2 = (yy - centre_y[:, None, None]) ** 2 + (xx - centre_x[:, None, None]) ** 2
    images = torch.exp(-dist2 / (2 * 2.5**2)) + 0.3 * torch.randn(n, 28, 28, generator=g)
    images = ((images - images.mean()) / images.std()).unsqueeze(1).float()
    return MnistTensors(x_train=images[:n_train].to(device), y_train=labels[:n_train].to(device),
                        x_test=images[n_train:].to(device), y_test=labels[n_train:].to(device),
                        device=device)


@pytest.fixture(scope="module")
def data() -> MnistTensors:
    return synthetic()


def mlp(seed: int = 0, *, end: nn.Module | None = None, dropout: float = 0.0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 10)]
    return nn.Sequential(*layers, *([end] if end is not None else []))


def tiny_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(8 * 14 * 14, 10), nn.Softmax(dim=1),
    )


def settings(**changes) -> TrainSettings:
    base = {"optimizer": "Adam", "lr": 1e-3, "epochs": 3, "batch_size": 32}
    return parse_settings({**base, **changes})


# --- settings -------------------------------------------------------------------------------
def test_good_settings_are_canonicalised():
    s = parse_settings({"optimizer": "adam", "lr": 0.002, "epochs": 10, "batch_size": 32,
                        "optimizer_kwargs": {"betas": [0.9, 0.99], "amsgrad": True},
                        "step_size": 5, "gamma": 0.1})
    assert s == TrainSettings(optimizer="Adam", lr=0.002,
                              optimizer_kwargs={"betas": (0.9, 0.99), "amsgrad": True},
                              epochs=10, batch_size=32, step_size=5, gamma=0.1, seed=0)
    assert parse_settings({"optimizer": "RMSPROP"}, defaults=DEFAULTS).lr == 1e-2


def test_unknown_optimizer_names_the_allowed_ones():
    with pytest.raises(SettingsError) as err:
        parse_settings({"optimizer": "Adadelta"}, defaults=DEFAULTS)
    assert err.value.key == "optimizer"
    for name in ("`SGD`", "`Adam`", "`AdamW`", "`RMSprop`", "Adadelta"):
        assert name in str(err.value)


@pytest.mark.parametrize("lr", [0, -0.1, 10.5, math.nan, math.inf, "0.1", True, None, 10**400])
def test_bad_learning_rate(lr):
    with pytest.raises(SettingsError, match=r"`lr`.*\(0, 10\]") as err:
        parse_settings({"optimizer": "SGD", "lr": lr}, defaults=DEFAULTS)
    assert err.value.key == "lr"


def test_unknown_optimizer_kwarg_names_the_allowed_ones():
    with pytest.raises(SettingsError) as err:
        parse_settings({"optimizer": "Adam", "optimizer_kwargs": {"momentum": 0.9}},
                       defaults=DEFAULTS)
    message = str(err.value)
    assert "`momentum`" in message and "`Adam`" in message
    assert all(k in message for k in ("`betas`", "`eps`", "`weight_decay`", "`amsgrad`"))


@pytest.mark.parametrize("kwargs", [
    {"momentum": 1.0}, {"nesterov": 1}, {"nesterov": True}, {"weight_decay": 2},
])
def test_bad_sgd_kwargs(kwargs):
    with pytest.raises(SettingsError):
        parse_settings({"optimizer": "SGD", "optimizer_kwargs": kwargs},
                       defaults=DEFAULTS)


@pytest.mark.parametrize("kwargs", [{"betas": [0.9]}, {"betas": [0.9, 1.0]}, {"eps": 0.1}])
def test_bad_adam_kwargs(kwargs):
    with pytest.raises(SettingsError):
        parse_settings({"optimizer": "AdamW", "optimizer_kwargs": kwargs},
                       defaults=DEFAULTS)


def test_fixed_epochs_mismatch_says_the_handout_fixes_it():
    with pytest.raises(SettingsError) as err:
        parse_settings({"optimizer": "Adam", "epochs": 5}, fixed={"epochs": 10, "batch_size": 32})
    assert err.value.key == "epochs"
    assert "handout fixes it to `10`" in str(err.value) and "`5`" in str(err.value)


def test_fixed_and_defaults_fill_missing_keys():
    s = parse_settings({"optimizer": "SGD", "batch_size": 32},
                       fixed={"epochs": 10, "batch_size": 32, "seed": 7},
                       defaults={"lr": 0.05, "batch_size": 64})
    assert (s.epochs, s.batch_size, s.lr, s.seed, s.optimizer_kwargs) == (10, 32, 0.05, 7, {})
    assert parse_settings({"optimizer": "adam"}, fixed={"optimizer": "Adam"},
                          defaults=DEFAULTS).optimizer == "Adam"


@pytest.mark.parametrize("raw, key", [
    ({"optimizer": "Adam", "loss": "mse"}, "loss"),
    ({"optimizer": "Adam", "seed": 3}, "seed"),
    ({"optimizer": "Adam", "gamma": 0.5}, "step_size"),
    ({"optimizer": "Adam", "step_size": 0, "gamma": 0.5}, "step_size"),
    ({"optimizer": "Adam", "epochs": 51}, "epochs"),
    ({"optimizer": "Adam", "batch_size": 32.0}, "batch_size"),
    ({"lr": 0.1}, "optimizer"),
    (["Adam"], "settings"),
])
def test_rejected_settings(raw, key):
    with pytest.raises(SettingsError) as err:
        parse_settings(raw, defaults=DEFAULTS)
    assert err.value.key == key


# --- data -----------------------------------------------------------------------------------
def test_mnist_tensors_refuse_wrong_shapes():
    with pytest.raises(ValueError, match="x_train"):
        MnistTensors(torch.zeros(4, 784), torch.zeros(4, dtype=torch.long),
                     torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), "cpu")


# --- training -------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [mlp, tiny_cnn], ids=["mlp", "cnn-bn-dropout-softmax"])
def test_training_learns(data, build):
    result = train_and_evaluate(build(), data, settings())
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]
    assert result.final_accuracy >= 0.9, result


def test_softmax_and_logsoftmax_ends_train_like_logits(data):
    """A final (Log)Softmax is trained as cross-entropy of the logits before it."""
    base = mlp()
    runs = [train_and_evaluate(model, data, settings(epochs=2)) for model in (
        copy.deepcopy(base),
        nn.Sequential(*copy.deepcopy(base), nn.Softmax(dim=1)),
        nn.Sequential(*copy.deepcopy(base), nn.LogSoftmax(dim=-1)),
    )]
    for run in runs[1:]:
        assert run.train_loss == pytest.approx(runs[0].train_loss, rel=1e-5)
        assert run.test_accuracy == runs[0].test_accuracy
    assert runs[0].final_accuracy >= 0.9


def test_same_seed_same_curves_other_seed_differs(data):
    chosen = settings(epochs=2)
    first, again = (train_and_evaluate(mlp(dropout=0.2), data, chosen) for _ in range(2))
    assert (first.train_loss, first.test_accuracy) == (again.train_loss, again.test_accuracy)
    other = train_and_evaluate(mlp(dropout=0.2), data, dataclasses.replace(chosen, seed=1))
    assert other.determinism["seed"] == 1
    assert other.train_loss != first.train_loss


def test_result_fields_are_filled(data):
    flags = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    result = train_and_evaluate(mlp(), data, settings(epochs=2))
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == flags
    assert len(result.test_accuracy) == len(result.train_loss) == 2
    assert result.best_accuracy == max(result.test_accuracy)
    assert result.final_accuracy == result.test_accuracy[-1]
    assert result.seconds > 0 and result.device == "cpu"
    assert (result.mode, result.note) == ("eager", "")
    assert result.determinism["seed"] == 0
    assert result.determinism["torch"] == torch.__version__
    for key in ("cudnn_deterministic", "cudnn_benchmark", "deterministic_algorithms",
                "device_name"):
        assert key in result.determinism
    assert result.determinism["cudnn_deterministic"] is True
    assert result.determinism["cudnn_benchmark"] is False


def test_an_optimizer_factory_replaces_the_named_optimizer(data):
    """A factory (JAX's update rules use one) trains exactly like the optimizer it builds."""
    chosen = settings(optimizer="SGD", lr=0.05, epochs=2)
    named = train_and_evaluate(mlp(), data, chosen)
    built = train_and_evaluate(mlp(), data, dataclasses.replace(chosen, lr=123.0),
                               optimizer_factory=lambda p: torch.optim.SGD(p, lr=0.05))
    assert built.train_loss == named.train_loss and built.test_accuracy == named.test_accuracy
    assert named.train_accuracy == [] and not named.nonfinite_loss


def test_training_accuracy_and_divergence_are_recorded(data):
    result = train_and_evaluate(mlp(), data, settings(epochs=2), track_train_accuracy=True)
    assert len(result.train_accuracy) == 2 and result.train_accuracy[-1] > 0.5
    wild = train_and_evaluate(mlp(), data, settings(optimizer="SGD", lr=10.0, epochs=2))
    assert wild.nonfinite_loss or wild.final_accuracy < 0.5


def test_use_graph_on_cpu_falls_back_to_eager_with_a_note(data):
    result = train_and_evaluate(mlp(), data, settings(epochs=1), use_graph=True)
    assert result.mode == "eager"
    assert "CUDA" in result.note and "eager" in result.note


def test_step_schedule_changes_the_learning_rate(data):
    plain = train_and_evaluate(mlp(), data, settings(epochs=3, lr=0.01))
    stepped = train_and_evaluate(mlp(), data, settings(epochs=3, lr=0.01, step_size=1,
                                                       gamma=0.1))
    assert stepped.lr_per_epoch == pytest.approx([0.01, 0.001, 0.0001])
    assert plain.lr_per_epoch == [0.01] * 3
    assert stepped.train_loss[0] == plain.train_loss[0]
    assert stepped.train_loss[1:] != plain.train_loss[1:]


def test_last_partial_batch_is_dropped(data):
    """500 images, batch 64: 7 steps per epoch, in both modes; training still works."""
    small = MnistTensors(data.x_train[:500], data.y_train[:500], data.x_test, data.y_test, "cpu")
    result = train_and_evaluate(mlp(), small, settings(epochs=2, batch_size=64))
    assert len(result.train_loss) == 2 and all(math.isfinite(v) for v in result.train_loss)


def test_training_needs_one_full_batch(data):
    small = MnistTensors(data.x_train[:16], data.y_train[:16], data.x_test, data.y_test, "cpu")
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_and_evaluate(mlp(), small, settings())


# --- CUDA graph -----------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("optimizer, kwargs", [
    ("Adam", {}), ("AdamW", {"amsgrad": True}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
])
def test_cuda_graph_matches_eager(optimizer, kwargs):
    gpu = synthetic(device="cuda")
    schedule = {} if optimizer == "SGD" else {"step_size": 2, "gamma": 0.5}
    chosen = settings(optimizer=optimizer, lr=0.01 if optimizer == "SGD" else 1e-3,
                      optimizer_kwargs=kwargs, **schedule)

    def model() -> nn.Sequential:
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(),
                             nn.Linear(64, 10), nn.Softmax(dim=1))

    graph = train_and_evaluate(model(), gpu, chosen, use_graph=True)
    eager = train_and_evaluate(model(), gpu, chosen, use_graph=False)
    assert (graph.mode, graph.note) == ("cuda-graph", ""), graph.note
    assert eager.mode == "eager"
    assert graph.train_loss == pytest.approx(eager.train_loss, rel=1e-3, abs=1e-4)
    assert graph.test_accuracy == pytest.approx(eager.test_accuracy, abs=0.02)
    assert graph.final_accuracy >= 0.9
    if optimizer == "SGD":
        stepped = train_and_evaluate(model(), gpu, settings(optimizer="SGD", lr=0.01,
                                                            step_size=1, gamma=0.5))
        assert stepped.mode == "eager" and "schedule" in stepped.note


# --- real MNIST, CPU smoke path -------------------------------------------------------------
@pytest.mark.slow
def test_real_mnist_subset_trains_one_epoch_on_cpu(mnist_dir):
    mnist = load_mnist_tensors("cpu", subset=500, directory=mnist_dir)
    assert mnist.x_train.shape == (500, 1, 28, 28) and mnist.x_test.shape == (500, 1, 28, 28)
    assert abs(mnist.x_train.mean().item()) < 0.2 and 0.8 < mnist.x_train.std().item() < 1.2
    result = train_and_evaluate(mlp(end=nn.Softmax(dim=1)), mnist,
                                parse_settings({"optimizer": "Adam", "lr": 3e-3, "epochs": 1},
                                               fixed={"batch_size": 32}))
    assert result.final_accuracy > 0.4, result  # 0.61 measured; chance is 0.1


@pytest.mark.parametrize("optimizer, kwargs", [
    ("Adam", {"amsgrad": True}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
])
def test_graph_runner_bookkeeping_matches_eager_on_cpu(data, monkeypatch, optimizer, kwargs):
    """The graph runner with capture replaced by plain calls trains exactly like eager.

    Checks, without a GPU, what the CUDA path relies on: warm-up steps undone (weights,
    batch-norm buffers, zeroed optimizer state equal to a fresh one, dropout RNG) and the
    batch gathered inside the step from the device-side permutation and counter.
    """
    from grader.train import loop

    class Replayed:
        def __init__(self, runner, step):
            self.runner, self.step = runner, step

        def replay(self):  # a captured backward writes fresh grads rather than adding
            self.runner.optimizer.zero_grad(set_to_none=True)
            self.step()

    def capture(self, step):
        self.model.train()
        for _ in range(3):
            self.optimizer.zero_grad(set_to_none=True)
            step()
        return Replayed(self, step)

    make_optimizer = loop._make_optimizer
    monkeypatch.setattr(loop, "_graph_blocker", lambda *args, **kwargs: None)
    monkeypatch.setattr(loop._GraphRunner, "_capture", capture)
    monkeypatch.setattr(loop, "_make_optimizer",  # capturable=True needs CUDA
                        lambda *a, graph, **k: make_optimizer(*a, graph=False, **k))
    chosen = settings(optimizer=optimizer, lr=0.01, optimizer_kwargs=kwargs, epochs=2)
    faked = train_and_evaluate(tiny_cnn(), data, chosen)
    monkeypatch.undo()
    eager = train_and_evaluate(tiny_cnn(), data, chosen)
    assert faked.mode == "cuda-graph" and eager.mode == "eager"
    assert (faked.train_loss, faked.test_accuracy) == (eager.train_loss, eager.test_accuracy)


def test_a_run_stops_at_the_first_epoch_that_passes(data):
    """Where the pass rule is "the best epoch reaches the threshold", the first epoch that
    reaches it decides: the run stops there, with the same curve up to it, and says so."""
    full = train_and_evaluate(mlp(), data, settings(epochs=4))
    threshold = full.test_accuracy[1] - 1e-9  # reached at the second epoch
    stopped = train_and_evaluate(mlp(), data, settings(epochs=4), stop_at=threshold)
    assert stopped.stopped_early and stopped.epochs_planned == 4
    assert stopped.test_accuracy == full.test_accuracy[:2]
    assert stopped.stop_note() == (f"reached {full.test_accuracy[1]:.2%} test accuracy at "
                                   "epoch 2 of 4; training stopped there")
    never = train_and_evaluate(mlp(), data, settings(epochs=2), stop_at=1.01)
    assert not never.stopped_early and len(never.test_accuracy) == 2 and not never.stop_note()
