"""Replicates trained together (stacked weights, vmap) are the runs the loop would train one
by one with the same seeds: same initial weights, same epoch orders, same losses and curves."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from grader.train import TrainSettings, train_and_evaluate
from grader.train.replicas import supports, train_replicas


def _mlp(seed: int, softmax: bool = True) -> nn.Sequential:
    torch.manual_seed(100 + seed)
    layers = [nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)]
    return nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))


def _sgd(params):
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def _adam(params):
    return torch.optim.Adam(params, lr=1e-3)


@pytest.mark.parametrize("factory, l2", [(_sgd, 0.0), (_adam, 1e-3)])
def test_replicates_equal_separate_runs(mnist_pixels_subset, factory, l2):
    data = mnist_pixels_subset
    seeds = [0, 1, 2]
    settings = [TrainSettings("SGD", 0.1, {}, epochs=2, batch_size=100, seed=s) for s in seeds]
    separate, together = [], [_mlp(s) for s in seeds]
    for s, st in zip(seeds, settings, strict=True):
        model = _mlp(s)
        penalty = (lambda m=model: l2 * m[1].weight.square().sum()) if l2 else None
        separate.append((train_and_evaluate(model, data, st, optimizer_factory=factory,
                                            penalty=penalty), model))
    results = train_replicas(together, data, settings, optimizer_factory=factory,
                             penalty=[("1.weight", 0.0, l2)] if l2 else ())
    for (alone, model), batched, trained in zip(separate, results, together, strict=True):
        assert batched.test_accuracy == pytest.approx(alone.test_accuracy, abs=2e-3)
        assert batched.train_loss == pytest.approx(alone.train_loss, rel=1e-4)
        torch.testing.assert_close(trained[3].weight, model[3].weight, rtol=1e-4, atol=1e-5)
    assert results[0].mode == "replicates (3 at once)"


def test_custom_loss_and_logits(mnist_pixels_subset):
    data = mnist_pixels_subset
    """A loss on the full output (no softmax split) works batched too."""
    def loss(out, y):
        return nn.functional.cross_entropy(out, y) * 2
    models = [_mlp(s, softmax=False) for s in (0, 1)]
    copies = [copy.deepcopy(m) for m in models]
    settings = [TrainSettings("SGD", 0.1, {}, epochs=1, batch_size=128, seed=s) for s in (0, 1)]
    batched = train_replicas(models, data, settings, optimizer_factory=_sgd, loss_fn=loss)
    alone = [train_and_evaluate(m, data, st, optimizer_factory=_sgd, loss_fn=loss)
             for m, st in zip(copies, settings, strict=True)]
    for b, a in zip(batched, alone, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)


def test_what_cannot_be_batched_is_named():
    assert supports(_mlp(0), "SGD") == ""
    assert "buffers" in supports(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)), "SGD")
    assert "each weight" in supports(_mlp(0), "LBFGS")
    with pytest.raises(ValueError, match="share"):
        train_replicas([_mlp(0), _mlp(1)], None, [
            TrainSettings("SGD", 0.1, {}, epochs=1, batch_size=10, seed=0),
            TrainSettings("SGD", 0.1, {}, epochs=2, batch_size=10, seed=1)],
            optimizer_factory=_sgd)


def test_each_replicate_can_have_its_own_weight_decay(mnist_pixels_subset):
    """A sweep over weight-decay factors as one batched model: replicate i regularized with
    its own factor gives the run it would alone (Keras A7's 5 factors x 3 replicates)."""
    data = mnist_pixels_subset
    factors = [0.0, 1e-3, 1e-2]
    settings = [TrainSettings("SGD", 0.1, {}, epochs=2, batch_size=100, seed=0)
                for _ in factors]
    alone = []
    for factor, st in zip(factors, settings, strict=True):
        model = _mlp(0)
        penalty = (lambda m=model, f=factor: f * m[1].weight.square().sum()) if factor else None
        alone.append(train_and_evaluate(model, data, st, optimizer_factory=_adam,
                                        penalty=penalty))
    together = train_replicas([_mlp(0) for _ in factors], data, settings,
                              optimizer_factory=_adam, penalty=[("1.weight", [0.0] * 3, factors)])
    for a, b in zip(alone, together, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
        assert b.test_accuracy == pytest.approx(a.test_accuracy, abs=2e-3)
    assert together[0].train_loss != together[2].train_loss  # the factors made a difference


def test_replicates_are_checked_like_one_run(mnist_pixels_subset, monkeypatch):
    """Every replicate's batch is in memory at once: the activation bound counts them all,
    before any training."""
    from grader.train import loop

    settings = [TrainSettings("SGD", 0.1, {}, epochs=1, batch_size=10, seed=s) for s in (0, 1)]
    per_run = 10 * (784 + 64 + 64 + 10 + 10)  # a batch's outputs of the MLP's five layers
    monkeypatch.setattr(loop, "MAX_BATCH_ACTIVATIONS", 2 * per_run - 1)
    model = _mlp(0)
    loop._check_activations(model, loop._split_head(model, None), 10, mnist_pixels_subset)
    with pytest.raises(ValueError, match="activation values"):
        train_replicas([_mlp(0), _mlp(1)], mnist_pixels_subset, settings,
                       optimizer_factory=_sgd)
