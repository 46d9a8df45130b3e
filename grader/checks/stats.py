"""Kolmogorov–Smirnov checks that initialised weights follow the intended distribution.

The test is scipy's (``scipy.stats.kstest``, with the exact distribution of the two-sided
statistic, ``scipy.stats.kstwo``); what is ours is the message: what the samples look like
instead, and the likely mistake.

False failures: for a correct initialisation the p-value is (close to) uniform on [0, 1], so a
check fails with probability about ``alpha`` — 1e-4 by default, i.e. about one spurious
failure per 10,000 checked tensors; pass a smaller ``alpha`` when grading very many tensors.
When the student's generator is seeded by the grader, a correct submission that passes once
passes on every rerun.

Power: with n = 10,000 samples and alpha = 1e-4 the test rejects when D > ~0.022, e.g. a
uniform bound off by 5%, a std off by 6%, or a normal in place of a uniform with the same mean
and std (D ≈ 0.05). Smaller tensors give proportionally less power (critical D ~ 2.2/sqrt(n)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from grader.checks.arrays import as_array
from grader.feedback import fail, format_number

__all__ = [
    "check_normal",
    "check_uniform",
    "ks_pvalue",
    "ks_statistic",
    "normal_cdf",
    "uniform_cdf",
]

Cdf = Callable[[np.ndarray], np.ndarray]

_MIN_FOR_HINTS = 100  # below this, sample statistics are too noisy to name a cause
_PLAUSIBLE = 1e-3  # p-value above which a fitted family counts as a plausible explanation
_SQRT3 = math.sqrt(3.0)


# --- KS machinery -----------------------------------------------------------------------


def ks_statistic(samples: Any, cdf: Cdf) -> float:
    """Two-sided KS distance sup |F_n(x) - F(x)| between the samples and ``cdf``."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("need at least one sample")
    if not np.isfinite(x).all():
        raise ValueError("samples must be finite")
    return float(stats.kstest(x, cdf).statistic)


def ks_pvalue(d: float, n: int) -> float:
    """P(D_n >= d) under the null hypothesis (the exact two-sided KS distribution)."""
    if n < 1:
        raise ValueError("n must be positive")
    return float(stats.kstwo.sf(d, n)) if d > 0 else 1.0


def uniform_cdf(low: float, high: float) -> Cdf:
    """CDF of U(low, high)."""
    low, high = float(low), float(high)
    if not high > low:
        raise ValueError(f"need low < high, got [{low}, {high}]")
    return stats.uniform(loc=low, scale=high - low).cdf


def normal_cdf(mean: float, std: float) -> Cdf:
    """CDF of N(mean, std**2)."""
    mean, std = float(mean), float(std)
    if not std > 0:
        raise ValueError(f"need std > 0, got {std}")
    return stats.norm(loc=mean, scale=std).cdf


# --- checks -----------------------------------------------------------------------------


def check_uniform(
    samples: Any,
    low: float,
    high: float,
    *,
    name: str,
    alpha: float = 1e-4,
    formula: str = "",
) -> None:
    """Fail unless ``samples`` plausibly come from U(low, high) and none lie outside it.

    ``formula`` (e.g. ``"d = sqrt(6/(fan_in+fan_out))"``) is quoted in hints about the bound.
    """
    low, high = float(low), float(high)
    x = _samples(samples, name)
    d = ks_statistic(x, uniform_cdf(low, high))
    p = ks_pvalue(d, x.size)
    slack = 1e-6 * (high - low)  # float32 rounding of values drawn right at the bound
    outside = (x < low - slack) | (x > high + slack)
    if p >= alpha and not outside.any():
        return
    facts = []
    if outside.any():
        example = x[outside][0]
        count = int(outside.sum())
        verb = "lies" if count == 1 else "lie"
        facts.append(
            f"{count} of {x.size} values {verb} outside [{_num(low)}, {_num(high)}] "
            f"(e.g. {_num(example)}); a uniform sampler on that interval never produces them."
        )
    expected = {
        "mean": _num((low + high) / 2),
        "std": _num((high - low) / math.sqrt(12.0)),
        "min": _num(low),
        "max": _num(high),
    }
    # When only stray values are wrong, the bulk fits and range hints would mislead.
    hints = _degenerate_hints(x) or ([] if p >= alpha else _uniform_hints(x, low, high, formula))
    title = f"U({_num(low)}, {_num(high)})"
    fail(_message(name, title, x, expected, d, p, alpha, facts, hints))


