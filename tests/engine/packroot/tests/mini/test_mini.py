"""Graded tests of the engine test pack (one per idea the engine must get right)."""

import numpy as np
import pytest

from grader.checks import assert_allclose


@pytest.mark.graded(points=1, function="double")
def test_double(student):
    """double(x) is 2x"""
    x = np.arange(6.0).reshape(2, 3)
    assert_allclose(student.double(x), 2 * x, name="double(x)")


@pytest.mark.graded(points=1, function="Counter")
def test_counter(student):
    """Counter counts"""
    c = student.Counter(start=3)
    c.step()
    assert c.step(by=2) == 6
    assert c.count == 6


@pytest.mark.graded(points=1, function="double", visibility="after_published")
def test_double_hidden(student):
    """double keeps the shape (hidden)"""
    assert_allclose(student.double(np.ones((4, 1))), 2 * np.ones((4, 1)), name="double(x)")


@pytest.mark.slow
@pytest.mark.graded(points=1, function="Counter")
def test_counter_slow(student, curves):
    """a slow test"""
    curves.append({"title": "counting", "x_label": "epoch", "y_label": "count",
                   "series": {"count": [1.0, 2.0, 3.0], "loss": [float("nan"), 0.5]},
                   "threshold": 2.5})
    assert student.Counter(start=0).step() == 1


@pytest.mark.graded(points=0, function="double")
def test_notes_reach_the_feedback(student, feedback):
    """notes a test leaves are shown even when it passes"""
    feedback.append("curve: 1, 2, 3")
