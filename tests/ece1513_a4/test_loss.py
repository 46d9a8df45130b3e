"""Problem 1.2, `loss(params, batch)`: the cross-entropy, averaged over the batch."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import assert_scalar_close

from .common import batch, problem1, random_params, reference_loss


@pytest.mark.graded(points=0.25, function="loss")  # x2 batch sizes
@pytest.mark.parametrize("n", [1, 16])
def test_loss_matches_reference(student, n):
    """the mean cross-entropy of predict's log-probabilities and the one-hot targets"""
    rng = np.random.default_rng(20 + n)
    params = random_params(rng, [784, 24, 10])
    data = batch(rng, n, 784)
    assert_scalar_close(problem1(student).loss(params, data), reference_loss(params, data),
                        name="loss(params, (inputs, targets))", rtol=1e-4, atol=1e-5,
                        context=f"a batch of {n} examples: -mean over the batch of "
                                "sum(targets * predict(params, inputs))")


@pytest.mark.graded(points=0.5, function="loss")
def test_loss_is_a_mean_not_a_sum(student):
    """the same batch twice gives the same loss (a mean over examples, not a sum)"""
    rng = np.random.default_rng(99)
    params = random_params(rng, [784, 24, 10])
    x, y = batch(rng, 12, 784)
    once = problem1(student).loss(params, (x, y))
    twice = problem1(student).loss(params, (np.concatenate([x, x]), np.concatenate([y, y])))
    assert_scalar_close(twice, float(np.asarray(once)), name="loss on the batch repeated twice",
                        rtol=1e-4, atol=1e-6, expected_name="the loss on the batch once",
                        context="the loss must average over the examples (`np.mean` over the "
                                "batch), so repeating the batch changes nothing")
