"""Compare student arrays and scalars with reference values, explaining any difference.

Closeness follows ``np.isclose``: ``|actual - expected| <= atol + rtol * |expected|``. On a
mismatch the message says what differs, where, by how much, and, when the error follows a
recognisable pattern (a factor of the batch size, a flipped sign, a transpose, ...), what the
likely bug is. Pattern hints are deliberately conservative: they fire only when the pattern
explains nearly every entry to a tight tolerance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.feedback import describe_value, fail, format_number, show_array

__all__ = ["as_array", "assert_allclose", "assert_scalar_close", "pattern_hint", "without_hint"]

_NUMERIC_KINDS = "biufc"
_NONFINITE_HINT = (
    "NaN and inf usually come from `log(0)`, `0/0` or `exp` of a large number; "
    "for softmax or log-sum-exp, subtract the maximum before exponentiating."
)


def as_array(value: Any, *, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Turn a student's return value into a numeric array, or fail saying why it is unusable.

    ``shape`` only improves the wording of the message; it is not checked here.
    """
    wanted = f"an array of shape {tuple(shape)}" if shape is not None else "an array of numbers"
    return _to_numeric(value, name=name, wanted=wanted)


def assert_allclose(
    actual: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    context: str = "",
    factors: Mapping[str, float] | None = None,
    expected_name: str = "the reference",
) -> None:
    """Fail unless ``actual`` has the expected shape and is close to ``expected`` everywhere.

    ``factors`` names sizes a value is commonly off by, e.g. ``{"the batch size": 32}``;
    ``expected_name`` says what ``expected`` is (a property check compares with the
    student's own output, not the reference).
    """
    exp = _reference(expected)
    act = as_array(actual, name=name, shape=exp.shape)
    header = _header(name, context, expected_name)
    if act.shape != exp.shape:
        fail(_shape_message(header, act, exp, rtol=rtol, atol=atol))
    a, e = _promote(act, exp)
    lines = _difference_lines(a, e, rtol=rtol, atol=atol)
    if not lines:
        return
    parts = [header, "", *lines]
    if np.isfinite(a).all() and np.isfinite(e).all():
        hint = _pattern_hint(a, e, rtol=rtol, atol=atol, factors=factors)
        if hint:
            parts += ["", f"**Hint:** {hint}"]
    parts += ["", f"- Got: {show_array(act)}", f"- Expected: {show_array(exp)}"]
    fail("\n".join(parts))


def assert_scalar_close(
    actual: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    context: str = "",
    factors: Mapping[str, float] | None = None,
    expected_name: str = "the reference",
) -> None:
    """Fail unless ``actual`` is a single number close to ``expected``.

    0-d and one-element arrays are accepted; larger arrays fail with a hint when a reduction
    (mean or sum) of them would have been right.
    """
    exp = _reference(expected)
    if exp.size != 1:
        raise ValueError(f"reference for {name!r} is not a single number: shape {exp.shape}")
    act = _to_numeric(actual, name=name, wanted="a single number")
    header = _header(name, context, expected_name)
    if act.size != 1:
        fail(_not_scalar_message(header, name, act, exp, rtol=rtol, atol=atol, factors=factors))
    a, e = _promote(act.reshape(()), exp.reshape(()))
    if bool(np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)):
        return
    got, want = _distinct_pair(a[()], e[()])
    parts = [header, "", f"- Expected `{want}`, got `{got}`{_ratio_text(a[()], e[()])}."]
    if np.isfinite(e) and not np.isfinite(a):
        parts += ["", f"**Hint:** {_NONFINITE_HINT}"]
        fail("\n".join(parts))
    err = abs(a[()] - e[()])
    rel = f"; relative error `{format_number(err / abs(e[()]))}`" if e[()] != 0 else ""
    parts.append(
        f"- Absolute error `{format_number(err)}`{rel} (allowed: {_tolerance_text(rtol, atol)})."
    )
    if np.isfinite(e):
        hint = _pattern_hint(a.reshape(1), e.reshape(1), rtol=rtol, atol=atol, factors=factors,
                             scalar=True)
        if hint:
            parts += ["", f"**Hint:** {hint}"]
    fail("\n".join(parts))


