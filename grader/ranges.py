"""Range checks for the numbers the trusted side reads from untrusted descriptions.

A model description, a ``compile`` call or a set of training settings arrives from the worker
as plain data written next to student code, so every number in it is checked before it is
used: its type (a bool is not a number here, NaN and the infinities are in no range) and its
range. The checks live here, once, so that their refusals read the same way, naming where
the value came from, what is allowed and the value itself, e.g. "Setting `lr` must be in
(0, 10], not 20." A value of the wrong kind is shown as a code span it cannot break out of.

Each check raises an exception of the caller's choosing (``error``: an exception class, or
any callable that makes one from the message), so each module's refusals keep their class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from grader.feedback import code

__all__ = ["Error", "int_pair", "integer", "interval", "is_integer", "is_integer_in",
           "is_number", "number", "number_text", "positive", "shown", "within"]

#: Makes the exception to raise from a Markdown message (e.g. an exception class).
Error = Callable[[str], Exception]

_SHOWN_LIMIT = 60
_HUGE = 10**18  # integers this large are described, not written out


def is_integer(value: Any) -> bool:
    """An ``int`` that is not a ``bool``: ``True`` is no layer width."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite ``int`` or ``float`` that is not a ``bool``. Integers are finite however
    large (``math.isfinite`` would overflow on them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def within(value: float, low: float, high: float, *, low_open: bool = False,
           high_open: bool = False) -> bool:
    """Whether the number ``value`` lies in the interval (its ends open or closed)."""
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    return above and below


def is_integer_in(value: Any, low: float, high: float) -> bool:
    """Whether ``value`` is a whole number (not a bool) from ``low`` to ``high``."""
    return is_integer(value) and low <= value <= high


def number_text(x: float) -> str:
    """A bound, or a number of the right kind, as a student would write it: ``10`` rather
    than ``10.0``, ``1e-08`` exactly (``:g`` would round 1.0000001 to 1), and an integer
    too long to read (or to convert to text at all) by its size."""
    if is_integer(x):
        return str(x) if abs(x) < _HUGE else f"a {x.bit_length()}-bit integer"
    if math.isfinite(x) and float(x).is_integer() and abs(x) < _HUGE:
        return str(int(x))
    return repr(x)


def interval(low: float, high: float, *, low_open: bool = False,
             high_open: bool = False) -> str:
    """``[0, 1)``-style notation: a bracket for a closed end, a parenthesis for an open one."""
    return (f"{'(' if low_open else '['}{number_text(low)}, "
            f"{number_text(high)}{')' if high_open else ']'}")


def shown(value: Any) -> str:
    """A refused value for a Markdown message: its ``repr`` as a code span that nothing in
    it can close, cut at 60 characters."""
    if is_integer(value) and abs(value) >= _HUGE:
        return number_text(value)
    try:
        text = repr(value)
    except ValueError:  # an integer inside a container, too long to convert to text
        text = f"<a {type(value).__name__} too large to show>"
    return code(text, _SHOWN_LIMIT)


def number(value: Any, where: str, low: float, high: float, *, error: Error,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a ``float`` when it is a finite number in the interval; otherwise
    ``error(message)``, the message naming ``where`` (e.g. "Setting `lr`"), the interval
    and the value."""
    span = interval(low, high, low_open=low_open, high_open=high_open)
    if not is_number(value):
        raise error(f"{where} must be a finite number in {span}, not {shown(value)}.")
    if not within(value, low, high, low_open=low_open, high_open=high_open):
        raise error(f"{where} must be in {span}, not {number_text(value)}.")
    return float(value)


def positive(value: Any, where: str, high: float, *, error: Error) -> float:
    """A number in (0, ``high``]: a rate, a decay or a threshold that zero would switch off
    or break."""
    return number(value, where, 0.0, high, low_open=True, error=error)


def integer(value: Any, where: str, low: int, high: int, *, error: Error) -> int:
    """``value`` when it is a whole number from ``low`` to ``high``; otherwise
    ``error(message)`` naming ``where``, the range and the value."""
    if not is_integer_in(value, low, high):
        refused = number_text(value) if is_integer(value) else shown(value)
        raise error(f"{where} must be a whole number from {low} to {high}, not {refused}.")
    return int(value)


def int_pair(value: Any, where: str, low: int, high: int, *, error: Error,
             single: bool = False) -> tuple[int, int]:
    """A window or a stride over a 2-D image: two whole numbers from ``low`` to ``high`` (a
    list or a tuple), or with ``single`` also one number for both axes, as Keras allows."""
    if single and is_integer_in(value, low, high):
        return int(value), int(value)
    if (isinstance(value, list | tuple) and len(value) == 2
            and all(is_integer_in(v, low, high) for v in value)):
        return int(value[0]), int(value[1])
    if single:
        expected = (f"a whole number from {low} to {high}, or two of them (one per axis of "
                    "the 2-D image)")
    else:
        expected = f"two whole numbers from {low} to {high}, one per axis of the 2-D image"
    raise error(f"{where} must be {expected}, not {shown(value)}.")