def check_normal(
    samples: Any,
    mean: float,
    std: float,
    *,
    name: str,
    alpha: float = 1e-4,
    formula: str = "",
) -> None:
    """Fail unless ``samples`` plausibly come from N(mean, std**2).

    ``formula`` (e.g. ``"std = sqrt(2/fan_in)"``) is quoted in hints about the scale.
    """
    mean, std = float(mean), float(std)
    x = _samples(samples, name)
    d = ks_statistic(x, normal_cdf(mean, std))
    p = ks_pvalue(d, x.size)
    if p >= alpha:
        return
    z = _typical_extreme(x.size)
    expected = {
        "mean": _num(mean),
        "std": _num(std),
        "min": f"≈ {_num(mean - z * std)} (typical)",
        "max": f"≈ {_num(mean + z * std)} (typical)",
    }
    hints = _degenerate_hints(x) or _normal_hints(x, mean, std, formula)
    title = f"N({_num(mean)}, {_num(std)}²)"
    fail(_message(name, title, x, expected, d, p, alpha, [], hints))


# --- helpers ----------------------------------------------------------------------------


def _samples(samples: Any, name: str) -> np.ndarray:
    x = as_array(samples, name=name).astype(np.float64).reshape(-1)
    if x.size == 0:
        fail(f"`{name}` is empty; expected randomly initialised values.")
    bad = ~np.isfinite(x)
    if bad.any():
        fail(
            f"`{name}` contains {int(bad.sum())} NaN/inf value(s) (first at flat index "
            f"{int(np.argmax(bad))}); expected randomly initialised values."
        )
    return x


def _num(x: float) -> str:
    return format_number(x, 4)


def _pvalue_text(p: float) -> str:
    return "p < 1e-300" if p == 0 else f"p = {format(p, '.2g')}"


def _typical_extreme(n: int) -> float:
    """Rough expected max of n standard normals, for the 'expected' column only."""
    if n < 2:
        return 0.0
    t = math.sqrt(2.0 * math.log(n))
    return max(t - (math.log(math.log(n) + 1e-12) + math.log(4 * math.pi)) / (2 * t), 0.0)


def _message(
    name: str,
    title: str,
    x: np.ndarray,
    expected: dict[str, str],
    d: float,
    p: float,
    alpha: float,
    facts: list[str],
    hints: list[str],
) -> str:
    observed = {"mean": x.mean(), "std": x.std(), "min": x.min(), "max": x.max()}
    lines = [
        f"**`{name}` does not look like samples from {title}**",
        "",
        f"Kolmogorov–Smirnov test on {x.size} values: D = {format(d, '.4g')}, "
        f"{_pvalue_text(p)} (the check fails below {format(alpha, 'g')}).",
        *(f"\n{fact}" for fact in facts),
        "",
        "| | yours | expected |",
        "|---|---|---|",
    ]
    lines += [f"| {key} | {_num(observed[key])} | {expected[key]} |" for key in observed]
    lines += [f"\n**Hint:** {hint}" for hint in hints]
    return "\n".join(lines)


def _fit_pvalues(x: np.ndarray) -> tuple[float, float]:
    """KS p-values for a uniform and a normal with the samples' own mean and std.

    Fitting makes these p-values conservative (too large), which is fine: they only decide
    which family the samples resemble, never whether the check passes.
    """
    m, s = float(x.mean()), float(x.std())
    p_uniform = ks_pvalue(ks_statistic(x, uniform_cdf(m - _SQRT3 * s, m + _SQRT3 * s)), x.size)
    p_normal = ks_pvalue(ks_statistic(x, normal_cdf(m, s)), x.size)
    return p_uniform, p_normal


def _degenerate_hints(x: np.ndarray) -> list[str]:
    if not x.any():
        return ["Every value is 0: did you create the array with `zeros` and never sample it?"]
    if (x == x[0]).all():
        return [f"Every value is {_num(x[0])}: the array is constant, not random."]
    return []


def _near(a: float, b: float, tol: float = 0.03) -> bool:
    return b != 0 and abs(a / b - 1.0) <= tol