# --- conversion -------------------------------------------------------------------------


def _to_numeric(value: Any, *, name: str, wanted: str) -> np.ndarray:
    """Shared conversion so arrays and scalars refuse bad values with the same wording."""
    if value is None:
        fail(f"`{name}` returned None; expected {wanted}. Did you forget a `return`?")
    if isinstance(value, (str, bytes)):
        fail(f"`{name}` returned a string ({describe_value(value)}); expected {wanted}.")
    if isinstance(value, (np.ndarray, np.generic, bool, int, float, complex)):
        arr = np.asarray(value)
    elif isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            fail(
                f"`{name}` returned a nested {type(value).__name__} whose rows have different "
                f"lengths, so it is not a rectangular array; expected {wanted}."
            )
    else:
        fail(f"`{name}` returned a {describe_value(value)}; expected {wanted}.")
    if arr.dtype.kind not in _NUMERIC_KINDS:
        what = "strings" if arr.dtype.kind in "USV" else f"values of dtype {arr.dtype}"
        fail(
            f"`{name}` returned {what} ({describe_value(value)}); expected {wanted}. "
            "Mixed types, `None` entries or ragged lists give such arrays."
        )
    return arr


def _reference(expected: Any) -> np.ndarray:
    """The trusted reference must be numeric; anything else is a bug in the grading test."""
    exp = np.asarray(expected)
    if exp.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"reference value has non-numeric dtype {exp.dtype}")
    return exp


