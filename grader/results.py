"""Results in Gradescope's format: built, validated, and written atomically.

Gradescope shows "The autograder failed to execute correctly" for a missing or malformed
results.json, so every path of the grader ends here, and :func:`validate` checks the JSON
against the specification before :func:`write_results` puts it in place.
"""

from __future__ import annotations

import errno
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.files import write_atomically

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
STATUSES = ("passed", "failed", "error", "skipped", "not run", "timeout", "deferred")
# Gradescope has no "pending" look for a test graded later (see TestResult.to_json): the name
# is what says so, on the line a student sees without opening the test.
DEFERRED_PREFIX = "(graded later) "


@dataclass
class TestResult:
    """One graded test. ``status`` is ours; Gradescope only knows passed/failed."""

    name: str
    max_score: float
    score: float = 0.0
    status: str = "not run"
    output: str = ""
    visibility: str = "visible"
    number: str = ""
    tags: list[str] = field(default_factory=list)
    execution_time: float = 0.0
    nodeid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. curves, deferred_points

    def to_json(self) -> dict[str, Any]:
        """The test as Gradescope reads it.

        A test graded later (``deferred``, 0/0) has no look of its own there. Gradescope's
        autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/,
        "Test case status") offers two: "By default, test cases where the student was awarded
        the "max_score" points are marked as passing, and tests where they achieved a score
        lower than the max are considered failing. To override this, you can set the "status"
        field to either "passed" or "failed"". With 0 of 0 points awarded, no status reads as
        passing and "failed" as failing; nothing reads as pending. So it carries no status
        (not red), and its name starts with :data:`DEFERRED_PREFIX`, since the name is shown
        on the test's line while the output ("Graded later …", the points it is worth) is in
        the body under it.
        """
        deferred = self.status == "deferred"
        entry: dict[str, Any] = {
            "name": DEFERRED_PREFIX + self.name if deferred else self.name,
            "score": round(float(self.score), 4),
            "max_score": round(float(self.max_score), 4),
            **({} if deferred else {"status": "passed" if self.status == "passed" else "failed"}),
            "output": self.output,
            "output_format": "md",
            "visibility": self.visibility,
            "tags": list(self.tags),
            "extra_data": {"status": self.status, "execution_time": round(self.execution_time, 3),
                           "nodeid": self.nodeid, **self.extra},
        }
        if self.number:
            entry["number"] = self.number
        return entry


@dataclass
class Results:
    tests: list[TestResult]
    output: str = ""
    execution_time: float = 0.0
    extra_data: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        data = {
            "score": round(self.score, 4),
            "execution_time": round(self.execution_time, 3),
            "output": self.output,
            "output_format": "md",
            "test_output_format": "md",
            "stdout_visibility": "hidden",
            "visibility": "visible",
            "tests": [t.to_json() for t in self.tests],
            "extra_data": self.extra_data,
        }
        validate(data)
        return data


class InvalidResults(ValueError):
    pass


SCHEMA = Path(__file__).parent / "schemas" / "gradescope-results.schema.json"


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def validate(data: Any) -> None:
    """Raise InvalidResults unless ``data`` is a well-formed Gradescope results object: the
    specification as a JSON Schema (``grader/schemas/``), checked by jsonschema, and no NaN
    or infinity anywhere (Gradescope's parser rejects them)."""
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: e.path)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "results"
        # "not valid under any of the given schemas" names nothing: say what each wanted
        # (here: a score or tests)
        message = " or ".join(sorted({e.message for e in error.context})) or error.message
        raise InvalidResults(f"{where}: {message[:300]}")
    try:
        json.dumps(data, allow_nan=False)
    except ValueError as exc:
        raise InvalidResults(f"results hold a NaN or an infinity: {exc}") from None


RESERVE_BYTES = 2**20  # room kept for results.json from the start of a run


def write_results(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Validate and write atomically (temp file + rename): never a half-written file.

    When the disk is full (a submission filled it), the results go into the room
    :func:`reserve_results` kept at the start, overwritten in place: those blocks are already
    allocated, so the write cannot fail for want of space.
    """
    validate(data)
    text = (json.dumps(data, indent=2, allow_nan=False) + "\n").encode("utf-8")
    try:
        return write_atomically(path, text)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not _fits(path, text):
            raise
        return _overwrite_in_place(Path(path), text)


def reserve_results(path: str | os.PathLike, size: int = RESERVE_BYTES) -> None:
    """Write a valid placeholder results file ("the grader did not finish") padded with
    whitespace to ``size`` bytes, unless one is there: the room the real results need later,
    taken while the disk still has it."""
    path = Path(path)
    if path.is_file() and path.stat().st_size >= size:
        return
    placeholder = failure_results(
        "Autograder failed: the grader did not finish writing results (it was stopped, or "
        "the machine ran out of room). This is not a problem with your submission; please "
        "tell the course staff.").to_json()
    text = json.dumps(placeholder).encode("utf-8")
    write_atomically(path, text + b" " * max(0, size - len(text)))


def _fits(path: str | os.PathLike, text: bytes) -> bool:
    try:
        return Path(path).stat().st_size >= len(text)
    except OSError:
        return False


def _overwrite_in_place(path: Path, text: bytes) -> Path:
    with open(path, "r+b") as f:
        f.write(text)
        f.truncate(len(text))
        f.flush()
        os.fsync(f.fileno())
    return path


def failure_results(message: str, detail: str = "", execution_time: float = 0.0) -> Results:
    """The results written when the grader itself could not run: one visible failed test.

    ``detail`` (a log or traceback) may quote hidden tests, so it goes to ``extra_data`` and
    the autograder's own output, which students do not see, never to the visible message.
    """
    test = TestResult(name="Autograder failed", max_score=0.0, status="error",
                      output=message + "\n\nThe course staff can find the details in the "
                                       "autograder's log.")
    return Results(tests=[test], output=message, execution_time=execution_time,
                   extra_data={"grader_failed": True, "detail": detail[-8000:]})
