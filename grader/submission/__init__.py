"""Load a student's hand-in as data: find the file, read it, choose what may run."""

from grader.submission.definitions import Prepared, prepare
from grader.submission.keep_rules import ALLOWED_MODULES, DENIED_CALL_NAMES, SAFE_BUILTIN_CALLS
from grader.submission.locate import LocatedSubmission, SubmissionNotFound, locate_submission
from grader.submission.messages import describe_skipped
from grader.submission.skipped import Skipped
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
