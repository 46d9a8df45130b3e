"""The canary: the pack's own reference is graded first, in the same environment.

A broken grading environment (a worker uid without a passwd entry that a library asks for, a
library that fails at import, a missing extra) makes every hand-in fail the same way, and
without a check it would be charged to the students. So before a batch grades anyone, before
``grader gradescope`` grades a student, at the end of the Gradescope image's ``setup.sh``, and
on demand (``grader doctor --assignment PACK``), the reference is graded with the same options
on the same machine. If it does not get full marks on every test that ran, nothing is charged
to anyone: the caller stops and says which test failed and why.

A verdict is cached by everything it depends on (the pack's tests and reference, the grader's
version, the libraries, the Python, the sandbox available, CUDA, the options), so the canary
costs one grading per environment, not one per student.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.devices import cuda_available
from grader.files import cache_root, write_atomically
from grader.packs import Pack
from grader.results import Results, TestResult
from grader.runner import GradeOptions, grade, library_versions, pack_digest

__all__ = ["CanaryFailed", "CanaryResult", "check_environment", "environment_problem_results",
           "run_canary"]

ENVIRONMENT_PROBLEM = ("Autograder environment problem — not your fault; the course staff "
                       "have been told. Your submission was not graded: it will be graded once "
                       "the environment is fixed.")


@dataclass
class CanaryResult:
    """The reference's grade in this environment: ``failures`` lists (test, message)."""

    pack: str
    ok: bool
    score: float
    max_score: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    overview: str = ""  # what loading the reference said (errors while importing, ...)
    cached: bool = False

    def describe(self) -> str:
        if self.ok:
            where = " (cached)" if self.cached else ""
            return (f"canary: the {self.pack} reference gets full marks here "
                    f"({self.score:g}/{self.max_score:g} on the tests that ran){where}")
        lines = [f"canary: the {self.pack} reference does NOT get full marks in this "
                 f"environment ({self.score:g}/{self.max_score:g}); nothing was charged to "
                 "students. Failing tests:"]
        for name, message in self.failures[:10]:
            first = (message.strip().splitlines() or [""])[0]
            lines.append(f"- {name}: {first[:400]}")
        if self.overview:
            lines += ["", "Loading the reference:", self.overview[:3000]]
        return "\n".join(lines)


class CanaryFailed(RuntimeError):
    """The reference fails in this environment: grading must not go on."""

    def __init__(self, result: CanaryResult) -> None:
        super().__init__(result.describe())
        self.result = result


def run_canary(pack: Pack, options: GradeOptions | None = None, *, reuse: bool = True
               ) -> CanaryResult:
    """Grade the reference of ``pack`` with ``options`` here, or with ``reuse`` take this
    environment's cached verdict; a pass is cached for later."""
    options = dataclasses.replace(options or GradeOptions(), public_only=False)
    path = _cache_path(pack, options)
    if reuse:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(path.read_text(encoding="utf-8"))
            return CanaryResult(**{**data, "failures": [tuple(f) for f in data["failures"]],
                                   "cached": True})
    reference = pack.reference_dir / pack.submission_name
    results = grade(reference, pack, options)
    ran = [t for t in results.tests if t.status not in ("skipped", "deferred")]
    failures = [(t.name, t.output) for t in ran if t.score < t.max_score]
    if results.extra_data.get("grader_failed"):
        failures.insert(0, ("the grader itself", results.output))
    # no test that ran (all left out by the options) charges nobody either: that passes
    result = CanaryResult(pack=pack.name, ok=not failures,
                          score=sum(t.score for t in ran), max_score=sum(t.max_score for t in ran),
                          failures=failures, overview=results.output)
    if result.ok:  # only a pass is remembered: a fix must be seen at once
        with contextlib.suppress(OSError):
            write_atomically(path, json.dumps({k: v for k, v in result.__dict__.items()
                                               if k != "cached"}))
    return result


def check_environment(pack: Pack, options: GradeOptions | None = None) -> CanaryResult:
    """:func:`run_canary`, raising :class:`CanaryFailed` when the reference fails."""
    result = run_canary(pack, options)
    if not result.ok:
        raise CanaryFailed(result)
    return result


def environment_key(pack: Pack, options: GradeOptions) -> str:
    """Everything the reference's grade may depend on besides the reference itself."""
    parts = {
        "pack": pack_digest(pack), "grader": __version__, "libraries": library_versions(),
        "python": os.path.realpath(sys.executable), "machine": platform.machine(),
        "bwrap": shutil.which("bwrap") or "", "root": os.geteuid() == 0,
        "sandbox": os.environ.get("GRADER_SANDBOX", ""), "cuda": cuda_available(),
        "options": sorted(options.__dict__.items()),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _cache_path(pack: Pack, options: GradeOptions) -> Path:
    return cache_root() / "canary" / f"{pack.name}-{environment_key(pack, options)[:32]}.json"


def environment_problem_results(canary: CanaryResult) -> Results:
    """What a student sees when the canary fails: not a grade, a notice; the details (which
    test of the reference failed, and how) go to ``extra_data`` and the autograder's output,
    which staff see."""
    test = TestResult(name="Autograder environment problem", max_score=0.0, status="error",
                      output=ENVIRONMENT_PROBLEM)
    return Results(tests=[test], output=ENVIRONMENT_PROBLEM, extra_data={
        "grader_failed": True, "environment_problem": True, "detail": canary.describe(),
        "canary": {"pack": canary.pack, "score": canary.score, "max_score": canary.max_score,
                   "failures": [list(f) for f in canary.failures]}})
