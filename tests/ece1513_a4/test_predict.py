"""Problem 1.1, `predict(params, inputs)`: tanh hidden layers and a log-softmax output
computed with logsumexp, for any number of layers."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import as_array, assert_allclose, require_substance

from .common import batch, problem1, random_params, reference_predict

# At least one hidden layer: with none, `predict` is only the notebook's given lines.
DEPTHS = {
    "one hidden layer": [20, 16, 10],
    "one wide hidden layer": [784, 64, 10],
    "two hidden layers": [784, 32, 24, 10],
    "three hidden layers": [30, 12, 9, 7, 10],
}


def _predict(student, params, x):
    out = problem1(student).predict(params, x)
    return as_array(out, name="predict(params, inputs)", shape=(len(x), 10))


@pytest.mark.graded(points=0.25, function="predict")
def test_predict_returns_log_probabilities(student):
    """each row of exp(predict(params, inputs)) sums to 1"""
    rng = np.random.default_rng(1513)
    params = random_params(rng, [784, 32, 10])
    x, _ = batch(rng, 9, 784)
    other = random_params(rng, [784, 32, 10])
    require_substance("predict", [(_predict(student, p, x), reference_predict(p, x))
                                  for p in (params, other)],
                      name="`predict(params, inputs)`", varies="the parameters",
                      then="Rows of probabilities that sum to one")
    out = _predict(student, params, x)
    assert_allclose(np.exp(out.astype(np.float64)).sum(axis=1), np.ones(len(x)),
                    name="exp(predict(params, inputs)).sum(axis=1)", rtol=1e-4, atol=1e-4,
                    expected_name="1 for every row (log-probabilities)",
                    context="`predict` must return log-softmax outputs: the logits minus "
                            "their `logsumexp` over each row")


@pytest.mark.graded(points=0.125, function="predict")  # x4 depths
@pytest.mark.parametrize("depth", list(DEPTHS), ids=[d.replace(" ", "_") for d in DEPTHS])
def test_predict_matches_reference(student, depth):
    """the same log-probabilities as the reference on the same parameters"""
    sizes = DEPTHS[depth]
    rng = np.random.default_rng(len(sizes) * 100 + sizes[0])
    params = random_params(rng, sizes)
    x, _ = batch(rng, 7, sizes[0])
    assert_allclose(_predict(student, params, x), reference_predict(params, x),
                    name="predict(params, inputs)", rtol=1e-4, atol=2e-5,
                    context=f"layer sizes {sizes} ({depth}): tanh after every layer but the "
                            "last, log-softmax at the end")


@pytest.mark.graded(points=0.25, function="predict")
def test_predict_is_stable_for_large_logits(student):
    """large logits give finite log-probabilities (the logsumexp trick)"""
    rng = np.random.default_rng(7)
    params = random_params(rng, [20, 16, 10])
    params[-1] = (params[-1][0] * 300, params[-1][1])
    x, _ = batch(rng, 6, 20)
    assert_allclose(_predict(student, params, x), reference_predict(params, x),
                    name="predict(params, inputs)", rtol=1e-4, atol=1e-3,
                    context="logits of several hundred: `exp` overflows in float32, "
                            "`logits - logsumexp(logits, axis=1, keepdims=True)` does not")
