"""backward: gradients of the mean cross-entropy, checked two ways.

1. Against central finite differences of forward + loss, in float64, on sampled coordinates
   (coordinates where a ReLU kink is crossed are left out).
2. Against the reference on the same weights, for every activation and several depths.

Both run with the reference's helpers (activations, softmax, and for 1. forward and loss)
standing in for the student's, so that their bugs are charged to their own tests; when the
student's backward only works with their own helpers, it is judged with those.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import (
    GradingFailure,
    SubmissionError,
    as_array,
    assert_allclose,
    central_difference,
    describe_value,
    fail,
    format_number,
    pattern_hint,
    require_substance,
    sample_indices,
)

from .common import (
    ACTIVATION_HELPERS,
    ACTIVATIONS,
    FORWARD_HELPERS,
    assert_arrays,
    check_keys,
    judged,
    one_hot,
    random_weights,
    reference_net,
    reference_twin,
    splits,
    student_net,
    tolerance,
    working_precision,
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
def test_backward_matches_finite_differences(student, rng, activation, hidden, feedback):
    """dW and db match finite differences of forward + loss"""
    weights, x, y = _problem(rng, hidden)
    m = len(hidden) + 1
    net = student_net(student, hidden_dims=hidden, activation=activation, data=splits(rng),
                      batch_size=BATCH_SIZE)
    net.weights = weights
    ref = reference_net(hidden, activation, weights)
    ref_grads = ref.backward(ref.forward(x), y)
    work = {k: v.copy() for k, v in weights.items()}
    like = working_precision(net)

    def single(array) -> bool:
        """float32 work: the student's arrays, or their own helpers' (see tolerance)."""
        return bool(tolerance(array, 0, 0, like)["rtol"])

    def student_loss() -> float:
        net.weights = work
        cache = net.forward(x)
        if not isinstance(cache, dict) or f"Z{m}" not in cache:
            raise GradingFailure(f"`forward` returned {describe_value(cache)}, not its cache")
        return float(as_array(net.loss(cache[f"Z{m}"], y), name="loss"))

    def own_cache():
        """The cache of the student's forward when it is one, else the reference's (a broken
        forward is charged to forward's tests, not here)."""
        try:
            cache = net.forward(x)
        except SubmissionError:
            cache = None
        if isinstance(cache, dict) and all(f"{p}{i}" in cache for i in range(1, m + 1)
                                           for p in "AZ"):
            return cache
        note = ("Your `forward` did not return its cache here, so `backward` was given the "
                "reference's cache and compared with the reference's gradients.")
        if note not in feedback:
            feedback.append(note)
        return ref.forward(x)

    def reference_loss() -> float:
        ref.weights = work
        return float(ref.loss(ref.forward(x)[f"Z{m}"], y))

    def run():
        """backward's gradients, and central differences of the student's forward + loss and
        of the reference's at sampled coordinates (ReLU kinks left out)."""
        net.weights = weights
        grads = net.backward(own_cache(), y)
        check_keys(grads, _grad_keys(m), what="The dict returned by `backward`")
        analytic = {key: as_array(grads[f"d{key}"], name=f"d{key}") for key in weights}
        eps = 1e-3 if single(analytic["W1"]) else 1e-6
        numeric, pick = {}, np.random.default_rng(7)
        for key in _sampled_keys(m):
            for index in sample_indices(weights[key].shape, 6 if key[0] == "W" else 3, pick):
                numeric_ref = central_difference(reference_loss, work[key], index, eps)
                if not np.isclose(numeric_ref, ref_grads[f"d{key}"][index], rtol=1e-4,
                                  atol=1e-7):
                    continue  # the perturbation crosses a ReLU kink: not a fair coordinate
                try:
                    own = central_difference(student_loss, work[key], index, eps)
                except (GradingFailure, SubmissionError):
                    own = 0.0  # no number from their forward + loss: judged on the reference
                numeric[key, index] = (own, numeric_ref)
        return analytic, numeric, eps

    def check(result):
        analytic, numeric, eps = result
        for key, value in analytic.items():
            if value.shape != weights[key].shape:
                fail(f"`grads['d{key}']` has shape {value.shape}; it must have the shape of "
                     f"`{key}`, {weights[key].shape}" +
                     (" (it looks transposed)." if value.shape == weights[key].shape[::-1]
                      else "."))
        require_substance("backward", [(analytic[k], ref_grads[f"d{k}"]) for k in weights],
                          name="the gradients of `backward`",
                          then="Matching finite differences of a loss")
        rtol, atol = (2e-2, 1e-4) if single(analytic["W1"]) else (1e-4, 1e-7)
        for (key, index), (own, numeric_ref) in numeric.items():
            got, expected = float(analytic[key][index]), ref_grads[f"d{key}"][index]
            if np.isclose(got, expected, **tolerance(analytic[key], 1e-5, 1e-8, like)):
                continue  # right gradient (a wrong forward/loss is charged to its own tests)
            vacuous = abs(own) <= atol and abs(numeric_ref) > 10 * atol
            if not vacuous and np.isclose(got, own, rtol=rtol, atol=atol):
                continue  # consistent with forward + loss
            if vacuous:
                fail(f"`grads['d{key}']{list(index)}` = {format_number(got)}, but forward + "
                     f"loss do not change when `{key}{list(index)}` moves (their finite "
                     f"difference is {format_number(own)}), so the gradient is compared with "
                     f"the reference's, {format_number(expected)}, for "
                     f"{_context(hidden, activation)}.")
            ratio = got / own if own else float("inf")
            # the whole array's pattern (the reference's gradient is the finite differences
            # of a right forward + loss) names what one entry's ratio cannot: a transpose
            whole = pattern_hint(analytic[key], ref_grads[f"d{key}"], rtol=1e-4, atol=1e-7,
                                 factors={f"the batch size ({N})": N})
            fail(f"`grads['d{key}']{list(index)}` = {format_number(got)}, but the "
                 f"central finite difference of forward + loss (eps = {eps:g}) is "
                 f"{format_number(own)} (ratio {format_number(ratio)}), for "
                 f"{_context(hidden, activation)}."
                 + (f"\n\n**Hint** (all of `grads['d{key}']`): {whole}" if whole
                    else _ratio_hint(ratio)))

    # forward and loss stand in too: the finite differences are of a right forward + loss,
    # so a bug there is charged to forward's or loss's tests, and named in the feedback
    judged(net, reference_twin(hidden_dims=hidden, activation=activation),
           (*FORWARD_HELPERS, "forward", "loss"), run, check, function="backward",
           feedback=feedback)


def _sampled_keys(m: int) -> list[str]:
    return [f"{p}{layer}" for layer in range(m, 0, -1) for p in ("W", "b")]


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
def test_backward_matches_reference(student, rng, activation, hidden, feedback):
    """dW and db agree with the reference for each activation and depth"""
    weights, x, y = _problem(rng, hidden)
    net = student_net(student, hidden_dims=hidden, activation=activation, data=splits(rng),
                      batch_size=BATCH_SIZE)
    net.weights = weights
    ref = reference_net(hidden, activation, weights)
    cache = ref.forward(x)
    keys = _grad_keys(len(hidden) + 1)
    expected = ref.backward(cache, y)
    like = working_precision(net)

    def check(grads):
        check_keys(grads, keys, what="The dict returned by `backward`")
        _refuse_dividing_by_self_batch_size(grads["dW1"], expected["dW1"], BATCH_SIZE)
        assert_arrays(grads, expected, keys, rtol=1e-5, atol=1e-9, like=like,
                      context=_context(hidden, activation) + ", given the reference's cache",
                      factors={"the batch size": N})

    judged(net, reference_twin(hidden_dims=hidden, activation=activation), ACTIVATION_HELPERS,
           lambda: net.backward(cache, y), check, function="backward", feedback=feedback)


@pytest.mark.graded(points=1, function="backward")
def test_backward_intermediate_gradients(student, rng, feedback):
    """the dA and dZ entries are the gradients of the loss, consistently scaled"""
    hidden = (5, 4)
    weights, x, y = _problem(rng, hidden)
    net = student_net(student, hidden_dims=hidden, activation="sigmoid", data=splits(rng))
    net.weights = weights
    ref = reference_net(hidden, "sigmoid", weights)
    cache = ref.forward(x)
    keys = ["dA3", "dZ2", "dA2", "dZ1", "dA1"]
    expected = ref.backward(cache, y)
    like = working_precision(net)

    def check(grads):
        check_keys(grads, keys, what="The dict returned by `backward`")
        # The contract asks for gradients of the mean loss, but putting the 1/N into dW and
        # db instead (so dA and dZ are gradients of the summed loss) is as correct and is
        # what most students write: either scale is accepted, if it is the same for all.
        first = as_array(grads["dA3"], name="dA3")
        scale = N if first.shape == expected["dA3"].shape and np.allclose(
            first, N * expected["dA3"], **tolerance(first, 1e-5, 1e-9, like)) else 1
        convention = ("(Z3 - labels), the gradient of the summed loss" if scale == N
                      else "(Z3 - labels) / batch size, the gradient of the mean loss")
        assert_arrays(grads, {k: scale * v for k, v in expected.items()}, keys, rtol=1e-5,
                      atol=1e-9, like=like, context=_context(hidden, "sigmoid") + f"; your dA3 is "
                      f"{convention}, so every dA and dZ must be on that scale",
                      factors={"the batch size": N})

    judged(net, reference_twin(hidden_dims=hidden, activation="sigmoid"), ACTIVATION_HELPERS,
           lambda: net.backward(cache, y), check, function="backward", feedback=feedback)


@pytest.mark.graded(points=1, function="backward", visibility="after_published")
def test_backward_batch_of_32(student, rng, feedback):
    """gradients on a batch of 32 have the scale of a mean over the batch"""
    hidden = (5,)
    weights = random_weights(rng, [D_IN, *hidden, K])
    x = rng.normal(0, 1, (32, D_IN))
    y = one_hot(rng.integers(0, K, 32), K)
    net = student_net(student, hidden_dims=hidden, activation="relu", data=splits(rng))
    net.weights = weights
    ref = reference_net(hidden, "relu", weights)
    cache = ref.forward(x)
    expected = ref.backward(cache, y)
    like = working_precision(net)

    def check(grads):
        check_keys(grads, ["dW1", "dW2", "db2"], what="The dict returned by `backward`")
        for key in ("dW1", "dW2", "db2"):
            assert_allclose(grads[key], expected[key], name=key,
                            **tolerance(grads[key], 1e-5, 1e-9, like), context="a batch of 32",
                            factors={"the batch size": 32})

    judged(net, reference_twin(hidden_dims=hidden, activation="relu"), ACTIVATION_HELPERS,
           lambda: net.backward(cache, y), check, function="backward", feedback=feedback)
