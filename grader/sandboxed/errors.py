"""The errors the worker's own code raises for the student to read.

They live here, not in :mod:`grader.feedback`, because the worker raises them and must not
import the trusted side's message helpers; :mod:`grader.feedback` re-exports both, so the
trusted side names them as before. (What a request to the worker can end in, seen from the
trusted side, is :mod:`grader.worker.errors`.)
"""

from __future__ import annotations

__all__ = ["DescribeError", "MarkdownError"]


class MarkdownError(Exception):
    """An error whose message (Markdown) is meant for the student, shown as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DescribeError(MarkdownError):
    """The engine, in the worker, refuses to describe a student's object (a model it cannot
    rebuild faithfully, a signature it cannot read); ``message`` (Markdown) says why.

    The one refusal class: the worker sends ``refused: true`` with the error, as data, and
    the trusted side fails the test with the message instead of "your code raised"."""
