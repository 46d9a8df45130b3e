"""The text a student reads about loading: why the code did not parse, what was left out.

Kept apart from parsing and selection so the wording can change without touching the rules,
and so every message quotes student code the same safe way (``code_span``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from grader.sandboxed.submission.skipped import Skipped, line_at
from grader.sandboxed.submission.source import Source, split_lines


class _Loaded(Protocol):
    """What the note reads of a loading (``definitions.Prepared``): what was left out."""

    skipped: Sequence[Skipped]

QUIET_KINDS: frozenset[str] = frozenset({"type-checking block"})
"""Skip kinds not worth a student's attention: an ``if TYPE_CHECKING:`` block never runs."""

_CODE_CHARS = 100


def syntax_message(
    exc: BaseException, source: Source, lines: list[str], text: str, offset: int = 0
) -> str:
    """Readable one-line error naming file, line (or cell) and the offending code."""
    if isinstance(exc, RecursionError | MemoryError):
        return f"SyntaxError: the code is nested too deeply to parse ({source.display_name})"
    if "null byte" in str(exc):
        nul = text.find("\x00")
        lineno = len(split_lines(text[:nul])) + offset if nul >= 0 else 0
        return f"SyntaxError: source code contains a NUL byte ({source.where(lineno)})"
    if not isinstance(exc, SyntaxError):
        detail = str(exc).splitlines()[0][:_CODE_CHARS] if str(exc) else ""
        return (f"SyntaxError: could not parse {source.display_name} "
                f"({type(exc).__name__}: {detail})")
    kind = type(exc).__name__
    msg = (exc.msg or "invalid syntax").strip()
    head, detail = ("invalid syntax", msg) if kind == "SyntaxError" else (msg, "")
    lineno = exc.lineno + offset if isinstance(exc.lineno, int) and exc.lineno > 0 else 0
    message = f"{kind}: {head} ({source.where(lineno)})"
    code = line_at(lines, lineno) or (exc.text or "").strip()
    if code:
        message += f": {code_span(code)}"
    if detail and detail != head:
        message += f" — {detail}"
    return message


def describe_skipped(prepared: _Loaded, source: Source, limit: int = 10) -> str:
    """Short Markdown note telling the student how the file was read (first: a notebook saved
    as .py, an odd encoding), what was not run, and what to do about it."""
    parts: list[str] = list(source.notes)
    ran = [s for s in prepared.skipped if s.kind not in QUIET_KINDS and s.kind != "syntax error"]
    if ran:
        items = [f"{source.where(s.lineno)} {code_span(s.summary)}" for s in ran]
        parts.append(
            f"Loaded definitions only; skipped {_plural(len(ran), 'top-level statement')} "
            f"that would run code (training, downloads, plots): {_listing(items, limit)}. "
            "Put code you want graded inside functions or the class."
        )
    broken = [s for s in prepared.skipped if s.kind == "syntax error"]
    if broken:
        parts.append(
            f"Left out {_plural(len(broken), 'part')} of the notebook that Python cannot "
            f"compile; the rest was loaded: {_listing([s.detail for s in broken], limit)}."
        )
    if source.magics:
        items = [
            f"{source.where(line)} {code_span(text)}" + (" (whole cell)" if text.startswith(
                "%%") else "")
            for line, text in source.magics
        ]
        parts.append(
            f"Removed {_plural(len(items), 'notebook/shell command')} the grader does not "
            f"run: {_listing(items, limit)}."
        )
    return "\n\n".join(parts)


def code_span(text: str) -> str:
    """Inline Markdown code that survives backticks and control characters in student code."""
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    if len(text) > _CODE_CHARS:
        text = text[: _CODE_CHARS - 1] + "…"
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _listing(items: list[str], limit: int) -> str:
    shown = ", ".join(items[: max(limit, 0)])
    extra = len(items) - max(limit, 0)
    return shown + (f" (+{extra} more)" if extra > 0 else "")
