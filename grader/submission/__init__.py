"""Load a student's hand-in as data: find the file, read it, choose what may run."""

from grader.submission.definitions import (
    ALLOWED_MODULES,
    DENIED_CALL_NAMES,
    SAFE_BUILTIN_CALLS,
    Prepared,
    Skipped,
    describe_skipped,
    prepare,
)
from grader.submission.locate import LocatedSubmission, SubmissionNotFound, locate_submission
from grader.submission.source import Source, SubmissionUnreadable, read_source

__all__ = [
    "ALLOWED_MODULES",
    "DENIED_CALL_NAMES",
    "SAFE_BUILTIN_CALLS",
    "LocatedSubmission",
    "Prepared",
    "Skipped",
    "Source",
    "SubmissionNotFound",
    "SubmissionUnreadable",
    "describe_skipped",
    "locate_submission",
    "prepare",
    "read_source",
]
