"""`accuracy(params, batch)` (the notebook's boilerplate, kept working): the fraction of
examples whose most likely class is the target's. Worth no points, as in the handout; a
broken `accuracy` would make the student's own training logs wrong."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import assert_scalar_close

from .common import batch, problem1, random_params, reference_predict


@pytest.mark.graded(points=0, function="accuracy")
def test_accuracy_matches_reference(student):
    """the fraction of examples classified correctly, on parameters of the reference"""
    rng = np.random.default_rng(5)
    params = random_params(rng, [784, 16, 10], scale=3.0)
    x, y = batch(rng, 50, 784)
    predicted = reference_predict(params, x).argmax(axis=1)
    y = np.eye(10, dtype=np.float32)[np.where(rng.random(50) < 0.4, predicted, y.argmax(1))]
    wanted = float(np.mean(predicted == y.argmax(axis=1)))
    assert_scalar_close(problem1(student).accuracy(params, (x, y)), wanted,
                        name="accuracy(params, (inputs, targets))", rtol=0, atol=1e-6,
                        context="the mean of argmax(predict) == argmax(targets)")
