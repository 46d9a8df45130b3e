"""Checks used by grading tests; each raises GradingFailure with student-facing Markdown."""

from grader.checks.arrays import as_array, assert_allclose, assert_scalar_close
from grader.checks.gradients import central_difference, gradient_mismatch, sample_indices
from grader.checks.stats import (
    check_normal,
    check_uniform,
    ks_pvalue,
    ks_statistic,
    normal_cdf,
    uniform_cdf,
)

__all__ = [
    "as_array",
    "assert_allclose",
    "assert_scalar_close",
    "central_difference",
    "check_normal",
    "check_uniform",
    "gradient_mismatch",
    "ks_pvalue",
    "ks_statistic",
    "normal_cdf",
    "sample_indices",
    "uniform_cdf",
]