def _scale_hint(observed: float, target: float, kind: str) -> str | None:
    """Name a common slip that turns the right scale ``target`` into ``observed``."""
    far_from_one = abs(target - 1.0) > 0.1
    if _near(observed, 0.01 * target):
        return "it is about 0.01 × the expected value: scaled by 0.01?"
    if _near(observed, 0.1 * target):
        return "it is about 0.1 × the expected value: scaled by 0.1?"
    if far_from_one and _near(observed, target**2):
        return f"it is about the square of the expected {kind}: did you forget a `sqrt`?"
    if far_from_one and _near(observed, math.sqrt(target)):
        return f"it is about the square root of the expected {kind}: one `sqrt` too many?"
    if kind == "bound" and _near(observed, target / _SQRT3):
        return "it equals the std the bound should give: for U(-d, d) the std is d/√3."
    if kind == "std" and _near(observed, target * _SQRT3):
        return "it is √3 × the expected std: did you use a uniform bound as the std?"
    if kind == "std" and far_from_one and _near(observed, 1.0):
        return "the std is 1: a standard normal (`randn`) that was never multiplied by the std?"
    if _near(observed, target * math.sqrt(2.0)) or _near(observed, target / math.sqrt(2.0)):
        return (
            "it is off by a factor of √2: check the gain (2 for He/ReLU, 1 otherwise) and "
            "fan_in versus (fan_in + fan_out) / 2."
        )
    if _near(observed, 2.0 * target) or _near(observed, target / 2.0):
        return "it is off by a factor of 2."
    return None


def _scale_sentence(observed: float, target: float, kind: str, formula: str, lead: str) -> str:
    check = f"check the {kind} `{formula}`" if formula else f"check how you compute the {kind}"
    sentence = f"{lead}: {check}."
    extra = _scale_hint(observed, target, kind)
    return f"{sentence} Also, {extra}" if extra else sentence


def _uniform_hints(x: np.ndarray, low: float, high: float, formula: str) -> list[str]:
    if x.size < _MIN_FOR_HINTS:
        return []
    p_uniform, p_normal = _fit_pvalues(x)
    hints: list[str] = []
    if p_normal >= _PLAUSIBLE and p_uniform < _PLAUSIBLE:
        hints.append(
            "The values look normally distributed (bell-shaped), not uniform: sample with a "
            "uniform generator such as `rng.uniform(low, high, size)`, not `normal`/`randn`."
        )
        return hints
    if p_uniform < _PLAUSIBLE:
        return hints
    lo, hi = float(x.min()), float(x.max())
    centre, half = (low + high) / 2, (high - low) / 2
    if low < 0 < high and lo >= 0:
        hints.append(
            f"All values are ≥ 0 (range [{_num(lo)}, {_num(hi)}]): `rng.random()`/`rand` "
            "samples [0, 1); shift and scale it, e.g. `low + (high - low) * rng.random(shape)`."
        )
        return hints
    obs_centre, obs_half = (lo + hi) / 2, (hi - lo) / 2
    tol = max(0.02, 5.0 / x.size)
    if abs(obs_centre - centre) > 0.05 * half:
        hints.append(f"The values are centred at {_num(obs_centre)} instead of {_num(centre)}.")
    if abs(obs_half / half - 1.0) > tol:
        symmetric = abs(centre) <= 1e-12 * half
        if symmetric and abs(obs_centre) <= 0.05 * half:
            lead = f"The range looks like ±{_num(obs_half)} instead of ±{_num(half)}"
        else:
            lead = (
                f"The range looks like [{_num(lo)}, {_num(hi)}] instead of "
                f"[{_num(low)}, {_num(high)}]"
            )
        hints.append(_scale_sentence(obs_half, half, "bound", formula, lead))
    return hints


def _normal_hints(x: np.ndarray, mean: float, std: float, formula: str) -> list[str]:
    if x.size < _MIN_FOR_HINTS:
        return []
    p_uniform, p_normal = _fit_pvalues(x)
    if p_uniform >= _PLAUSIBLE and p_normal < _PLAUSIBLE:
        return [
            "The values look uniformly distributed (flat and bounded in "
            f"[{_num(x.min())}, {_num(x.max())}]), not normal: sample with "
            "`rng.normal(mean, std, size)`, not `uniform`/`rand`."
        ]
    m, s = float(x.mean()), float(x.std())
    hints: list[str] = []
    if abs(m - mean) > 5.0 * s / math.sqrt(x.size) and abs(m - mean) > 0.05 * std:
        hints.append(f"The values are centred at {_num(m)} instead of {_num(mean)}.")
    if abs(s / std - 1.0) > max(0.03, 5.0 / math.sqrt(2.0 * x.size)):
        lead = f"The std looks like {_num(s)} instead of {_num(std)}"
        hints.append(_scale_sentence(s, std, "std", formula, lead))
    return hints
