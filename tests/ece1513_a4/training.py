"""Trusted-side training for ECE1513 A4: the notebook's MLP and the student's stax convnet.

No student code runs here. The MLP is the notebook's (tanh hidden layers, log-softmax output,
``init_random_params`` with scale 0.1 drawn from ``numpy.random.RandomState``, plain
mini-batch SGD on the mean cross-entropy); the function tests have already checked that the
student's ``predict``, ``loss`` and ``update`` compute exactly that. The convnet is rebuilt
from its stax layer list and trained with JAX's own update rule for the student's optimizer.

Both train through the engine's loop (``grader.train``), resident on the device and as a
CUDA graph on a GPU. Data as the notebook loads it: pixels scaled to [0, 1], no
standardization; ``create_outliers=True`` permutes the first 30,000 training images among
themselves (seed 0), so half the training labels are wrong, exactly as ``mnist()`` does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy
import torch
from torch import nn

from grader.testing import MnistTensors, TrainResult, TrainSettings, train_and_evaluate

NUM_OUTLIERS = 30_000
INIT_SCALE = 0.1  # the notebook's init_random_params


@dataclass(frozen=True)
class MlpSettings:
    """One training of Problem 1's network: what a claim states, completed by BASELINE."""

    layer_sizes: tuple[int, ...]
    learning_rate: float
    batch_size: int
    num_epochs: int
    create_outliers: bool = False

    def describe(self) -> str:
        text = (f"layer_sizes={list(self.layer_sizes)}, learning_rate={self.learning_rate:g}, "
                f"batch_size={self.batch_size}, num_epochs={self.num_epochs}")
        return text + (", create_outliers=True" if self.create_outliers else "")


def with_outliers(data: MnistTensors) -> MnistTensors:
    """The training set as ``mnist(create_outliers=True)`` makes it (the test set is clean).
    A smaller (smoke-test) set gets its first half permuted the same way."""
    count = min(NUM_OUTLIERS, len(data.x_train) // 2)
    perm = torch.from_numpy(numpy.random.RandomState(0).permutation(count))
    x = data.x_train.clone()
    x[:count] = x[:count][perm.to(x.device)]
    return dataclasses.replace(data, x_train=x)


def notebook_mlp(layer_sizes: tuple[int, ...], seed: int) -> nn.Sequential:
    """The notebook's MLP, initialized as its ``init_random_params(layer_sizes, rng)`` does
    with ``rng = numpy.random.RandomState(seed)``."""
    rng = numpy.random.RandomState(seed)
    layers: list[nn.Module] = []
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:], strict=True))
    for i, (m, n) in enumerate(pairs):
        linear = nn.Linear(m, n)
        w, b = INIT_SCALE * rng.randn(m, n), INIT_SCALE * rng.randn(n)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.astype(numpy.float32)))
            linear.bias.copy_(torch.from_numpy(b.astype(numpy.float32)))
        layers.append(linear)
        if i < len(pairs) - 1:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def train_mlp(settings: MlpSettings, data: MnistTensors, *, seed: int = 0,
              epochs: int | None = None, outliers: MnistTensors | None = None) -> TrainResult:
    """Train the notebook's MLP with ``settings``; train and test accuracy per epoch.

    ``outliers``: the relabelled training set, when the caller already made it.
    """
    train_data = data
    if settings.create_outliers:
        train_data = outliers if outliers is not None else with_outliers(data)
    model = notebook_mlp(settings.layer_sizes, seed)
    chosen = TrainSettings(optimizer="SGD", lr=settings.learning_rate, optimizer_kwargs={},
                           epochs=epochs or settings.num_epochs,
                           batch_size=settings.batch_size, seed=seed)
    return train_and_evaluate(model, train_data, chosen, track_train_accuracy=True)


def train_convnet(spec: list[dict], optimizer: dict, data: MnistTensors, *, batch_size: int,
                  epochs: int, seed: int) -> TrainResult:
    """Rebuild the student's stax model (validated spec) and train it with JAX's rule for
    their optimizer (validated description), one seeded run."""
    return train_convnets(spec, optimizer, data, batch_size=batch_size, epochs=epochs,
                          seeds=[seed])[0]


def train_convnets(spec: list[dict], optimizer: dict, data: MnistTensors, *, batch_size: int,
                   epochs: int, seeds: list[int]) -> list[TrainResult]:
    """One seeded run per seed, every run kept (the pass rule is their mean): trained
    together as one batched model where the model and rule allow it (JAX's rules update each
    weight on its own; a model with batch-norm buffers does not batch), else one by one."""
    from grader.testing import optimizer_factory, rebuild_stax, supports, train_replicas

    steps = (len(data.x_train) // batch_size) * epochs
    models = [rebuild_stax(spec, (28, 28, 1), seed=seed) for seed in seeds]
    factory = optimizer_factory(optimizer, steps)
    chosen = [TrainSettings(optimizer="SGD", lr=0.0, optimizer_kwargs={}, epochs=epochs,
                            batch_size=batch_size, seed=seed) for seed in seeds]
    if len(models) > 1 and not supports(models[0], str(optimizer.get("name"))):
        return train_replicas(models, data, chosen, optimizer_factory=factory)
    return [train_and_evaluate(m, data, s, optimizer_factory=factory)
            for m, s in zip(models, chosen, strict=True)]


def curve_dict(title: str, result: TrainResult, **extra: Any) -> dict:
    """A training curve for the batch feedback's plots."""
    series = {"test accuracy": list(result.test_accuracy)}
    if result.train_accuracy:
        series["train accuracy"] = list(result.train_accuracy)
    return {"title": title, "x_label": "epoch", "y_label": "accuracy", "series": series,
            "determinism": result.determinism, **extra}
