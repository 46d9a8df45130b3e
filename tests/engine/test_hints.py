"""Every hint the engine gives has a case that triggers it and a near miss that must not.

A hint names the student's bug; a wrong one sends them after a bug they do not have. So each
pattern below is recognised from the arrays alone, and its look-alikes stay silent (or get
their own, right, hint). The pack-level hints (a learning rate written into `update`, a
transposed-then-reshaped gradient, accuracies in percent) are checked on known files through
their ``# expect-hint:`` headers (see known.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import fixed_rate, fixed_rate_message, implied_rate, pattern_hint
from grader.failures import _example_block


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.fixture
def logits() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 2, (6, 4))


# --- normalised over the wrong axis ---------------------------------------------------------

def test_softmax_over_the_batch_axis_is_named(logits):
    hint = pattern_hint(_softmax(logits, 0), _softmax(logits, 1))
    assert hint and "sum to 1 along axis 0 (down each column)" in hint
    assert "`axis=1`" in hint and "constant factor" not in hint


def test_log_softmax_over_the_batch_axis_is_named(logits):
    hint = pattern_hint(_log_softmax(logits, 0), _log_softmax(logits, 1))
    assert hint and "log-sum-exp of 0 along axis 0" in hint


def test_one_row_softmax_over_axis_0_is_all_ones_and_named():
    """With one example, a softmax over axis 0 gives 1 everywhere: each column sums to 1."""
    z = np.random.default_rng(1).normal(0, 1, (1, 5))
    hint = pattern_hint(_softmax(z, 0), _softmax(z, 1))
    assert hint and "along axis 0" in hint


def test_a_transposed_square_softmax_is_called_transposed(logits):
    square = _softmax(logits[:4], 1)
    hint = pattern_hint(square.T, square)
    assert hint and "transposed" in hint and "axis" not in hint


def test_expected_columns_are_not_described_as_rows(logits):
    hint = pattern_hint(_softmax(logits, 1), _softmax(logits, 0))
    assert hint and "Reduce over `axis=0`" in hint and "one example per row" not in hint


def test_softmax_on_the_right_axis_but_wrong_values_is_not_an_axis_hint(logits):
    """Rows that sum to 1 but are not the softmax (e.g. a temperature): no axis hint."""
    hint = pattern_hint(_softmax(2 * logits, 1), _softmax(logits, 1))
    assert not hint or "axis" not in hint


def test_unnormalised_arrays_get_no_axis_hint(logits):
    hint = pattern_hint(np.exp(logits), _softmax(logits, 1))
    assert not hint or "axis" not in hint


# --- transposes -----------------------------------------------------------------------------

def test_transposed_then_reshaped_is_named():
    e = np.random.default_rng(2).normal(0, 1, (3, 5))
    hint = pattern_hint(e.T.reshape(3, 5), e)
    assert hint and "transposed, then reshaped" in hint and "`.reshape`" in hint


def test_a_plain_reshape_of_other_values_is_not_called_a_transpose():
    rng = np.random.default_rng(3)
    e = rng.normal(0, 1, (3, 5))
    hint = pattern_hint(rng.normal(0, 1, (3, 5)), e)
    assert hint is None


def test_square_transpose_is_named_and_symmetric_matrices_are_not():
    e = np.random.default_rng(4).normal(0, 1, (4, 4))
    assert "transposed" in (pattern_hint(e.T, e) or "")
    sym = e + e.T
    assert "transposed" not in (pattern_hint(sym.T * 1.5, sym) or "")


# --- factors and constants ------------------------------------------------------------------

def test_named_factor_wins_over_a_constant():
    e = np.random.default_rng(5).normal(0, 1, (4, 3))
    hint = pattern_hint(e * 8, e, factors={"the batch size (8)": 8})
    assert hint and "exactly the batch size (8)" in hint


def test_near_one_factor_prints_enough_digits_to_differ_from_one():
    e = np.random.default_rng(6).normal(0, 1, (4, 3))
    hint = pattern_hint(e * 1.000_05, e, rtol=1e-7, atol=1e-12)
    assert hint and "1.000050" in hint and "≈ 1.000 " not in hint


def test_additive_constant_is_named_and_noise_is_not():
    rng = np.random.default_rng(7)
    e = rng.normal(0, 1, (5, 4))
    assert "same constant" in (pattern_hint(e + 0.5, e) or "")
    assert pattern_hint(e + rng.normal(0, 0.5, e.shape), e) is None


def test_all_zero_result_is_named_only_when_all_zero():
    e = np.random.default_rng(8).normal(0, 1, (3, 3))
    assert "Every entry of your result is 0" in (pattern_hint(np.zeros_like(e), e) or "")
    partly = np.zeros_like(e)
    partly[0, 0] = 1.0
    assert "Every entry" not in (pattern_hint(partly, e) or "")


def test_sign_flip_is_named_and_a_partial_flip_is_not():
    e = np.random.default_rng(9).normal(0, 1, (4, 4)) + 3
    assert "sign is flipped" in (pattern_hint(-e, e) or "")
    half = e.copy()
    half[:2] *= -1
    assert "sign" not in (pattern_hint(half, e) or "")


# --- a learning rate written into the update ------------------------------------------------

def _steps(rate: float, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    grads = [rng.normal(0, 1, (4, 3)), rng.normal(0, 1, 3)]
    return [(rate * g, g) for g in grads]


def test_a_rate_that_does_not_follow_the_given_one_is_found():
    rate = fixed_rate({0.37: _steps(0.01, 1), 0.0925: _steps(0.01, 2)})
    assert rate == pytest.approx(0.01)
    text = fixed_rate_message(rate, [0.37, 0.0925], function="update", source="`self.lr`")
    assert "learning rate of 0.01 whatever rate it is given" in text and "`self.lr`" in text


@pytest.mark.parametrize("steps_by_rate", [
    {0.4: _steps(0.4), 0.1: _steps(0.1)},        # right: follows the rate
    {0.4: _steps(0.8), 0.1: _steps(0.2)},        # twice the rate: a factor, not a fixed rate
    {0.4: _steps(-0.4), 0.1: _steps(-0.1)},      # sign error
], ids=["follows", "doubled", "sign"])
def test_a_step_that_follows_the_rate_given_is_not_called_fixed(steps_by_rate):
    assert fixed_rate(steps_by_rate) is None


def test_a_fixed_rate_equal_to_one_given_is_still_fixed():
    """Hard-coded 0.1 is right while the notebook's rate is 0.1, and wrong at any other."""
    assert fixed_rate({0.1: _steps(0.1, 1), 0.025: _steps(0.1, 2)}) == pytest.approx(0.1)


