"""softmax: a probability distribution per row, shift-invariant, stable at |x| = 1000."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing import (
    Substance,
    as_array,
    assert_allclose,
    assert_consistent,
    fail,
    require_substance,
    show_array,
)

from .common import reference_net, splits, student_net

logits = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
    elements=st.floats(-60, 60, allow_nan=False, width=64),
)
TOL = {"rtol": 1e-5, "atol": 1e-8}


PROBES = (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]]),
          np.array([[-1.0, 4.0, 0.5], [2.0, 2.0, -3.0]]))


def _net(student, rng):
    return student_net(student, hidden_dims=(4,), data=splits(rng))


def _substance(net, then: str) -> Substance:
    """softmax's answers on two fixed inputs show it computes something (a property of
    softmax also holds for, say, a constant)."""
    ref = reference_net((4,))
    return require_substance("softmax", [(net.softmax(x), ref.softmax(x)) for x in PROBES],
                             name="`softmax(x)`", then=then)


@pytest.mark.graded(points=1, function="softmax")
@settings(max_examples=30)
@given(x=logits)
def test_softmax_rows_sum_to_one(student, rng, x):
    """each row of softmax(x) is a probability distribution"""
    net = _net(student, rng)
    _substance(net, then="Rows that sum to one")
    p = as_array(net.softmax(x), name="softmax(x)", shape=x.shape)
    if p.shape != x.shape:
        fail(f"softmax(x) should keep the input's shape {x.shape}; it returned {p.shape}.")
    assert_allclose(p.sum(axis=1), np.ones(x.shape[0]), name="the row sums of softmax(x)",
                    context="softmax normalises each row (each example) separately", **TOL)
    assert_allclose(np.minimum(p, 0), np.zeros_like(p), name="negative entries of softmax(x)",
                    rtol=0, atol=0)


@pytest.mark.graded(points=1, function="softmax")
@settings(max_examples=30)
@given(x=logits)
def test_softmax_matches_reference(student, rng, x):
    """softmax(x) agrees with the reference"""
    got = _net(student, rng).softmax(x)
    assert_allclose(got, reference_net((4,)).softmax(x), name="softmax(x)", **TOL)


@pytest.mark.graded(points=1, function="softmax")
@settings(max_examples=20)
@given(x=logits, shift=st.floats(-500, 500, allow_nan=False))
def test_softmax_shift_invariant(student, rng, x, shift):
    """adding a constant to a row does not change its softmax"""
    net = _net(student, rng)
    substance = _substance(net, then="Shift invariance")
    shifts = shift * np.linspace(-1, 1, x.shape[0])[:, None]
    assert_consistent(net.softmax(x + shifts), net.softmax(x), name="softmax(x + c)",
                      own_name="your `softmax(x)`", rtol=1e-5, atol=1e-7, substance=substance,
                      context=f"each row shifted by its own constant c = "
                              f"{show_array(shifts[:, 0])}; the input was "
                              f"{show_array(x + shifts)}")


@pytest.mark.graded(points=1, function="softmax", visibility="after_published")
def test_softmax_stable_at_large_values(student, rng):
    """softmax is finite and exact for |x| = 1000, also when rows differ in scale"""
    x = np.array([[1000.0, 999.0, 998.0, 0.0],
                  [-1000.0, -1001.0, -999.0, -1000.0],
                  [1000.0, -1000.0, 0.0, 1000.0]])
    got = _net(student, rng).softmax(x)
    assert_allclose(got, reference_net((4,)).softmax(x), name="softmax(x)",
                    context="rows with |x| = 1000 (subtract each row's own max first)", **TOL)
