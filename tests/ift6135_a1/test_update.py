"""update: one plain SGD step, W <- W - lr * dW and b <- b - lr * db, with self.lr."""

from __future__ import annotations

import pytest

from .common import (
    assert_arrays,
    check_keys,
    one_hot,
    random_weights,
    reference_net,
    student_net,
    weights_of,
)


def _step(student, rng, lr):
    hidden = (6, 5)
    weights = random_weights(rng, [8, *hidden, 3])
    x, y = rng.normal(0, 1, (7, 8)), one_hot(rng.integers(0, 3, 7), 3)
    ref = reference_net(hidden, "relu", weights, lr=lr)
    grads = ref.backward(ref.forward(x), y)
    net = student_net(student, hidden_dims=hidden, lr=lr)
    net.weights = weights
    net.update(grads)
    ref.update(grads)
    got = weights_of(net)
    keys = [f"{p}{layer}" for layer in (1, 2, 3) for p in ("W", "b")]
    check_keys(got, keys, what="`self.weights` after `update`")
    return got, ref.weights, keys


@pytest.mark.graded(points=2, function="update")
@pytest.mark.parametrize("lr", [0.37, 0.02])
def test_update_is_sgd_step(student, rng, lr):
    """every W and b moves by -lr * gradient, with the lr given to NN(lr=...)"""
    got, expected, keys = _step(student, rng, lr)
    assert_arrays(got, expected, keys, rtol=1e-6, atol=1e-9,
                  context=f"one `update(grads)` with `NN(lr={lr})`: W - lr * dW")


@pytest.mark.graded(points=1, function="update")
def test_update_changes_biases(student, rng):
    """the biases are updated too"""
    got, expected, _ = _step(student, rng, 0.5)
    assert_arrays(got, expected, ["b1", "b2", "b3"], rtol=1e-6, atol=1e-9,
                  context="one `update(grads)` with `NN(lr=0.5)`: b - lr * db")