def test_a_step_that_is_not_one_rate_times_the_gradient_has_no_rate():
    steps = _steps(0.1)
    steps[1] = (-steps[1][0], steps[1][1])  # biases stepped the wrong way
    assert implied_rate(steps) is None


def test_a_step_of_the_gradient_itself_is_told_to_multiply_by_the_rate():
    rate = fixed_rate({0.37: _steps(1.0, 1), 0.0925: _steps(1.0, 2)})
    text = fixed_rate_message(rate, [0.37, 0.0925], function="update", source="`self.lr`")
    assert "by the gradient itself" in text and "multiply the gradient" in text


def test_an_update_that_ignores_its_rate_parameter_is_told_so():
    text = fixed_rate_message(0.1, [0.025, 0.0125], function="update", takes_rate=True,
                              source="its `learning_rate` parameter")
    assert "ignores its `learning_rate` parameter" in text and "written into" not in text


def test_fixed_rate_needs_two_rates():
    with pytest.raises(ValueError):
        fixed_rate({0.1: _steps(0.1)})


# --- Hypothesis' notes for test authors are not shown to students ---------------------------

def test_explain_phase_notes_are_dropped_and_the_example_kept():
    note = ("Falsifying example: test_softmax(\n    student=...,\n"
            "    x=array([[0., 1.]]),  # or any other generated value\n)\n"
            "# The test always failed when commented parts were varied together.")
    shown = _example_block(note)
    assert "x=array([[0., 1.]])" in shown
    assert "The test always failed" not in shown and "any other generated value" not in shown
    assert "student=" not in shown
