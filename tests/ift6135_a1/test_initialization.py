"""initialize_weights: keys, shapes, zero biases, each init's distribution, seeding; and the
size of the default architecture."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import (
    as_array,
    assert_allclose,
    check_normal,
    check_uniform,
    fail,
    require_substance,
)

from .common import can_select_init, check_keys, splits, student_net, weights_of

SHAPES = [(13, (5,), 3), (13, (7, 4), 6), (9, (6, 5, 3), 4)]


def _initialized(student, rng, d_in, hidden, k, **kwargs):
    net = student_net(student, hidden_dims=hidden, data=splits(rng, d=d_in, k=k), **kwargs)
    net.initialize_weights([d_in, k])
    return weights_of(net)


def _expected_shapes(d_in, hidden, k):
    dims = [d_in, *hidden, k]
    shapes = {}
    for layer in range(1, len(dims)):
        shapes[f"W{layer}"] = (dims[layer - 1], dims[layer])
        shapes[f"b{layer}"] = (1, dims[layer])
    return shapes


def _draws_weights(student, rng, then: str) -> None:
    """The default (Glorot) initialisation draws random weights of the right shapes: the
    evidence that ``initialize_weights`` does real work, without which "biases are zero" or
    "'zero' gives zeros" would pay an initialisation that draws nothing."""
    weights = _initialized(student, rng, 13, (7, 4), 6, init_method="glorot", seed=1)
    check_keys(weights, ["W1", "W2", "W3"], what="`self.weights` after `initialize_weights`")
    drawn = [as_array(weights[k], name=k) for k in ("W1", "W2", "W3")]
    # Only that weights are drawn is asked here, not their shapes (their own test): the
    # evidence is compared with random draws of the student's own shapes.
    draws = np.random.default_rng(0)
    require_substance("initialize_weights", [(w, draws.uniform(-1, 1, w.shape)) for w in drawn],
                      name="`self.weights` (init_method='glorot')", then=then)


def _selectable(student, rng, init_method: str, feedback: list[str]) -> bool:
    """Whether the student's class lets the grader choose ``init_method``; when it cannot
    (an earlier year's template), the test is not gradable and keeps its points."""
    net = student_net(student, hidden_dims=(4,), data=splits(rng))
    if init_method == "glorot" or can_select_init(student, net):
        return True
    feedback.append(f"Your `NN` has no `init_method` (an earlier year's template, where Glorot "
                    f"was the only initialisation), so `init_method={init_method!r}` cannot be "
                    "chosen: this check is not gradable on your class and keeps its points, "
                    "since your default initialisation draws real weights.")
    return False


@pytest.mark.graded(points=2, function="initialize_weights")
@pytest.mark.parametrize("init_method", ["glorot", "normal", "zero"])
def test_keys_and_shapes(student, rng, init_method, feedback):
    """weights has W1, b1, ..., Wm, bm with W of shape (fan_in, fan_out), b of shape (1, fan_out)"""
    _draws_weights(student, rng, then="Right keys and shapes")
    if not _selectable(student, rng, init_method, feedback):
        return
    for d_in, hidden, k in SHAPES:
        weights = _initialized(student, rng, d_in, hidden, k, init_method=init_method)
        expected = _expected_shapes(d_in, hidden, k)
        context = (f"`NN(hidden_dims={hidden}, init_method={init_method!r})` with "
                   f"`initialize_weights([{d_in}, {k}])`")
        check_keys(weights, list(expected), what=f"`self.weights` for {context}")
        for key, shape in expected.items():
            got = as_array(weights[key], name=key).shape
            if got != shape:
                hint = " (transposed?)" if got == shape[::-1] else ""
                fail(f"`self.weights['{key}']` has shape {got}, expected {shape}{hint} for "
                     f"{context}. W_l maps fan_in = {shape[0] if key[0] == 'W' else '…'} "
                     "inputs to fan_out outputs: `Z @ W + b`.")


@pytest.mark.graded(points=1, function="initialize_weights")
@pytest.mark.parametrize("init_method", ["glorot", "normal"])
def test_biases_are_zero(student, rng, init_method, feedback):
    """biases start at zero"""
    _draws_weights(student, rng, then="Zero biases")
    if not _selectable(student, rng, init_method, feedback):
        return
    weights = _initialized(student, rng, 13, (7, 4), 6, init_method=init_method)
    check_keys(weights, ["b1", "b2", "b3"], what=f"`self.weights` (init_method={init_method!r})")
    for layer in (1, 2, 3):
        b = as_array(weights[f"b{layer}"], name=f"b{layer}")
        assert_allclose(b, np.zeros((1, b.shape[-1])), name=f"b{layer}", rtol=0, atol=0,
                        context=f"with `init_method={init_method!r}`")


@pytest.mark.graded(points=1, function="initialize_weights")
def test_zero_init(student, rng, feedback):
    """init_method='zero' sets every weight to 0"""
    _draws_weights(student, rng, then="Zeros for init_method='zero'")
    if not _selectable(student, rng, "zero", feedback):
        return
    weights = _initialized(student, rng, 13, (7, 4), 6, init_method="zero")
    check_keys(weights, list(_expected_shapes(13, (7, 4), 6)),
               what="`self.weights` (init_method='zero')")
    for key, value in weights.items():
        value = as_array(value, name=key)
        assert_allclose(value, np.zeros_like(value), name=key, rtol=0, atol=0,
                        context="with `init_method='zero'`")


@pytest.mark.graded(points=2, function="initialize_weights", visibility="after_published")
def test_normal_init_distribution(student, rng, feedback):
    """init_method='normal' draws weights from N(0, 1)"""
    if not _selectable(student, rng, "normal", feedback):
        _draws_weights(student, rng, then="The normal initialisation's check")
        return
    weights = _initialized(student, rng, 300, (200,), 10, init_method="normal", seed=1)
    for key in ("W1", "W2"):
        check_normal(as_array(weights[key], name=key).ravel(), 0.0, 1.0,
                     name=f"{key} with init_method='normal'", alpha=1e-6)


@pytest.mark.graded(points=2, function="initialize_weights", visibility="after_published")
def test_glorot_init_distribution(student, rng):
    """init_method='glorot' draws W_l from U(-d, d), d = sqrt(6 / (fan_in + fan_out))"""
    weights = _initialized(student, rng, 300, (200,), 10, init_method="glorot", seed=1)
    for key, (fan_in, fan_out) in (("W1", (300, 200)), ("W2", (200, 10))):
        d = np.sqrt(6.0 / (fan_in + fan_out))
        check_uniform(as_array(weights[key], name=key).ravel(), -d, d,
                      name=f"{key} ({fan_in}x{fan_out}) with init_method='glorot'", alpha=1e-6,
                      formula="d = sqrt(6 / (fan_in + fan_out))")


@pytest.mark.graded(points=1, function="initialize_weights")
def test_seed_reproducible(student, rng):
    """the same seed gives the same weights; another seed gives others"""
    data = splits(rng, d=13, k=6)

    def init(seed):
        net = student_net(student, hidden_dims=(7, 4), data=data, seed=seed)
        net.initialize_weights([13, 6])
        return weights_of(net)

    first, again, other = init(3), init(3), init(4)
    for key in ("W1", "W2", "W3"):
        assert_allclose(again[key], first[key], name=key, rtol=0, atol=0,
                        context="initialised twice with `seed=3`: must be identical")
    if all(np.array_equal(first[k], other[k]) for k in ("W1", "W2", "W3")):
        fail("`seed=3` and `seed=4` gave identical weights: the seed must matter.")


@pytest.mark.graded(points=2, function="__init__")
def test_default_architecture_size(student, rng, pack):
    """the default architecture (784 inputs, 10 classes) has 0.5M to 1.0M parameters"""
    low, high = pack.settings["parameter_range"]
    _draws_weights(student, rng, then="Counting the parameters of the weights it builds")
    net = student_net(student, data=splits(rng, d=784, k=10, n=4))
    net.initialize_weights([784, 10])  # counted from the weights built, not what is declared
    weights = weights_of(net)
    layers = sorted((k for k in weights if str(k)[:1] == "W" and str(k)[1:].isdigit()),
                    key=lambda k: int(k[1:]))
    if not layers:
        fail("`initialize_weights([784, 10])` with the default `NN()` created no weights "
             "(`self.weights` has no W1, W2, ...): the architecture is counted from the "
             "weights your code builds.")
    shapes = {k: as_array(v, name=k).shape for k, v in weights.items()}
    if not _chains([shapes[k] for k in layers], 784, 10):
        fail(f"The default `NN()` builds weights of shapes "
             f"{', '.join(f'{k} {shapes[k]}' for k in layers)}: they must chain from 784 "
             "inputs to 10 outputs.")
    count = sum(int(np.prod(shape)) for shape in shapes.values())
    terms = " + ".join(f"{k} {'x'.join(map(str, s))}" for k, s in shapes.items())
    if not low <= count <= high:
        fail(f"The default architecture builds {count:,} parameters ({terms}); the handout "
             f"asks for {low:,} to {high:,}, biases included.")


def _chains(shapes: list[tuple[int, ...]], n_in: int, n_out: int) -> bool:
    """The W shapes lead from ``n_in`` inputs to ``n_out`` outputs: each (fan_in, fan_out),
    or all transposed (a convention charged to forward's tests, not to the count)."""
    for oriented in (shapes, [s[::-1] for s in shapes]):
        if all(len(s) == 2 for s in oriented) and oriented[0][0] == n_in \
                and oriented[-1][1] == n_out \
                and all(a[1] == b[0] for a, b in zip(oriented[:-1], oriented[1:], strict=True)):
            return True
    return False
