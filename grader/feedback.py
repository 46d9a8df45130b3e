"""Student-facing failure messages.

Grading tests raise :class:`GradingFailure` with a Markdown message; the reporter shows that
message verbatim on Gradescope, so it must explain the problem on its own. The two errors the
worker raises too, :class:`MarkdownError` and :class:`DescribeError`, are defined on its side
(:mod:`grader.sandboxed.errors`) and named here as well.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any, NoReturn

import numpy as np

from grader.sandboxed.errors import DescribeError, MarkdownError

__all__ = ["DescribeError", "GradingFailure", "MarkdownError", "block", "code", "describe_value",
           "expect", "fail", "format_number", "plain", "show_array"]


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


def code(text: Any, limit: int = 300) -> str:
    """``text`` (anything a student's code produced: a value, a message, a name) as an inline
    code span that nothing inside it can close: the fence is one backtick longer than the
    longest run of backticks in the text, and line breaks become ⏎, so a message cannot break
    out into links, images, headings or bold text of its own."""
    shown = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ⏎ ")
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", shown)), default=0) + 1)
    pad = " " if shown[:1] in ("`", " ") or shown[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


_PATH_START = r"(?<![^\s'\"`(\[<=,;])(?:[A-Za-z]:)?"  # at the start or after a delimiter
_PATH_CHARS = r"[^\s'\"`()\[\]<>=,;:]*?"
_INSTALLED_PREFIX = re.compile(
    rf"{_PATH_START}{_PATH_CHARS}[/\\](?:site|dist)-packages[/\\]"  # libraries
    rf"|{_PATH_START}[/\\]{_PATH_CHARS}[/\\]lib[/\\]python3(?:\.\d+)?[/\\]")  # the stdlib


def shorten_paths(text: str) -> str:
    """Installed files named by their package path (``keras/src/layers/core.py``), not by
    where the grading machine keeps them (``/usr/lib/python3.12/site-packages/keras/…``):
    that prefix says nothing to the student and tells them about the machine."""
    return _INSTALLED_PREFIX.sub("", text)


def block(text: Any, limit: int = 4000) -> str:
    """``text`` as a fenced code block whose fence is longer than any run of backticks in it,
    so that no line of it (a line of ```, a fake heading) can close the block early."""
    shown = str(text)
    if len(shown) > limit:
        shown = shown[:limit] + "\n…"
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", shown)), default=0) + 1)
    return f"{fence}\n{shown}\n{fence}"


_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>|~])")  # code, emphasis, links, HTML, tables
_LINE_START_MARKUP = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")  # headings, quotes, lists


def plain(text: Any, limit: int = 2000) -> str:
    """``text`` that came from the worker, shown as it is: every character Markdown would
    read as formatting (a link, an image, a code span, emphasis, HTML, and at the start of a
    line a heading, a quote or a list) is escaped; line breaks stay line breaks."""
    shown = str(text)
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    lines = []
    for line in shown.splitlines():
        line = _INLINE_MARKUP.sub(r"\\\1", line)
        lines.append(_LINE_START_MARKUP.sub(_escape_line_start, line))
    return "  \n".join(lines)


def _escape_line_start(match: re.Match) -> str:
    indent, mark = match.groups()
    # "1." starts a list: the escape goes on the punctuation after the digits
    return f"{indent}{mark}\\" if mark[0].isdigit() else f"{indent}\\{mark}"


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
        return f"{head}: {code(reprlib.repr(arr.tolist()))}"
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
        return f"{type(x).__name__} of length {len(x)}: {code(text)}"
    return f"{code(type(x).__name__)}: {code(text)}"
