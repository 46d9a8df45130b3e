"""Does a student's function compute anything? The gate in front of every property test.

A property also holds for a function that computes nothing: a constant is shift-invariant and
"the same batch twice gives the same loss"; zero is the exact derivative of a loss that ignores
the weights; an empty dict has no non-zero weight. So a property, metamorphic or
self-consistency check earns points only with evidence that the function it judges does real
work. :func:`require_substance` looks for that evidence in the function's answers on a few
probe inputs, next to the reference's answers on the same inputs, and returns a
:class:`Substance` token; :func:`assert_consistent`, the comparison of a student's value with
the student's own, will not run without one. The evidence asked for is deliberately weak (the
answers need not be right, only alive), so a function with a bug loses the points of its
reference tests, not of every property at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.checks.arrays import as_array, assert_allclose, assert_scalar_close
from grader.feedback import fail, show_array

__all__ = ["Substance", "assert_consistent", "require_substance"]

_TOKEN = object()


@dataclass(frozen=True)
class Substance:
    """Evidence that ``function`` computes something; only :func:`require_substance` makes one."""

    function: str
    _token: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("a Substance comes from require_substance(), not from its constructor")


def require_substance(function: str, probes: Sequence[tuple[Any, Any]], *, name: str = "",
                      varies: str = "its input", then: str = "") -> Substance:
    """Fail unless ``function``'s answers on the probes show it computes something.

    ``probes`` pairs the student's answer with the reference's on the same input (two or more
    different inputs, or one for a function of a fixed input). The student's answers must:

    - be numeric arrays of the reference's shapes;
    - not be all zero where the reference's are not;
    - not be one constant array (every entry equal) where the reference's entries differ;
    - not be the same for inputs on which the reference's answers differ (the function must
      depend on ``varies``).

    ``name`` is how the answer is written in messages (default ``function``'s name); ``then``
    says which property waits on this evidence.
    """
    if not probes:
        raise ValueError("require_substance needs at least one probe")
    name = name or f"`{function}`"
    got, expected = [], []
    for i, (student, reference) in enumerate(probes):
        exp = np.asarray(reference, dtype=np.float64)
        act = as_array(student, name=name.strip("`"), shape=exp.shape)
        if act.shape != exp.shape:
            _refuse(function, then, f"{name} returned shape `{act.shape}` where `{exp.shape}` "
                                    f"was expected (probe {i + 1})", act)
        got.append(np.asarray(act, dtype=np.complex128 if np.iscomplexobj(act) else np.float64))
        expected.append(exp)
    if not any(a.any() for a in got) and any(e.any() for e in expected):
        _refuse(function, then, f"{name} returned only zeros", got[0])
    if all(_constant(a) for a in got) and not all(_constant(e) for e in expected):
        _refuse(function, then, f"{name} returned the same number in every entry", got[0])
    if len(got) > 1 and _all_alike(got) and not _all_alike(expected):
        _refuse(function, then, f"{name} gave the same answer for {len(got)} different "
                                f"inputs: it does not depend on {varies}", got[0])
    return Substance(function, _TOKEN)


def assert_consistent(actual: Any, own: Any, *, substance: Substance, name: str,
                      own_name: str, rtol: float = 1e-6, atol: float = 1e-8, context: str = "",
                      factors: Mapping[str, float] | None = None, scalar: bool = False) -> None:
    """Compare a student's value with the student's own other value (a metamorphic or
    self-consistency relation), which only counts once ``substance`` shows the function does
    real work."""
    if not isinstance(substance, Substance):
        raise TypeError("assert_consistent needs the Substance returned by require_substance(): "
                        "a self-consistency check must not pay a function that computes nothing")
    check = assert_scalar_close if scalar else assert_allclose
    check(actual, own, name=name, rtol=rtol, atol=atol, context=context, factors=factors,
          expected_name=own_name)


def _constant(a: np.ndarray) -> bool:
    return a.size <= 1 or bool(np.all(a == a.reshape(-1)[0]))


def _all_alike(arrays: list[np.ndarray]) -> bool:
    first = arrays[0]
    return all(a.shape == first.shape and np.allclose(a, first, rtol=1e-9, atol=1e-12,
                                                       equal_nan=True) for a in arrays[1:])


def _refuse(function: str, then: str, why: str, example: Any) -> None:
    wait = then or "This property"
    fail(f"**`{function}` does not compute anything yet:** {why} ({show_array(example)}). "
         f"{wait} also holds for a function that computes nothing, so it earns points only "
         f"once `{function}` does real work; its other tests say what it should return.")
