"""Student-facing failure messages.

Grading tests raise :class:`GradingFailure` with a Markdown message; the reporter shows that
message verbatim on Gradescope, so it must explain the problem on its own.
"""

from __future__ import annotations

import reprlib
from typing import Any, NoReturn

import numpy as np

__all__ = ["GradingFailure", "describe_value", "expect", "fail", "format_number", "show_array"]


class MarkdownError(Exception):
    """An error whose message (Markdown) is meant for the student, shown as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class GradingFailure(MarkdownError, AssertionError):
    """A failed check whose message (Markdown) is meant for the student.

    Subclassing AssertionError keeps pytest reporting it as an ordinary test failure.
    """


def fail(message: str) -> NoReturn:
    """Stop the current check with a student-facing Markdown message."""
    raise GradingFailure(message)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds (usable where ``assert`` is stripped)."""
    if not condition:
        fail(message)


def format_number(x: Any, digits: int = 4) -> str:
    """Render one number with ``digits`` significant digits, keeping ints and bools exact."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        return format(complex(x), f".{digits}g")
    try:
        return format(float(x), f".{digits}g")
    except (TypeError, ValueError):
        return reprlib.repr(x)


def show_array(a: Any, max_items: int = 12) -> str:
    """Compact one-line rendering: shape, dtype and the first/last few values.

    Values are shown flattened in C order so even large arrays fit on one line of feedback.
    """
    arr = np.asarray(a)
    head = f"shape {arr.shape}, {arr.dtype}"
    if arr.dtype == object or arr.dtype.kind in "USV":
        return f"{head}: {reprlib.repr(arr.tolist())}"
    flat = arr.reshape(-1)
    if flat.size == 0:
        return f"{head}: `[]`"
    if arr.ndim == 0:
        return f"{head}: `{format_number(flat[0])}`"
    if flat.size <= max_items:
        shown = [format_number(v) for v in flat]
    else:
        keep = max(max_items // 2, 1)
        shown = [format_number(v) for v in flat[:keep]]
        shown.append("…")
        shown.extend(format_number(v) for v in flat[flat.size - keep :])
    return f"{head}: `[{', '.join(shown)}]`"


def describe_value(x: Any) -> str:
    """Say what kind of value a student returned, e.g. to explain a type mismatch."""
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"numpy array of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, np.generic):
        return f"numpy {x.dtype} scalar {format_number(x)}"
    short = reprlib.Repr()
    short.maxstring = 60
    short.maxother = 60
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 6
    text = short.repr(x)
    if isinstance(x, (list, tuple, dict, set, str, bytes)):
        return f"{type(x).__name__} of length {len(x)}: `{text}`"
    return f"{type(x).__name__}: `{text}`"
