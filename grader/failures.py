"""Turn what a failed test raised into the Markdown a student reads.

Only messages are shown, never a test's source or the grader's traceback: hidden tests stay
hidden, and the student sees what was checked, the input that failed, and a hint.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from grader.feedback import GradingFailure, block, code
from grader.worker.client import SubmissionError

MAX_MESSAGE = 6000
_EXAMPLE_NOTES = ("Falsifying example", "Failing test case")
_FIXTURE_ARGS = ("student=", "rng=", "pack=")
# Hypothesis' explain phase: whole comment lines about the test, and trailing comments.
_EXPLAIN_LINE = re.compile(r"^\s*# The test (always|sometimes)\b")
_EXPLAIN_COMMENT = re.compile(r"\s+# or any other generated value\s*$")


def is_timeout(exc: BaseException | None) -> bool:
    from grader.worker.client import WorkerTimeout

    exc = _first_cause(exc)
    if isinstance(exc, WorkerTimeout):
        return True
    return type(exc).__name__ == "Failed" and "Timeout" in str(exc)


def _first_cause(exc: BaseException | None) -> BaseException | None:
    """Hypothesis may wrap several failures in an ExceptionGroup; report the first."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def failure_message(exc: BaseException | None, report: Any = None) -> str:
    exc_first = _first_cause(exc)
    if isinstance(exc_first, (GradingFailure, SubmissionError)):
        text = exc_first.message if isinstance(exc_first, SubmissionError) else str(exc_first)
    elif exc_first is None:
        text = "The test failed."
    elif type(exc_first).__name__ == "Failed" and "Timeout" in str(exc_first):
        text = f"The test ran out of time ({str(exc_first).strip()})."
    elif isinstance(exc_first, AssertionError):
        text = str(exc_first).split("\nassert")[0].strip() or "A check failed."
    else:
        text = _unexpected(exc_first)
    notes = [n for n in _notes(exc) + _notes(exc_first) if n.startswith(_EXAMPLE_NOTES)]
    if notes:
        text += "\n\n" + _example_block(notes[0])
    return text[:MAX_MESSAGE]


def _notes(exc: BaseException | None) -> list[str]:
    return [str(n) for n in getattr(exc, "__notes__", [])] if exc is not None else []


def _example_block(note: str) -> str:
    """Hypothesis' shrunk example, without the test's own name and without the notes its
    explain phase writes for the people who wrote the test (``# The test always failed when
    commented parts were varied together.``, ``# or any other generated value``)."""
    lines = note.splitlines()
    if lines and lines[0].startswith(_EXAMPLE_NOTES):
        lines = ["Smallest failing input found:"] + [
            _EXPLAIN_COMMENT.sub("", ln) for ln in lines[1:]
            if not ln.strip().startswith(_FIXTURE_ARGS) and ln.strip() != ")"
            and not _EXPLAIN_LINE.match(ln)]
    return block("\n".join(lines).strip()[:2500])


def _unexpected(exc: BaseException) -> str:
    """An exception of the grader's own code: its type and message, never the grader's
    internals (a subprocess error's text holds a command line and the worker's config)."""
    if isinstance(exc, subprocess.SubprocessError | OSError):
        return ("The grader's own processes failed while grading this test (not your code's "
                f"fault: {code(type(exc).__name__)}); the course staff can see the details.")
    raised = code(f"{type(exc).__name__}: {_short(str(exc))}")
    return (f"Grading this test raised {raised}; this usually means a value of an unexpected "
            "type or shape came back from your code.")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
