"""Building blocks for numerical gradient checks of student backward passes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["central_difference", "gradient_mismatch", "sample_indices"]


def central_difference(
    f: Callable[[], Any], array: np.ndarray, index: tuple[int, ...], eps: float
) -> float:
    """Estimate d f / d array[index] by perturbing that entry in place by ±eps.

    ``f`` reads ``array`` through a closure. The original value is restored bit for bit even
    if ``f`` raises, so one bad evaluation cannot corrupt later checks. The quotient uses the
    step actually representable in ``array.dtype`` (for float64 this is ``2 * eps`` up to
    rounding), which keeps float32 checks accurate.
    """
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"can only perturb floating-point arrays, not {array.dtype}")
    if eps <= 0:
        raise ValueError("eps must be positive")
    index = tuple(int(i) for i in index)
    if len(index) != array.ndim:
        raise IndexError(f"index {index} does not address one entry of shape {array.shape}")
    original = array[index].copy()
    try:
        array[index] = original + eps
        upper = array[index].copy()
        f_plus = _as_float(f())
        array[index] = original - eps
        lower = array[index].copy()
        f_minus = _as_float(f())
    finally:
        array[index] = original
    step = float(upper) - float(lower)
    if step == 0:
        raise ValueError(f"eps={eps} is too small to change a {array.dtype} value of {original}")
    return (f_plus - f_minus) / step


def sample_indices(shape: Sequence[int], k: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Pick ``k`` distinct entries to check (all of them when there are at most ``k``).

    Sorted in C order, and fully determined by the generator's state, so reruns check the
    same entries.
    """
    if k < 0:
        raise ValueError("k must be non-negative")
    shape = tuple(int(d) for d in shape)
    n = math.prod(shape)
    if k == 0:
        return []
    if n <= k:
        return [tuple(int(i) for i in idx) for idx in np.ndindex(*shape)]
    flat = np.sort(rng.choice(n, size=k, replace=False))
    return [tuple(int(i) for i in idx) for idx in zip(*np.unravel_index(flat, shape), strict=True)]


def gradient_mismatch(numeric: float, analytic: float, *, rtol: float, atol: float) -> bool:
    """True when the two estimates disagree beyond ``atol + rtol * max(|numeric|, |analytic|)``.

    The relative term is symmetric because neither estimate is exact: finite differences
    carry truncation and rounding error. A NaN or inf on either side is always a mismatch.
    """
    numeric, analytic = float(numeric), float(analytic)
    if not (math.isfinite(numeric) and math.isfinite(analytic)):
        return True
    return abs(numeric - analytic) > atol + rtol * max(abs(numeric), abs(analytic))


def _as_float(value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"f must return a single number, got shape {arr.shape}")
    return float(arr.reshape(()))
