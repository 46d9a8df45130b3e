"""backward: gradients of the mean cross-entropy, checked two ways.

1. Against central finite differences of the submission's *own* forward + loss, in float64,
   on sampled coordinates (coordinates where a ReLU kink is crossed are left out).
2. Against the reference on the same weights, for every activation and several depths.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import as_array, assert_allclose
from grader.checks.gradients import central_difference, sample_indices
from grader.feedback import fail, format_number

from .common import (
    ACTIVATIONS,
    assert_arrays,
    check_keys,
    one_hot,
    random_weights,
    reference_net,
    splits,
    student_net,
    tolerance,
)

D_IN, K, N = 8, 4, 6
BATCH_SIZE = 64  # NN(batch_size=...), deliberately not the size of the batches given here


def _problem(rng, hidden):
    weights = random_weights(rng, [D_IN, *hidden, K])
    x = rng.normal(0, 1, (N, D_IN))
    y = one_hot(rng.integers(0, K, N), K)
    return weights, x, y


def _grad_keys(m: int) -> list[str]:
    return [f"d{p}{layer}" for layer in range(1, m + 1) for p in ("W", "b")]


def _context(hidden, activation):
    return (f"`NN(hidden_dims={hidden}, activation={activation!r})`, a batch of {N} "
            f"inputs of size {D_IN}, {K} classes")


@pytest.mark.graded(points=2, function="backward")
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden", [(5, 4), (6, 5, 3)], ids=["2-hidden", "3-hidden"])
def test_backward_matches_finite_differences(student, rng, activation, hidden):
    """dW and db match finite differences of your own forward + loss"""
    weights, x, y = _problem(rng, hidden)
    m = len(hidden) + 1
    net = student_net(student, hidden_dims=hidden, activation=activation, data=splits(rng),
                      batch_size=BATCH_SIZE)
    net.weights = weights
    grads = net.backward(net.forward(x), y)
    check_keys(grads, _grad_keys(m), what="The dict returned by `backward`")
    ref = reference_net(hidden, activation, weights)
    ref_grads = ref.backward(ref.forward(x), y)

    def student_loss() -> float:
        net.weights = work
        return float(as_array(net.loss(net.forward(x)[f"Z{m}"], y), name="loss"))

    def reference_loss() -> float:
        ref.weights = work
        return float(ref.loss(ref.forward(x)[f"Z{m}"], y))

    work = {k: v.copy() for k, v in weights.items()}
    precise = as_array(grads["dW1"], name="dW1").dtype == np.float64
    eps, rtol, atol = (1e-6, 1e-4, 1e-7) if precise else (1e-3, 2e-2, 1e-4)
    pick = np.random.default_rng(7)
    for layer in range(m, 0, -1):
        for p, count in (("W", 6), ("b", 3)):
            key = f"{p}{layer}"
            analytic = as_array(grads[f"d{key}"], name=f"d{key}")
            if analytic.shape != weights[key].shape:
                fail(f"`grads['d{key}']` has shape {analytic.shape}; it must have the shape of "
                     f"`{key}`, {weights[key].shape}" +
                     (" (it looks transposed)." if analytic.shape == weights[key].shape[::-1]
                      else "."))
            for index in sample_indices(weights[key].shape, count, pick):
                numeric_ref = central_difference(reference_loss, work[key], index, eps)
                if not np.isclose(numeric_ref, ref_grads[f"d{key}"][index], rtol=1e-4,
                                  atol=atol):
                    continue  # the perturbation crosses a ReLU kink: not a fair coordinate
                numeric = central_difference(student_loss, work[key], index, eps)
                got = float(analytic[index])
                if np.isclose(got, numeric, rtol=rtol, atol=atol):
                    continue
                if np.isclose(got, ref_grads[f"d{key}"][index], **tolerance(analytic, 1e-5, 1e-8)):
                    continue  # right gradient; the forward/loss it was checked with is wrong
                ratio = got / numeric if numeric else float("inf")
                fail(f"`grads['d{key}']{list(index)}` = {format_number(got)}, but the "
                     f"central finite difference of your forward + loss (eps = {eps:g}) is "
                     f"{format_number(numeric)} (ratio {format_number(ratio)}), for "
                     f"{_context(hidden, activation)}." + _ratio_hint(ratio))


def _refuse_dividing_by_self_batch_size(got, expected, batch_size: int) -> None:
    """The commonest real backward bug: dividing by ``self.batch_size`` instead of the number
    of rows actually in the batch (they differ for the last, smaller minibatch)."""
    got = as_array(got, name="dW1")
    if got.shape == expected.shape and not np.allclose(got, expected, rtol=1e-5, atol=1e-9) \
            and np.allclose(got, expected * N / batch_size, rtol=1e-5, atol=1e-9):
        fail(f"`dW1` is the gradient divided by `self.batch_size` ({batch_size}), but this batch "
             f"has {N} examples (`NN(batch_size={batch_size})`, a batch of {N}): divide by the "
             "number of rows in the batch (`labels.shape[0]`). The last minibatch of an epoch "
             "is usually smaller than `batch_size`.")


def _ratio_hint(ratio: float) -> str:
    if np.isclose(ratio, N, rtol=1e-3):
        return f" Off by exactly the batch size ({N}): the gradient of a sum, not a mean?"
    if np.isclose(ratio, 1 / N, rtol=1e-3):
        return f" Divided by the batch size ({N}) once too often?"
    if np.isclose(ratio, N / BATCH_SIZE, rtol=1e-3):
        return (f" Divided by `self.batch_size` ({BATCH_SIZE}) instead of the {N} rows of this "
                "batch? Use `labels.shape[0]`: the last minibatch is usually smaller.")
    if np.isclose(ratio, -1, rtol=1e-3):
        return " The sign is flipped: dL/dA at the output is prediction - labels."
    return ""


@pytest.mark.graded(points=2, function="backward", visibility="after_published")
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden", [(6,), (6, 5, 4)], ids=["1-hidden", "3-hidden"])
def test_backward_matches_reference(student, rng, activation, hidden):
    """dW and db agree with the reference for each activation and depth"""
    weights, x, y = _problem(rng, hidden)
    net = student_net(student, hidden_dims=hidden, activation=activation, data=splits(rng),
                      batch_size=BATCH_SIZE)
    net.weights = weights
    ref = reference_net(hidden, activation, weights)
    cache = ref.forward(x)
    grads = net.backward(cache, y)
    keys = _grad_keys(len(hidden) + 1)
    check_keys(grads, keys, what="The dict returned by `backward`")
    expected = ref.backward(cache, y)
    _refuse_dividing_by_self_batch_size(grads["dW1"], expected["dW1"], BATCH_SIZE)
    assert_arrays(grads, expected, keys, rtol=1e-5, atol=1e-9,
                  context=_context(hidden, activation) + ", given the reference's cache",
                  factors={"the batch size": N})


@pytest.mark.graded(points=1, function="backward")
def test_backward_intermediate_gradients(student, rng):
    """the dA and dZ entries are the gradients of the loss, consistently scaled"""
    hidden = (5, 4)
    weights, x, y = _problem(rng, hidden)
    net = student_net(student, hidden_dims=hidden, activation="sigmoid", data=splits(rng))
    net.weights = weights
    ref = reference_net(hidden, "sigmoid", weights)
    cache = ref.forward(x)
    grads = net.backward(cache, y)
    keys = ["dA3", "dZ2", "dA2", "dZ1", "dA1"]
    check_keys(grads, keys, what="The dict returned by `backward`")
    expected = ref.backward(cache, y)
    # The contract asks for gradients of the mean loss, but putting the 1/N into dW and db
    # instead (so dA and dZ are gradients of the summed loss) is as correct and is what
    # most students write: either scale is accepted, as long as it is the same for all.
    first = as_array(grads["dA3"], name="dA3")
    scale = N if first.shape == expected["dA3"].shape and np.allclose(
        first, N * expected["dA3"], **tolerance(first, 1e-5, 1e-9)) else 1
    convention = ("(Z3 - labels), the gradient of the summed loss" if scale == N
                  else "(Z3 - labels) / batch size, the gradient of the mean loss")
    assert_arrays(grads, {k: scale * v for k, v in expected.items()}, keys, rtol=1e-5,
                  atol=1e-9, context=_context(hidden, "sigmoid") + f"; your dA3 is {convention}"
                  ", so every dA and dZ must be on that scale", factors={"the batch size": N})


@pytest.mark.graded(points=1, function="backward", visibility="after_published")
def test_backward_batch_of_32(student, rng):
    """gradients on a batch of 32 have the scale of a mean over the batch"""
    hidden = (5,)
    weights = random_weights(rng, [D_IN, *hidden, K])
    x = rng.normal(0, 1, (32, D_IN))
    y = one_hot(rng.integers(0, K, 32), K)
    net = student_net(student, hidden_dims=hidden, activation="relu", data=splits(rng))
    net.weights = weights
    ref = reference_net(hidden, "relu", weights)
    cache = ref.forward(x)
    grads = net.backward(cache, y)
    check_keys(grads, ["dW1", "dW2"], what="The dict returned by `backward`")
    for key in ("dW1", "dW2", "db2"):
        assert_allclose(grads[key], ref.backward(cache, y)[key], name=key,
                        **tolerance(grads[key], 1e-5, 1e-9), context="a batch of 32",
                        factors={"the batch size": 32})
