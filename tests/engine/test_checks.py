"""Tests for grader.feedback and grader.checks: correct values pass, each bug names itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.checks import (
    as_array,
    assert_allclose,
    assert_scalar_close,
    central_difference,
    check_normal,
    check_uniform,
    gradient_mismatch,
    ks_pvalue,
    ks_statistic,
    normal_cdf,
    sample_indices,
    uniform_cdf,
)
from grader.feedback import GradingFailure, describe_value, expect, fail, show_array

BATCH = {"the batch size": 32, "the number of classes": 10}
GLOROT = "d = sqrt(6/(fan_in+fan_out))"


def failure(func, *args, **kwargs) -> str:
    """Run a check that must fail and return its student-facing message."""
    with pytest.raises(GradingFailure) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def ref() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(32, 10))


# --- feedback ---------------------------------------------------------------------------


def test_grading_failure_is_an_assertion_error_whose_str_is_the_message():
    exc = GradingFailure("**bold** text")
    assert isinstance(exc, AssertionError)
    assert exc.message == "**bold** text"
    assert str(exc) == "**bold** text"


def test_fail_and_expect():
    with pytest.raises(GradingFailure, match="nope"):
        fail("nope")
    expect(True, "unused")
    with pytest.raises(GradingFailure, match="wrong"):
        expect(False, "wrong")


def test_show_array_is_compact_with_shape_dtype_and_ellipsis():
    text = show_array(np.arange(100.0).reshape(10, 10) / 3)
    assert "shape (10, 10)" in text and "float64" in text
    assert "…" in text
    assert "0.3333" in text and "0.33333" not in text  # 4 significant digits
    assert "33" in text  # last value shown
    assert text.count(",") < 15


def test_show_array_small_scalar_and_empty():
    assert "…" not in show_array(np.array([1, 2, 3]))
    assert "`[1, 2, 3]`" in show_array(np.array([1, 2, 3]))
    assert "shape ()" in show_array(np.float64(2.5)) and "2.5" in show_array(np.float64(2.5))
    assert "`[]`" in show_array(np.zeros((0, 3)))
    assert "nan" in show_array(np.array([np.nan, 1.0]))


def test_describe_value():
    assert describe_value(None) == "None"
    assert "shape (4, 10)" in describe_value(np.zeros((4, 10)))
    assert "float32 scalar" in describe_value(np.float32(1.5))
    assert "list of length 3" in describe_value([1, 2, 3])
    long = describe_value("x" * 1000)
    assert "str of length 1000" in long and len(long) < 120
    assert describe_value({"a": 1}).startswith("dict")


# --- as_array ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (np.ones((2, 3)), (2, 3)),
        (np.float32(1.5), ()),
        (3, ()),
        (2.5, ()),
        (True, ()),
        ([[1, 2], [3, 4]], (2, 2)),
        ((1.0, 2.0), (2,)),
    ],
)
def test_as_array_accepts_numbers(value, shape):
    assert as_array(value, name="f").shape == shape


def test_as_array_none_says_forgot_return():
    msg = failure(as_array, None, name="softmax", shape=(4, 10))
    assert msg == (
        "`softmax` returned None; expected an array of shape (4, 10). Did you forget a `return`?"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.5", "returned a string"),
        ([1.0, None], "dtype object"),
        (["a", "b"], "strings"),
        ([[1, 2], [3]], "different lengths"),
        ({"x": 1}, "dict"),
        (np.array([1, "a"], dtype=object), "dtype object"),
    ],
)
def test_as_array_refuses_non_numeric(value, text):
    assert text in failure(as_array, value, name="f")


# --- assert_allclose: passing -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=3),
        elements=st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_identical_finite_arrays_always_pass(x):
    assert_allclose(x.copy(), x, name="f")


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2), elements=st.floats()))
def test_identical_arrays_pass_even_with_nan_and_inf(x):
    assert_allclose(x.copy(), x, name="f")


def test_close_values_of_other_dtypes_pass(ref):
    assert_allclose(ref * (1 + 1e-8), ref, name="f")
    assert_allclose(ref.astype(np.float32), ref, name="f", rtol=1e-6, atol=1e-6)
    assert_allclose(ref.tolist(), ref, name="f")
    assert_allclose(np.array([1, 0, 1]), np.array([1.0, 0.0, 1.0]), name="f")
    assert_allclose(np.array([True, False]), np.array([1.0, 0.0]), name="f")


# --- assert_allclose: failing -----------------------------------------------------------


def test_batch_size_factor_hint(ref):
    msg = failure(assert_allclose, ref * 32, ref, name="grad_W", factors=BATCH)
    assert "off by exactly the batch size (32): sum instead of mean?" in msg


def test_inverse_batch_size_factor_hint(ref):
    msg = failure(assert_allclose, ref / 32, ref, name="grad_W", factors=BATCH)
    assert "divided by the batch size once too often" in msg


def test_named_factor_other_than_first(ref):
    msg = failure(assert_allclose, ref * 10, ref, name="grad_W", factors=BATCH)
    assert "the number of classes (10)" in msg


def test_sign_flip_hint(ref):
    assert "sign is flipped" in failure(assert_allclose, -ref, ref, name="grad_b")


def test_negative_named_factor(ref):
    msg = failure(assert_allclose, -32 * ref, ref, name="g", factors=BATCH)
    assert "The sign is flipped and your result is off by exactly the batch size" in msg


def test_clean_constant_factor_hint(ref):
    msg = failure(assert_allclose, 2 * ref, ref, name="g", factors=BATCH)
    assert "off by a constant factor ≈ 2.000" in msg


def test_constant_offset_hint(ref):
    assert "got ≈ expected + 0.5" in failure(assert_allclose, ref + 0.5, ref, name="logits")


def test_all_zeros_hint(ref):
    assert "Every entry of your result is 0" in failure(
        assert_allclose, np.zeros_like(ref), ref, name="h"
    )


def test_transposed_shape_hint(ref):
    msg = failure(assert_allclose, ref.T, ref, name="dW")
    assert "Wrong shape: got `(10, 32)`, expected `(32, 10)`" in msg
    assert "looks transposed" in msg and "`.T`" in msg


def test_transposed_square_values_hint():
    m = np.random.default_rng(1).normal(size=(6, 6))
    assert "match the expected ones transposed" in failure(assert_allclose, m.T, m, name="dW")


def test_extra_axis_is_a_mismatch_but_said_clearly(ref):
    msg = failure(assert_allclose, ref[0][None, :], ref[0], name="b")
    assert "got `(1, 10)`, expected `(10,)`" in msg
    assert "extra axis of length 1" in msg
    assert "they match after `.reshape((10,))`" in msg


def test_missing_axis(ref):
    msg = failure(assert_allclose, ref[:, 0], ref[:, :1], name="s")
    assert "missing an axis of length 1" in msg and "keepdims" in msg


def test_scalar_instead_of_array(ref):
    msg = failure(assert_allclose, ref.sum(), ref.sum(axis=1), name="row_sums")
    assert "single number" in msg and "along one axis" in msg


def test_reshaped_values(ref):
    assert "different layout" in failure(assert_allclose, ref.reshape(10, 32), ref, name="f")


def test_nan_and_inf_reported_with_count_and_first_location(ref):
    bad = ref.copy()
    bad[3, 4] = np.nan
    bad[5, 1] = np.nan
    bad[7, 7] = np.inf
    msg = failure(assert_allclose, bad, ref, name="softmax")
    assert "2 NaN and 1 inf" in msg
    assert "first at index `(3, 4)`" in msg
    assert "log(0)" in msg
    assert "3 of 320 entries differ" in msg


def test_expected_nan_requires_nan():
    exp = np.array([1.0, np.nan])
    assert_allclose(np.array([1.0, np.nan]), exp, name="f")
    assert "1 of 2 entries differ" in failure(assert_allclose, np.array([1.0, 2.0]), exp, name="f")


def test_mismatch_details(ref):
    bad = ref.copy()
    bad[2, 3] += 1.0
    bad[4, 0] -= 2.0
    msg = failure(assert_allclose, bad, ref, name="h", context="input: x of shape (32, 10)")
    assert msg.startswith("**`h` does not match the reference** (input: x of shape (32, 10))")
    assert "2 of 320 entries differ" in msg
    assert "First mismatch at index `(2, 3)`" in msg
    assert f"expected `{ref[2, 3]:.4g}`" in msg and f"got `{bad[2, 3]:.4g}`" in msg
    assert "ratio got/expected" in msg
    assert "Max absolute error: `2`" in msg
    assert "Max relative error" in msg
    assert "1e-08 + 1e-06·|expected|" in msg
    assert "**Hint:**" not in msg  # two stray entries are no pattern


def test_random_errors_give_no_hint(ref):
    noisy = ref + np.random.default_rng(5).normal(scale=0.1, size=ref.shape)
    assert "**Hint:**" not in failure(assert_allclose, noisy, ref, name="h", factors=BATCH)


def test_pattern_hint_needs_nearly_all_entries(ref):
    mostly = ref * 32
    mostly[:3] = ref[:3]  # 30 of 320 entries follow no pattern
    assert "batch size" not in failure(assert_allclose, mostly, ref, name="g", factors=BATCH)


def test_symmetric_reference_with_one_wrong_entry_is_not_called_transposed():
    m = np.random.default_rng(1).normal(size=(12, 12))
    m = m + m.T
    bad = m.copy()
    bad[3, 5] += 1.0
    msg = failure(assert_allclose, bad, m, name="H")
    assert "transposed" not in msg and "1 of 144 entries differ" in msg


def test_precision_hint(ref):
    msg = failure(assert_allclose, ref * (1 + 3e-6), ref, name="h")
    assert "close to the expected ones" in msg


def test_digits_enough_to_see_the_difference():
    msg = failure(assert_allclose, np.array([1.0001]), np.array([1.0]), name="f")
    assert "expected `1`, got `1.0001`" in msg or "got `1.0001`" in msg


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(max_dims=2, max_side=8),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    ),
)
def test_batch_factor_hint_property(x):
    if np.abs(x).max() < 1e-2:
        x = x + 1.0
    assert "off by exactly the batch size" in failure(
        assert_allclose, x * 32, x, name="g", factors=BATCH
    )


def test_bad_reference_is_a_grader_bug():
    with pytest.raises(TypeError):
        assert_allclose([1.0], np.array(["a"]), name="f")


# --- assert_scalar_close ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        2.302585,
        np.float32(2.302585),
        np.array(2.302585),
        np.array([2.302585]),
        np.array([[2.302585]]),
        [2.302585],
    ],
)
def test_scalar_accepts_numbers_and_one_element_arrays(value):
    assert_scalar_close(value, 2.302585, name="loss", rtol=1e-6)


def test_scalar_refuses_array_and_suggests_mean():
    per_item = np.random.default_rng(2).uniform(1, 3, size=32)
    msg = failure(assert_scalar_close, per_item, per_item.mean(), name="loss", factors=BATCH)
    assert "`loss` should return a single number, got an array of shape (32,)" in msg
    assert "The mean of your array matches the expected value" in msg and ".mean()" in msg
    assert "one entry per item of the batch size (32)" in msg


def test_scalar_refuses_array_and_suggests_sum():
    per_item = np.random.default_rng(2).uniform(1, 3, size=(4, 8))
    msg = failure(assert_scalar_close, per_item, per_item.sum(), name="loss")
    assert "got an array of shape (4, 8)" in msg and ".sum()" in msg


def test_scalar_none():
    msg = failure(assert_scalar_close, None, 1.0, name="loss")
    assert msg == "`loss` returned None; expected a single number. Did you forget a `return`?"


def test_scalar_batch_factor_hint():
    msg = failure(assert_scalar_close, 2.3 * 32, 2.3, name="loss", factors=BATCH)
    assert "Expected `2.3`, got `73.6`" in msg
    assert "off by exactly the batch size (32): sum instead of mean?" in msg


def test_scalar_sign_and_clean_factor_hints():
    assert "sign is flipped" in failure(assert_scalar_close, -2.3, 2.3, name="loss")
    assert "constant factor ≈ 2.000" in failure(assert_scalar_close, 4.6, 2.3, name="loss")
    assert "constant factor ≈ 0.5000" in failure(assert_scalar_close, 1.15, 2.3, name="loss")


def test_scalar_arbitrary_error_has_no_hint():
    msg = failure(assert_scalar_close, 2.3 * 1.2345, 2.3, name="loss", factors=BATCH)
    assert "**Hint:**" not in msg and "Absolute error" in msg


def test_scalar_nan():
    msg = failure(assert_scalar_close, float("nan"), 2.3, name="loss")
    assert "got `nan`" in msg and "log(0)" in msg


def test_scalar_context_in_header():
    msg = failure(assert_scalar_close, 1.0, 2.0, name="loss", context="batch of 4 examples")
    assert msg.startswith("**`loss` does not match the reference** (batch of 4 examples)")


# --- gradients --------------------------------------------------------------------------


def _quadratic(n: int = 5):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(n, n))
    b = rng.normal(size=n)
    x = rng.normal(size=n)
    return a, b, x, (lambda: 0.5 * x @ a @ x + b @ x), 0.5 * (a + a.T) @ x + b


def test_central_difference_matches_quadratic_gradient():
    _, _, x, f, grad = _quadratic()
    for i in range(x.size):
        assert central_difference(f, x, (i,), 1e-4) == pytest.approx(grad[i], rel=1e-7, abs=1e-9)


def test_central_difference_restores_exactly():
    _, _, x, f, _ = _quadratic()
    before = x.copy()
    for i in range(x.size):
        central_difference(f, x, (i,), 1e-3)
    assert x.tobytes() == before.tobytes()


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_central_difference_restores_even_when_f_raises(fail_on_call):
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    before = x.copy()
    calls = []

    def f():
        calls.append(x[1, 0])
        if len(calls) == fail_on_call:
            raise RuntimeError("student code crashed")
        return float(x.sum())

    with pytest.raises(RuntimeError):
        central_difference(f, x, (1, 0), 1e-5)
    assert x.tobytes() == before.tobytes()
    assert calls[0] != before[1, 0]  # the entry really was perturbed


def test_central_difference_float32_uses_true_step():
    x = np.array([1.7, -0.3], dtype=np.float32)
    g = central_difference(lambda: float(np.sum(x.astype(np.float64) ** 2)), x, (0,), 1e-3)
    assert g == pytest.approx(2 * 1.7, rel=1e-5)


def test_central_difference_accepts_one_element_result_and_rejects_bad_input():
    x = np.array([1.0, 2.0])
    assert central_difference(lambda: np.array([x[1] * 3]), x, (1,), 1e-5) == pytest.approx(3)
    with pytest.raises(TypeError):
        central_difference(lambda: 0.0, np.array([1, 2]), (0,), 1e-5)
    with pytest.raises(IndexError):
        central_difference(lambda: 0.0, np.zeros((2, 2)), (0,), 1e-5)
    with pytest.raises(ValueError):
        central_difference(lambda: x, x, (0,), 1e-5)


def test_sample_indices_small_array_returns_all_in_order():
    assert sample_indices((2, 3), 10, np.random.default_rng(0)) == list(np.ndindex(2, 3))
    assert sample_indices((), 3, np.random.default_rng(0)) == [()]
    assert sample_indices((4, 0), 3, np.random.default_rng(0)) == []
    assert sample_indices((5,), 0, np.random.default_rng(0)) == []


def test_sample_indices_deterministic():
    a = sample_indices((100, 50), 20, np.random.default_rng(7))
    b = sample_indices((100, 50), 20, np.random.default_rng(7))
    c = sample_indices((100, 50), 20, np.random.default_rng(8))
    assert a == b and a != c
    assert all(isinstance(i, int) for idx in a for i in idx)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=4), st.integers(0, 30), st.integers(0, 2**32 - 1))
def test_sample_indices_distinct_and_in_bounds(shape, k, seed):
    idx = sample_indices(shape, k, np.random.default_rng(seed))
    assert len(idx) == min(k, math.prod(shape))
    assert len(set(idx)) == len(idx)
    assert all(
        len(i) == len(shape) and all(0 <= j < d for j, d in zip(i, shape, strict=True)) for i in idx
    )


def test_gradient_mismatch():
    assert not gradient_mismatch(1.0, 1.0 + 1e-9, rtol=1e-6, atol=1e-8)
    assert gradient_mismatch(1.0, 1.1, rtol=1e-3, atol=1e-8)
    assert not gradient_mismatch(0.0, 5e-9, rtol=1e-3, atol=1e-8)
    assert gradient_mismatch(0.0, 2e-8, rtol=1e-3, atol=1e-8)
    assert gradient_mismatch(float("nan"), 1.0, rtol=1, atol=1)
    assert gradient_mismatch(1.0, float("inf"), rtol=1, atol=1)
    # symmetric: neither side is the reference
    assert gradient_mismatch(1.0, 1.5, rtol=0.4, atol=0) == gradient_mismatch(
        1.5, 1.0, rtol=0.4, atol=0
    )


# --- stats: KS machinery ----------------------------------------------------------------


def test_ks_statistic_known_values():
    assert ks_statistic([0.5], uniform_cdf(0, 1)) == pytest.approx(0.5)
    assert ks_statistic([0.25, 0.75], uniform_cdf(0, 1)) == pytest.approx(0.25)
    assert ks_statistic([0.9, 0.95, 0.99], uniform_cdf(0, 1)) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        ks_statistic([], uniform_cdf(0, 1))


def test_ks_statistic_matches_brute_force():
    x = np.random.default_rng(4).uniform(size=200)
    grid = np.sort(x)
    ecdf_right = np.searchsorted(grid, grid, side="right") / x.size
    ecdf_left = np.searchsorted(grid, grid, side="left") / x.size
    brute = max(np.abs(ecdf_right - grid).max(), np.abs(grid - ecdf_left).max())
    assert ks_statistic(x, uniform_cdf(0, 1)) == pytest.approx(brute)


def test_ks_pvalue_limits_and_monotone():
    assert ks_pvalue(0.0, 100) == 1.0
    assert ks_pvalue(1e-4, 100) == 1.0
    assert ks_pvalue(1.0, 10_000) == 0.0
    # classic critical value: sqrt(n) * D = 1.358 gives p = 0.05 for large n
    assert ks_pvalue(1.358 / math.sqrt(1e6), 10**6) == pytest.approx(0.05, abs=1e-3)
    ps = [ks_pvalue(d, 500) for d in np.linspace(0.0, 0.2, 200)]
    assert all(a >= b for a, b in zip(ps, ps[1:], strict=False))


def test_cdfs():
    assert normal_cdf(0, 1)(np.array([0.0]))[0] == pytest.approx(0.5)
    assert normal_cdf(1, 2)(np.array([1 + 2 * 1.959964]))[0] == pytest.approx(0.975, abs=1e-6)
    assert np.allclose(uniform_cdf(-1, 1)(np.array([-2, -1, 0, 0.5, 3])), [0, 0, 0.5, 0.75, 1])
    with pytest.raises(ValueError):
        uniform_cdf(1, 1)
    with pytest.raises(ValueError):
        normal_cdf(0, 0)


def test_ks_pvalue_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats", reason="scipy not installed; cross-check skipped")
    for n in (100, 1000, 10_000):
        for p in (0.9, 0.5, 0.2, 0.05, 0.01, 1e-3, 1e-4):
            d = float(stats.kstwo.isf(p, n))
            assert ks_pvalue(d, n) == pytest.approx(p, abs=1e-2)
            if p <= 0.05:  # the tail decides pass/fail, so it must be accurate relatively too
                assert ks_pvalue(d, n) == pytest.approx(p, rel=0.05)
    rng = np.random.default_rng(9)
    for x, cdf, ref in [
        (rng.uniform(-1, 1, 3000), uniform_cdf(-1, 1), stats.uniform(-1, 2).cdf),
        (rng.normal(0.5, 2, 3000), normal_cdf(0.5, 2), stats.norm(0.5, 2).cdf),
        (rng.normal(0, 1.05, 3000), normal_cdf(0, 1), stats.norm(0, 1).cdf),
    ]:
        res = stats.kstest(x, ref)
        d = ks_statistic(x, cdf)
        assert d == pytest.approx(res.statistic, rel=1e-9)
        assert ks_pvalue(d, x.size) == pytest.approx(res.pvalue, abs=1e-2)


# --- stats: checks ----------------------------------------------------------------------

FAN_IN, FAN_OUT = 100, 150
D = math.sqrt(6 / (FAN_IN + FAN_OUT))
HE = math.sqrt(2 / FAN_IN)
SHAPE = (FAN_IN, FAN_OUT)  # 15,000 samples


@pytest.mark.parametrize("seed", range(20))
def test_correct_uniform_passes_for_many_seeds(seed):
    rng = np.random.default_rng(seed)
    check_uniform(rng.uniform(-D, D, SHAPE), -D, D, name="W")
    check_uniform(rng.uniform(0, 1, 10_000).astype(np.float32), 0, 1, name="W")


@pytest.mark.parametrize("seed", range(20))
def test_correct_normal_passes_for_many_seeds(seed):
    rng = np.random.default_rng(seed)
    check_normal(rng.normal(0, HE, SHAPE), 0, HE, name="W")
    check_normal(rng.normal(1.0, 0.5, 10_000).astype(np.float32), 1.0, 0.5, name="W")


def test_small_correct_samples_pass():
    check_uniform(np.random.default_rng(0).uniform(-1, 1, 5), -1, 1, name="b")
    check_normal(np.random.default_rng(0).normal(0, 1, 5), 0, 1, name="b")


@pytest.mark.parametrize("seed", range(5))
def test_wrong_bound_fails_with_range_hint(seed):
    x = np.random.default_rng(seed).uniform(-D / 6, D / 6, SHAPE)
    msg = failure(check_uniform, x, -D, D, name="W1", formula=GLOROT)
    assert f"The range looks like ±{D / 6:.3g}" in msg
    assert f"instead of ±{D:.4g}" in msg
    assert f"check the bound `{GLOROT}`" in msg
    for row in ("| mean |", "| std |", "| min |", "| max |"):
        assert row in msg
    assert f"| std | {D / 6 / math.sqrt(3):.2g}" in msg or "| std |" in msg
    assert f"{D / math.sqrt(3):.4g}" in msg  # expected std d/sqrt(3)
    assert "Kolmogorov–Smirnov" in msg and "D = " in msg and "p < 1e-300" in msg


@pytest.mark.parametrize("seed", range(10))
def test_bound_off_by_ten_percent_fails_reliably(seed):
    x = np.random.default_rng(seed).uniform(-1.1 * D, 1.1 * D, SHAPE)
    failure(check_uniform, x, -D, D, name="W1")
    y = np.random.default_rng(seed).uniform(-0.9 * D, 0.9 * D, SHAPE)
    failure(check_uniform, y, -D, D, name="W1")


def test_uniform_scaled_by_001():
    x = np.random.default_rng(0).uniform(-D, D, SHAPE) * 0.01
    assert "scaled by 0.01?" in failure(check_uniform, x, -D, D, name="W1")


def test_uniform_forgot_sqrt():
    x = np.random.default_rng(0).uniform(-(D**2), D**2, SHAPE)
    assert "forget a `sqrt`" in failure(check_uniform, x, -D, D, name="W1")


def test_uniform_unshifted_rand():
    x = np.random.default_rng(0).uniform(0, D, SHAPE)
    assert "All values are ≥ 0" in failure(check_uniform, x, -D, D, name="W1")


@pytest.mark.parametrize("seed", range(5))
def test_normal_instead_of_uniform(seed):
    x = np.random.default_rng(seed).normal(0, D / math.sqrt(3), SHAPE)  # same mean and std
    msg = failure(check_uniform, x, -D, D, name="W1")
    assert "look normally distributed" in msg
    assert "lie outside" in msg


@pytest.mark.parametrize("seed", range(5))
def test_uniform_instead_of_normal(seed):
    x = np.random.default_rng(seed).uniform(-math.sqrt(3) * HE, math.sqrt(3) * HE, SHAPE)
    assert "look uniformly distributed" in failure(check_normal, x, 0, HE, name="W1")


def test_single_value_outside_bound():
    x = np.random.default_rng(0).uniform(-D, D, SHAPE)
    x[3, 4] = 1.5 * D
    msg = failure(check_uniform, x, -D, D, name="W1")
    assert "1 of 15000 values lies outside" in msg
    assert "range looks like" not in msg


def test_normal_wrong_scale_hints():
    rng = np.random.default_rng(0)
    msg = failure(
        check_normal,
        rng.normal(0, 0.01 * HE, SHAPE),
        0,
        HE,
        name="W1",
        formula="std = sqrt(2/fan_in)",
    )
    assert f"The std looks like {0.01 * HE:.2g}" in msg
    assert "check the std `std = sqrt(2/fan_in)`" in msg
    assert "scaled by 0.01?" in msg
    assert "forget a `sqrt`" in failure(check_normal, rng.normal(0, HE**2, SHAPE), 0, HE, name="W")
    assert "never multiplied by the std" in failure(
        check_normal, rng.standard_normal(SHAPE), 0, HE, name="W"
    )
    assert "factor of √2" in failure(
        check_normal, rng.normal(0, HE * math.sqrt(2), SHAPE), 0, HE, name="W"
    )


def test_normal_wrong_mean():
    x = np.random.default_rng(0).normal(0.5, 1.0, SHAPE)
    assert "centred at 0.5" in failure(check_normal, x, 0, 1, name="W")


@pytest.mark.parametrize("check", [check_uniform, check_normal])
def test_zeros_constant_nan_and_empty(check):
    assert "Every value is 0" in failure(check, np.zeros(SHAPE), 0, 1, name="W")
    assert "constant" in failure(check, np.full(SHAPE, 0.3), 0, 1, name="W")
    with_nan = np.random.default_rng(0).uniform(0, 1, 100)
    with_nan[7] = np.nan
    assert "NaN/inf" in failure(check, with_nan, 0, 1, name="W")
    assert "empty" in failure(check, np.zeros(0), 0, 1, name="W")
    assert "returned None" in failure(check, None, 0, 1, name="W")
