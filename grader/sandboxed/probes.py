"""Functions with a known gradient, to stand in for a student's function inside the worker.

To judge an ``update`` that differentiates the student's ``loss`` (under ``jax.grad`` and
``jit``, where a call back to the grader cannot run), the grader puts a *linear form* in
place of ``loss``: ``f(params, ...) = sum over the leaves of params of sum(leaf * c)``, with
coefficients ``c`` it chose. Its gradient with respect to ``params`` is exactly ``c``, so a
right update rule moves every parameter by ``-learning_rate * c``, whatever the student's own
``loss`` and ``predict`` do. The form is plain arithmetic on the arrays it is given (numpy
arrays, or JAX's tracers under ``grad`` and ``jit``): no grader code or data of the reference
is needed, and nothing of either is in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["linear_form"]


def linear_form(coefficients: Any) -> Callable[..., Any]:
    """``f(x, *rest)``: the sum of ``leaf * coefficient`` over the leaves of ``x`` (lists and
    tuples, in order), which must match the coefficients' structure."""
    expected = _leaves(coefficients)

    def linear_loss(x: Any, *_args: Any, **_kwargs: Any) -> Any:
        leaves = _leaves(x)
        if len(leaves) != len(expected):
            raise ValueError(f"the grader's stand-in expected {len(expected)} arrays in its "
                             f"first argument, got {len(leaves)}")
        total = 0.0
        for leaf, coefficient in zip(leaves, expected, strict=True):
            total = total + (leaf * coefficient).sum()
        return total

    return linear_loss


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