def _promote(act: np.ndarray, exp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compare in float64 (complex128 if needed) so int/bool/float32 inputs behave alike."""
    dtype = np.promote_types(np.result_type(act.dtype, exp.dtype), np.float64)
    return act.astype(dtype), exp.astype(dtype)


# --- message parts ----------------------------------------------------------------------


def _header(name: str, context: str, expected_name: str = "the reference") -> str:
    head = f"**`{name}` does not match {expected_name}**"
    return f"{head} ({context})" if context else head


def _tolerance_text(rtol: float, atol: float) -> str:
    return f"|actual − expected| ≤ {atol:g} + {rtol:g}·|expected|"


def _distinct_pair(got: Any, want: Any) -> tuple[str, str]:
    """Format two numbers with just enough digits that different values look different."""
    for digits in (4, 6, 8, 10, 12, 17):
        a, b = format_number(got, digits), format_number(want, digits)
        if a != b or got == want:
            return a, b
    return a, b


def _ratio_text(got: Any, want: Any) -> str:
    if np.iscomplexobj(got) or want == 0 or not (np.isfinite(got) and np.isfinite(want)):
        return ""
    ratio = got / want
    digits = 8 if abs(ratio - 1) < 1e-3 else 4
    return f" (ratio got/expected = {format_number(ratio, digits)})"


def _index_text(index: tuple[int, ...]) -> str:
    return str(tuple(int(i) for i in index))


def _shape_message(
    header: str, act: np.ndarray, exp: np.ndarray, *, rtol: float, atol: float
) -> str:
    lines = [header, "", f"- Wrong shape: got `{act.shape}`, expected `{exp.shape}`."]
    lines += [f"- {hint}" for hint in _shape_hints(act, exp, rtol=rtol, atol=atol)]
    lines += [f"- Got: {show_array(act)}", f"- Expected: {show_array(exp)}"]
    return "\n".join(lines)


def _shape_hints(act: np.ndarray, exp: np.ndarray, *, rtol: float, atol: float) -> list[str]:
    """Explain the common ways a result ends up with the wrong shape."""

    def close(candidate: np.ndarray) -> bool:
        a, e = _promote(candidate, exp)
        return bool(np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True))

    if act.ndim == 0 and exp.size > 1:
        return [
            "You returned a single number: did you reduce (`sum`/`mean`) over all axes "
            "instead of along one axis?"
        ]
    if act.ndim >= 2 and act.shape == exp.shape[::-1]:
        if close(act.T):
            return ["It looks transposed: your values match the expected ones after `.T`."]
        if close(act.reshape(exp.shape)):
            return [
                f"The values match after `.reshape({exp.shape})`: same numbers in a different "
                "layout (note that `.reshape` is not a transpose)."
            ]
        return ["Your shape is the expected one with the axes reversed (transposed?)."]
    hints: list[str] = []
    if [d for d in act.shape if d != 1] == [d for d in exp.shape if d != 1]:
        if act.ndim > exp.ndim:
            hints.append(
                "Your result has an extra axis of length 1 (from `keepdims=True`, `[None]`, "
                "or a `reshape`?). Shapes must match exactly."
            )
        elif act.ndim < exp.ndim:
            hints.append(
                "Your result is missing an axis of length 1 (the reference keeps it, e.g. with "
                "`keepdims=True`). Shapes must match exactly."
            )
        else:
            hints.append("The axes of length 1 are in different places (row vs column?).")
        if close(act.reshape(exp.shape)):
            hints.append(
                f"The values themselves are right: they match after `.reshape({exp.shape})`."
            )
    elif act.size == exp.size and exp.size > 0 and close(act.reshape(exp.shape)):
        hints.append(
            f"The values match after `.reshape({exp.shape})`: same numbers in a different layout."
        )
    return hints


def _difference_lines(a: np.ndarray, e: np.ndarray, *, rtol: float, atol: float) -> list[str]:
    """Bullet points describing where and how much ``a`` differs; empty when close."""
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return []
    lines: list[str] = []
    nonfinite = np.isfinite(e) & ~np.isfinite(a)
    if nonfinite.any():
        n_nan = int(np.isnan(a[nonfinite]).sum())
        n_inf = int(nonfinite.sum()) - n_nan
        counts = " and ".join(f"{n} {label}" for n, label in ((n_nan, "NaN"), (n_inf, "inf")) if n)
        idx = tuple(np.argwhere(nonfinite)[0])
        lines.append(
            f"- Your result contains {counts} value(s) where finite numbers were expected; "
            f"first at index `{_index_text(idx)}` (got `{format_number(a[idx])}`, expected "
            f"`{format_number(e[idx])}`). {_NONFINITE_HINT}"
        )
    bad = ~close
    n_bad, total = int(bad.sum()), bad.size
    lines.append(f"- {n_bad} of {total} entries differ (allowed: {_tolerance_text(rtol, atol)}).")
    positions = [tuple(p) for p in np.argwhere(bad)[:5]]
    idx = positions[0]
    got, want = _distinct_pair(a[idx], e[idx])
    lines.append(
        f"- First mismatch at index `{_index_text(idx)}`: expected `{want}`, got `{got}`"
        f"{_ratio_text(a[idx], e[idx])}."
    )
    if 1 < n_bad <= 5:
        lines.append(
            "- Mismatches at indices " + ", ".join(f"`{_index_text(p)}`" for p in positions) + "."
        )
    both = np.isfinite(a) & np.isfinite(e)
    if (both & bad).any():
        err = np.abs(a - e)[both]
        lines.append(f"- Max absolute error: `{format_number(err.max())}`.")
        ref = np.abs(e[both])
        if (ref > 0).any():
            rel = (err[ref > 0] / ref[ref > 0]).max()
            lines.append(f"- Max relative error: `{format_number(rel)}`.")
    return lines


def _not_scalar_message(
    header: str,
    name: str,
    act: np.ndarray,
    exp: np.ndarray,
    *,
    rtol: float,
    atol: float,
    factors: Mapping[str, float] | None,
) -> str:
    what = "an empty array" if act.size == 0 else f"an array of shape {act.shape}"
    lines = [header, "", f"- `{name}` should return a single number, got {what}."]
    if act.size:
        a, e = _promote(act, exp.reshape(()))
        for label, value in (("mean", a.mean()), ("sum", a.sum())):
            if np.isclose(value, e, rtol=rtol, atol=atol):
                lines.append(
                    f"- The {label} of your array matches the expected value: reduce it with "
                    f"`.{label}()` before returning."
                )
                break
        for label, size in (factors or {}).items():
            if act.ndim >= 1 and size in act.shape:
                lines.append(f"- It has one entry per item of {label} ({format_number(size)}).")
                break
        lines.append(f"- Got: {show_array(act)}")
    lines.append(f"- Expected: `{format_number(exp.reshape(())[()])}`")
    return "\n".join(lines)


# --- pattern hints ----------------------------------------------------------------------


_HINT_PARAGRAPH = re.compile(r"\*\*Hint:\*\*[^\n]*\n\n?")


def without_hint(message: str) -> str:
    """A failure message of these checks without its **Hint:** paragraph, for a caller that
    found the real cause (a fixed learning rate is no "constant factor")."""
    return _HINT_PARAGRAPH.sub("", message)


def pattern_hint(actual: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-8,
                 factors: Mapping[str, float] | None = None) -> str | None:
    """The hint ``assert_allclose`` would give for these arrays (transposed, sign flipped,
    off by a named size, normalised over the wrong axis...), or None: for checks that judge
    entry by entry but can name the pattern of the whole array."""
    a, e = _promote(np.asarray(actual), np.asarray(expected))
    if a.shape != e.shape or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return None
    return _pattern_hint(a, e, rtol=rtol, atol=atol, factors=factors)


def _pattern_hint(
    a: np.ndarray,
    e: np.ndarray,
    *,
    rtol: float,
    atol: float,
    factors: Mapping[str, float] | None,
    scalar: bool = False,
) -> str | None:
    """Name the transformation of ``e`` that explains ``a``, if one clearly does.

    Both arrays are finite and of equal shape. The tolerance is ten times the check's own
    (at least 1e-6 relative), so hints survive harmless rounding but not coincidences.
    """
    if np.iscomplexobj(a) or np.iscomplexobj(e) or e.size == 0:
        return None
    scale = float(np.abs(e).max())
    if scale <= atol:
        return None
    tol = max(10.0 * rtol, 1e-6)

    def explains(target: np.ndarray, everywhere: bool = False) -> bool:
        slack = 10.0 * atol + tol * np.abs(target) + 1e-3 * tol * float(np.abs(target).max())
        ok = np.abs(a - target) <= slack
        if everywhere or ok.size < 100:
            return bool(ok.all())
        return float(ok.mean()) >= 0.99

    square = a.ndim == 2 and a.shape[0] == a.shape[1] > 1
    # a transposed square result is also "normalised along the other axis": transposed first
    axis_hint = None if square and explains(e.T) else _normalised_axis_hint(a, e)
    if axis_hint:
        return axis_hint
    if not a.any():
        return (
            "Every entry of your result is 0: did you return an array before filling it in, "
            "or return the wrong variable?"
        )
    if explains(e, everywhere=True):
        return (
            "Your values are close to the expected ones, just not within the tolerance: "
            "float32 instead of float64, or a numerically less stable formula?"
        )
    if square and explains(e.T) and not explains(e):  # symmetric e: no evidence of a transpose
        return (
            "Your values match the expected ones transposed: check the order of the operands "
            "in your matrix products (e.g. `X.T @ dY` vs `dY.T @ X`) or a missing `.T`."
        )
    if a.ndim == 2 and not square and min(a.shape) > 1 and explains(e.T.reshape(a.shape)):
        return (
            "Your values are the expected ones transposed, then reshaped to this shape: "
            "`.reshape` keeps the order of the entries, it does not transpose. Use `.T` (or "
            "swap the operands of the matrix product) instead of `.reshape`."
        )
    significant = np.abs(e) > max(10.0 * atol, 1e-3 * scale)
    with np.errstate(all="ignore"):
        k = float(np.median(a[significant] / e[significant])) if significant.any() else 1.0
    if math.isfinite(k) and k != 0 and abs(k - 1) > tol and explains(k * e):
        hint = _factor_hint(k, tol, factors, int(significant.sum()), scalar)
        if hint:
            return hint
    if e.size >= 2:
        c = float(np.median(a - e))
        if abs(c) > 10.0 * atol + tol * scale and explains(e + c):
            sign = "+" if c > 0 else "−"
            return (
                f"Every entry is off by the same constant: got ≈ expected {sign} "
                f"{format_number(abs(c))}. A missing or extra additive term (a bias?)"
            )
    return None


_NORMALISED = {"sum to 1": "probabilities", "have a log-sum-exp of 0": "log-probabilities"}


def _normalised_axes(x: np.ndarray, kind: str, *, single: bool) -> list[int]:
    """The axes along which ``x`` is normalised in ``kind``'s sense (a key of _NORMALISED);
    an axis of length 1 counts only when ``single`` (a softmax over one example's axis)."""
    def totals(axis: int) -> np.ndarray:
        if kind == "sum to 1":
            return x.sum(axis=axis) - 1.0
        top = x.max(axis=axis, keepdims=True)
        return np.log(np.exp(x - top).sum(axis=axis)) + top.squeeze(axis=axis)

    sign_ok = (x >= 0).all() if kind == "sum to 1" else (x <= 0).all()
    if not sign_ok:
        return []
    with np.errstate(all="ignore"):
        return [i for i in range(x.ndim) if (single or x.shape[i] > 1)
                and np.allclose(totals(i), 0.0, atol=1e-6 * x.shape[i])]


def _normalised_axis_hint(a: np.ndarray, e: np.ndarray) -> str | None:
    """Probabilities (or log-probabilities) normalised over the wrong axis: the expected
    values are normalised along one axis, the student's along another one only."""
    if a.ndim < 2:
        return None
    for kind in _NORMALISED:
        wanted = _normalised_axes(e, kind, single=False)
        got = _normalised_axes(a, kind, single=True) if wanted else []
        if got and not set(got) & set(wanted):
            break
    else:
        return None

    def where(axis: int) -> str:
        return f"axis {axis} ({_AXIS_WORDS.get((a.ndim, axis), 'that axis')})"
    last = wanted[0] == e.ndim - 1
    how = "With one example per row, reduce" if last and e.ndim == 2 else "Reduce"
    return (f"Your values {kind} along {where(got[0])}, the expected ones along "
            f"{where(wanted[0])}: normalised over the wrong axis? {how} over "
            f"`axis={wanted[0]}` with `keepdims=True`" + (" (or `axis=-1`)." if last else "."))


_AXIS_WORDS = {(2, 0): "down each column", (2, 1): "across each row"}


def _factor_hint(
    k: float, tol: float, factors: Mapping[str, float] | None, n_significant: int,
    scalar: bool = False,
) -> str | None:
    """Describe ``actual ≈ k * expected``: a sign flip, a named size, or a clean constant."""
    if abs(k + 1) <= tol:
        return (
            "The sign is flipped: every value has the opposite sign. Check the order of a "
            "subtraction (e.g. `y - p` vs `p - y`) or a missing minus sign."
        )
    sign = "the sign is flipped and " if k < 0 else ""
    m = abs(k)
    for label, size in (factors or {}).items():
        size = float(size)
        if size <= 0 or size == 1:
            continue
        if abs(m - size) <= tol * size:
            return _capital(
                f"{sign}your result is off by exactly {label} ({format_number(size)}): "
                "sum instead of mean?"
            )
        if abs(m * size - 1) <= tol:
            return _capital(
                f"{sign}your result is too small by exactly {label} ({format_number(size)}): "
                f"divided by {label} once too often?"
            )
    # One entry is weak evidence: a real scalar (a loss) with a clean ratio like 2 still
    # earns the hint, an array that happens to hold one entry (a shrunk example) does not.
    if n_significant < 2 and not (scalar and _is_clean(m, tol)):
        return None
    digits = 4 if abs(m - 1) > 1e-2 else 7  # 1.000012, not 1.000
    return _capital(
        f"{sign}your result is off by a constant factor ≈ {m:#.{digits}g} "
        f"(got ≈ {k:#.{digits}g} × expected): a missing or extra constant factor?"
    )


def _is_clean(m: float, tol: float) -> bool:
    """A factor like 2, 3 or 1/2 is evidence of a bug even when seen on a single number."""
    for v in (m, 1.0 / m):
        r = round(v)
        if 2 <= r <= 1000 and abs(v - r) <= tol * v:
            return True
    return False


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
