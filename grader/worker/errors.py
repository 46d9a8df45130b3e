"""What a request to the worker can end in, on the trusted side.

Kept apart from the client that raises them and the proxies that pass them on, so either
can be read (and imported) without the other.
"""

from __future__ import annotations

__all__ = ["Callable_", "MissingAttribute", "SubmissionError", "WorkerCrashed", "WorkerTimeout"]


class SubmissionError(Exception):
    """Student code raised, or the worker could not answer; ``message`` is Markdown."""

    def __init__(self, message: str, *, kind: str = "error", detail: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.detail = detail or {}


class MissingAttribute(SubmissionError, AttributeError):
    """The submission lacks a name or attribute (so ``hasattr`` on a proxy is False)."""


class WorkerTimeout(SubmissionError):
    pass


class WorkerCrashed(SubmissionError):
    pass


class Callable_:
    """Marker: the attribute asked for is callable and stays in the worker."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
