"""loss: the mean over the batch of the cross-entropy, after the template's clipping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing import assert_consistent, assert_scalar_close, require_substance

from .common import one_hot, reference_net, splits, student_net, tolerance


def _probabilities(rng, n, k):
    logits = rng.normal(0, 2, (n, k))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.graded(points=2, function="loss")
@settings(max_examples=15)
@given(n=st.integers(1, 40), k=st.integers(2, 10), seed=st.integers(0, 2**16))
def test_loss_matches_reference(student, rng, n, k, seed):
    """loss(prediction, labels) is the mean cross-entropy"""
    draw = np.random.default_rng(seed)
    p, y = _probabilities(draw, n, k), one_hot(draw.integers(0, k, n), k)
    net = student_net(student, hidden_dims=(4,), data=splits(rng))
    expected = reference_net((4,)).loss(p.copy(), y)
    got = net.loss(p.copy(), y)
    assert_scalar_close(
        got, expected, name="loss(prediction, labels)", **tolerance(got, 1e-6, 1e-9),
        context=f"a batch of {n} examples and {k} classes",
        factors={"the batch size": n, "the number of classes": k,
                 "batch size x classes": n * k},
    )


@pytest.mark.graded(points=1, function="loss")
def test_loss_is_mean_not_sum(student, rng):
    """repeating the batch twice does not change the loss (a mean, not a sum)"""
    p, y = _probabilities(rng, 8, 5), one_hot(rng.integers(0, 5, 8), 5)
    net = student_net(student, hidden_dims=(4,), data=splits(rng))
    ref = reference_net((4,))
    other = _probabilities(rng, 8, 5)  # the same labels, another prediction
    substance = require_substance(
        "loss", [(net.loss(q.copy(), y), ref.loss(q.copy(), y)) for q in (p, other)],
        name="`loss(prediction, labels)`", varies="the prediction",
        then="Giving the same value on a repeated batch")
    once = net.loss(p.copy(), y)
    assert_consistent(net.loss(np.vstack([p, p]), np.vstack([y, y])), once, scalar=True,
                      name="loss on the batch repeated twice", **tolerance(once, 1e-6, 1e-9),
                      own_name="your loss on the batch once", substance=substance,
                      context="must equal the loss on the batch once",
                      factors={"2 (the batch doubled)": 2})


@pytest.mark.graded(points=1, function="loss", visibility="after_published")
def test_loss_clips_probabilities(student, rng):
    """a predicted probability of exactly 0 for the true class gives a finite loss"""
    p = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    y = one_hot(np.array([0, 2, 0]), 3)
    net = student_net(student, hidden_dims=(4,), data=splits(rng))
    expected = reference_net((4,)).loss(p.copy(), y)
    got = net.loss(p.copy(), y)
    assert_scalar_close(got, expected, name="loss(prediction, labels)",
                        **tolerance(got, 1e-6, 1e-9),
                        context="predictions with exact 0 and 1 (the template clips them to "
                                "[epsilon, 1 - epsilon] before the log)")
