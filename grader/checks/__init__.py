"""Checks used by grading tests; each raises GradingFailure with student-facing Markdown."""

from grader.checks.arrays import (
    as_array,
    assert_allclose,
    assert_scalar_close,
    pattern_hint,
    without_hint,
)
from grader.checks.charged_once import judge_apart, plain_functions, twin_functions
from grader.checks.gradients import central_difference, gradient_mismatch, sample_indices
from grader.checks.rates import fixed_rate, fixed_rate_message, implied_rate
from grader.checks.stats import (
    check_normal,
    check_uniform,
    ks_pvalue,
    ks_statistic,
    normal_cdf,
    uniform_cdf,
)
from grader.checks.substance import Substance, assert_consistent, require_substance

__all__ = [
    "Substance",
    "as_array",
    "assert_allclose",
    "assert_consistent",
    "assert_scalar_close",
    "central_difference",
    "check_normal",
    "check_uniform",
    "fixed_rate",
    "fixed_rate_message",
    "gradient_mismatch",
    "implied_rate",
    "judge_apart",
    "ks_pvalue",
    "ks_statistic",
    "normal_cdf",
    "pattern_hint",
    "plain_functions",
    "require_substance",
    "sample_indices",
    "twin_functions",
    "uniform_cdf",
    "without_hint",
]
