"""Problem 1.2, `loss(params, batch)`: the cross-entropy, averaged over the batch.

`loss` is judged with the reference's `predict` standing in for the student's (see
``grader.checks.charged_once``): a bug in `predict` is charged to `predict`'s tests only.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import (
    assert_consistent,
    assert_scalar_close,
    judge_apart,
    plain_functions,
    require_substance,
)

from .common import batch, problem1, random_params, reference_loss, reference_predict

HELPERS = plain_functions({"predict": reference_predict})


@pytest.mark.graded(points=0.25, function="loss")  # x2 batch sizes
@pytest.mark.parametrize("n", [1, 16])
def test_loss_matches_reference(student, n, feedback):
    """the mean cross-entropy of predict's log-probabilities and the one-hot targets"""
    rng = np.random.default_rng(20 + n)
    params = random_params(rng, [784, 24, 10])
    data = batch(rng, n, 784)
    p1 = problem1(student)

    def check(got):
        assert_scalar_close(got, reference_loss(params, data),
                            name="loss(params, (inputs, targets))", rtol=1e-4, atol=1e-5,
                            context=f"a batch of {n} examples: -mean over the batch of "
                                    "sum(targets * predict(params, inputs))")

    note = judge_apart(p1, HELPERS, lambda: p1.loss(params, data), check, function="loss")
    if note:
        feedback.append(note)


@pytest.mark.graded(points=0.5, function="loss")
def test_loss_is_a_mean_not_a_sum(student, feedback):
    """the same batch twice gives the same loss (a mean over examples, not a sum)"""
    rng = np.random.default_rng(99)
    params = random_params(rng, [784, 24, 10])
    other = random_params(rng, [784, 24, 10])
    x, y = batch(rng, 12, 784)
    p1 = problem1(student)

    def run():
        alive = [(p1.loss(p, (x, y)), reference_loss(p, (x, y))) for p in (params, other)]
        once = p1.loss(params, (x, y))
        return alive, once, p1.loss(params, (np.concatenate([x, x]), np.concatenate([y, y])))

    def check(result):
        alive, once, twice = result
        substance = require_substance("loss", alive, name="`loss(params, batch)`",
                                      varies="the parameters",
                                      then="Giving the same value on a repeated batch")
        assert_consistent(twice, float(np.asarray(once)), scalar=True,
                          name="loss on the batch repeated twice", rtol=1e-4, atol=1e-6,
                          own_name="the loss on the batch once", substance=substance,
                          context="the loss must average over the examples (`np.mean` over "
                                  "the batch), so repeating the batch changes nothing")

    note = judge_apart(p1, HELPERS, run, check, function="loss")
    if note:
        feedback.append(note)
