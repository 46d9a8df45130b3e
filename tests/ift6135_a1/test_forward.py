"""forward: the cache {Z0, A1, Z1, ..., Am, Zm} on weights copied from the grader."""

from __future__ import annotations

import pytest

from .common import (
    ACTIVATIONS,
    FORWARD_HELPERS,
    assert_arrays,
    check_keys,
    judged,
    random_weights,
    reference_net,
    reference_twin,
    splits,
    student_net,
)

DEPTHS = [(6,), (7, 5), (6, 5, 4)]


def _cache_keys(m: int) -> list[str]:
    return ["Z0"] + [f"{p}{layer}" for layer in range(1, m + 1) for p in ("A", "Z")]


def _compare(student, rng, hidden, activation, feedback):
    """forward is judged with the reference's activations and softmax standing in for the
    student's: their bugs are charged to them, not to forward."""
    d_in, k, n = 9, 4, 6
    weights = random_weights(rng, [d_in, *hidden, k])
    x = rng.random((n, d_in))
    net = student_net(student, hidden_dims=hidden, activation=activation, data=splits(rng))
    net.weights = weights
    expected = reference_net(hidden, activation, weights).forward(x)
    keys = _cache_keys(len(hidden) + 1)
    context = (f"`NN(hidden_dims={hidden}, activation={activation!r})`, a batch of {n} inputs "
               f"of size {d_in}, weights set by the grader")

    def check(got):
        check_keys(got, keys, what=f"The cache returned by `forward` for {context}")
        assert_arrays(got, expected, keys, context=context, rtol=1e-5, atol=1e-8)

    judged(net, reference_twin(hidden_dims=hidden, activation=activation), FORWARD_HELPERS,
           lambda: net.forward(x), check, function="forward", feedback=feedback)


@pytest.mark.graded(points=2, function="forward")
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_each_activation(student, rng, activation, feedback):
    """forward's cache matches the reference for each activation (two hidden layers)"""
    _compare(student, rng, (7, 5), activation, feedback)


@pytest.mark.graded(points=2, function="forward", visibility="after_published")
@pytest.mark.parametrize("hidden", DEPTHS, ids=["1-hidden", "2-hidden", "3-hidden"])
def test_forward_depths(student, rng, hidden, feedback):
    """forward works for any number of hidden layers"""
    _compare(student, rng, hidden, "tanh", feedback)
