"""Read a student's hand-in as data and choose what of it may run, in the worker.

Finding the file in what was handed in (a folder, a zip) is the trusted side's work, done
before any worker starts: :mod:`grader.locate`.
"""

from grader.sandboxed.submission.definitions import Prepared, prepare
from grader.sandboxed.submission.keep_rules import (
    ALLOWED_MODULES,
    DENIED_CALL_NAMES,
    SAFE_BUILTIN_CALLS,
)
from grader.sandboxed.submission.messages import describe_skipped
from grader.sandboxed.submission.skipped import Skipped
from grader.sandboxed.submission.source import Source, SubmissionUnreadable, read_source

__all__ = [
    "ALLOWED_MODULES",
    "DENIED_CALL_NAMES",
    "SAFE_BUILTIN_CALLS",
    "Prepared",
    "Skipped",
    "Source",
    "SubmissionUnreadable",
    "describe_skipped",
    "prepare",
    "read_source",
]
