"""Grade the reference, then each mutant, in parallel, and classify each mutant.

Every grade is an ordinary :func:`grader.runner.grade` of a hand-in (the same worker, limits
and options as a student's), run from a thread pool: each thread only waits on its own
pytest subprocess, as in ``grader batch``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.audit.explain import Graded, edited_names, explain, left_out_tests
from grader.audit.free import Freedom, resolve
from grader.audit.given import given_in, handout_names, is_given
from grader.audit.mutants import Enumeration, Mutant, enumerate_mutants, sample
from grader.audit.probes import Probe, first_difference, load_probes, run_probes
from grader.audit.reach import canary, loads_the_same, without_binding
from grader.packs import Pack
from grader.report import NOT_RUN_STATUSES
from grader.results import Results
from grader.runner import GradeOptions, grade

KILLED, SURVIVED, TIMED_OUT, ERROR = "killed", "survived", "timed out", "error"
SAME_SOURCE = "equivalent (same source)"
SAME_OUTPUTS = "equivalent (same outputs on the probes)"
NOT_LOADED = "equivalent (not loaded)"  # the definitions-only load drops the edited code
NOT_READ = "equivalent (not read)"  # a top-level name of the student's own no test reads
FREE = "a variant the handout allows"  # survived, in code the pack says is the student's choice
GIVEN = "given by the handout"  # the template holds the edited code unchanged: not graded
TIMEOUT_WORDS = ("timed out", "timeout", "time limit")


@dataclass
class Outcome:
    mutant: Mutant
    status: str
    score: float | None = None
    killed_by: str = ""   # the name of the first test that lost points against the reference
    message: str = ""
    explained: str = ""   # a survivor: why the pack's tests could not catch it (or "": a gap)
    undecided: bool = False  # a survivor that tests left out of this run (--fast) also grade
    seconds: float = 0.0


@dataclass
class Baseline:
    """The unmodified reference's grade: what a mutant must fall below to be killed."""

    score: float
    runnable_max: float            # max points of the tests that ran (not skipped/deferred)
    scores: dict[str, float]       # test nodeid -> points
    lost: list[str]                # tests of the reference that lost points
    seconds: float
    graded: dict[str, Graded] = field(default_factory=dict)  # function -> its tests' points

    @property
    def full_marks(self) -> bool:
        return not self.lost


@dataclass
class Audit:
    pack: str
    reference: str
    fast: bool
    jobs: int
    sample_size: int | None
    seed: int
    baseline: Baseline
    enumeration: Enumeration
    probes: list[str] = field(default_factory=list)  # the probes that decide equivalence
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def sampled(self) -> int:
        """The mutants sampled (graded, or found equivalent without grading)."""
        return len(self.outcomes) - self.count(SAME_SOURCE) - self.count(GIVEN)

    @property
    def student_code(self) -> int:
        """The gradable mutants in code the student writes (the sample's population)."""
        return len(self.enumeration.gradable) - self.count(GIVEN)

    @property
    def gaps(self) -> list[Outcome]:
        """The survivors no reason the pack states explains."""
        return [o for o in self.outcomes if o.status == SURVIVED and not o.explained]

    @property
    def kill_rate(self) -> float | None:
        """killed / (killed + survived + timed out); equivalents and errors left out."""
        judged = self.count(KILLED) + self.count(SURVIVED) + self.count(TIMED_OUT)
        return self.count(KILLED) / judged if judged else None

    @property
    def undecided(self) -> int:
        """Survivors that tests this run left out also grade: a --slow run (on a GPU, for
        the GPU tests) decides them."""
        return sum(o.status == SURVIVED and o.undecided for o in self.outcomes)

    @property
    def decided_kill_rate(self) -> float | None:
        """The kill rate over the mutants this run could decide (the undecided left out)."""
        judged = self.count(KILLED) + self.count(SURVIVED) - self.undecided \
            + self.count(TIMED_OUT)
        return self.count(KILLED) / judged if judged else None


def audit_pack(pack: Pack, sample_size: int | None = None, seed: int = 0, jobs: int = 2,
               fast: bool = True, timeout_s: float | None = None,
               progress: Callable[[Outcome], None] | None = None) -> Audit:
    """Mutate ``pack``'s reference, grade every (sampled) mutant, and classify it."""
    started = time.monotonic()
    reference = pack.reference_dir / pack.submission_name
    source = reference.read_text(encoding="utf-8")
    freedoms = resolve(pack, source)  # a bad [audit.free] entry stops the audit before grading
    enumeration = enumerate_mutants(source, pack.submission_name)
    options = GradeOptions(fast=fast, overall_timeout_s=timeout_s)
    baseline = _baseline(grade(reference, pack, options), time.monotonic() - started)
    given = given_in(reference, pack.template_dir / pack.submission_name)
    handout = [m for m in enumeration.gradable if is_given(m.line, given)]
    chosen = sample([m for m in enumeration.gradable if not is_given(m.line, given)],
                    sample_size, seed)
    probes = load_probes(pack)
    expected = run_probes(reference, pack, probes)
    asked_for = handout_names(pack.template_dir / pack.submission_name)
    audit = Audit(pack=pack.name, reference=str(reference), fast=fast, jobs=jobs,
                  sample_size=sample_size, seed=seed, baseline=baseline,
                  enumeration=enumeration, probes=list(probes))
    audit.outcomes = [Outcome(m, SAME_SOURCE) for m in enumeration.mutants if m.same_source]
    audit.outcomes += [Outcome(m, GIVEN, message="the template gives this code unchanged")
                       for m in handout]
    unloaded = {m.id for m in chosen if loads_the_same(source, m.source, pack)}
    audit.outcomes += [Outcome(m, NOT_LOADED, message="the grader loads definitions only, and "
                               "this edit is in code it drops") for m in chosen
                       if m.id in unloaded]
    chosen = [m for m in chosen if m.id not in unloaded]
    with tempfile.TemporaryDirectory(prefix="grader-audit-") as tmp, \
            cf.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_grade_mutant, m, pack, options, baseline, Path(tmp),
                               (probes, expected), asked_for, freedoms) for m in chosen]
        for future in cf.as_completed(futures):
            outcome = future.result()
            audit.outcomes.append(outcome)
            if progress:
                progress(outcome)
    order = {m.id: i for i, m in enumerate(enumeration.mutants)}
    audit.outcomes.sort(key=lambda o: order[o.mutant.id])
    audit.seconds = time.monotonic() - started
    return audit


def _baseline(results: Results, seconds: float) -> Baseline:
    ran = [t for t in results.tests if t.status not in NOT_RUN_STATUSES]
    graded: dict[str, Graded] = {}
    for t in results.tests:
        # the function the test is tagged with, and the other names it says it uses
        for name in dict.fromkeys([t.tags[0] if t.tags else "", *t.extra.get("uses", ())]):
            entry = graded.setdefault(name, Graded())
            if t.status in NOT_RUN_STATUSES:
                entry.left_out += t.max_score
                entry.left_out_tests.append(t.name)
            else:
                entry.ran += t.max_score
    return Baseline(score=results.score, runnable_max=sum(t.max_score for t in ran),
                    scores={_key(t): t.score for t in results.tests},
                    lost=[t.name for t in ran if t.score < t.max_score], seconds=seconds,
                    graded=graded)


def _key(test: object) -> str:
    return getattr(test, "nodeid", "") or getattr(test, "name", "")


def _grade_mutant(mutant: Mutant, pack: Pack, options: GradeOptions, baseline: Baseline,
                  tmp: Path, probing: tuple[dict[str, Probe], dict] = ({}, {}),
                  asked_for: frozenset[str] | None = None,
                  freedoms: list[Freedom] | None = None) -> Outcome:
    """Grade one mutant as a hand-in beside copies of the reference folder's other files.
    A survivor that edits a top-level name of the student's own (``asked_for``: the names
    the template binds) is equivalent when no test that ran reads that name; any other
    survivor is run on the pack's probes (``probing``: the probes and the reference's
    outputs): the same outputs as the reference make it equivalent. A survivor no reason
    explains, in code a ``freedoms`` entry covers (default: the pack's ``[audit.free]``), is
    a variant the handout allows."""
    started = time.monotonic()
    folder = tmp / mutant.id
    shutil.copytree(Path(pack.reference_dir), folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / pack.submission_name
    path.write_text(mutant.source, encoding="utf-8")
    try:
        results = grade(path, pack, options)
    except TimeoutError as exc:
        return Outcome(mutant, TIMED_OUT, message=str(exc), seconds=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - one mutant's grader failure is reported, not fatal
        return Outcome(mutant, ERROR, message=f"{type(exc).__name__}: {exc}",
                       seconds=time.monotonic() - started)
    outcome = classify(mutant, results, baseline)
    if outcome.status == SURVIVED and _same_scores(results, baseline) and _not_read(
            mutant, pack, options, baseline, path, asked_for):
        outcome.status = NOT_READ
        outcome.message = ("a top-level name of the student's own (the template binds no "
                           "such name) that no test that ran reads: a copy without this "
                           "assignment scores as the reference on every test")
    probes, expected = probing
    if outcome.status == SURVIVED and probes:
        try:
            why = _why_not_equivalent(mutant, pack, probes, expected, path)
        except Exception as exc:  # noqa: BLE001 - a probe run that breaks leaves a survivor
            why = f"the probes could not run ({type(exc).__name__}: {exc})"
        if why is None:
            outcome.status = SAME_OUTPUTS
        else:
            outcome.message = "; ".join(filter(None, [outcome.message, why]))
    if outcome.status == SURVIVED:
        names = edited_names(mutant.function, mutant.source, mutant.line)
        outcome.undecided = bool(left_out_tests(names, baseline.graded))
        outcome.explained = explain(names, baseline.graded) or _unreached(
            mutant, pack, options, baseline, path)
        if freedoms is None:
            freedoms = resolve(pack, pack.reference_dir.joinpath(
                pack.submission_name).read_text(encoding="utf-8"))
        free = next((f for f in freedoms if f.covers(mutant.line)), None)
        if free and not outcome.explained:  # every test of it ran, and scored it as the
            outcome.status, outcome.explained = FREE, free.why  # reference's own code
    outcome.seconds = time.monotonic() - started
    return outcome


def _why_not_equivalent(mutant: Mutant, pack: Pack, probes: dict[str, Probe],
                        expected: dict, path: Path) -> str | None:
    """None when the mutant gives the reference's outputs on probes that are shown (by a
    canary) to run the edited function; otherwise what tells it apart or why it cannot be
    told."""
    difference = first_difference(expected, run_probes(path, pack, probes))
    if difference is not None:
        return f"differs on {difference}"
    alarmed = canary(mutant.source, mutant.line)
    if alarmed is None:
        return ("same outputs on the probes, but the edit is module-level code they cannot be "
                "shown to use")
    with _holding(path, alarmed, mutant.source):
        reached = first_difference(expected, run_probes(path, pack, probes)) is not None
    if not reached:
        return (f"same outputs on the probes, but no probe runs the edited statement (in "
                f"`{mutant.function}`)")
    return None


@contextlib.contextmanager
def _holding(path: Path, text: str, then: str) -> Iterator[None]:
    """``path`` holds ``text`` (a canary copy) for the block, then ``then`` again."""
    path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(then, encoding="utf-8")


def _not_read(mutant: Mutant, pack: Pack, options: GradeOptions, baseline: Baseline,
              path: Path, asked_for: frozenset[str] | None) -> bool:
    """Whether the edit is to a top-level assignment of names the template does not ask for
    (the student's own working variables, e.g. the list a notebook's sweep loop reads) that
    no test that ran reads: a copy without the assignment gets every test's reference score.
    Never without a template (no way to tell the student's own names from the asked-for
    ones), nor for a name a test this run left out says it grades."""
    if asked_for is None or mutant.function != "<module>":
        return False
    removed = without_binding(mutant.source, mutant.line)
    if removed is None or not removed[1] or removed[1] & asked_for \
            or left_out_tests(removed[1], baseline.graded):
        return False
    results = _grade_copy(path, removed[0], mutant.source, pack, options)
    return results is not None and _same_scores(results, baseline)


def _grade_copy(path: Path, text: str, then: str, pack: Pack,
                options: GradeOptions) -> Results | None:
    """The grade of ``text`` (a copy of the mutant) put at ``path``, ``then`` put back; None
    when it cannot be graded (a copy that breaks the grader shows nothing)."""
    try:
        with _holding(path, text, then):
            results = grade(path, pack, options)
    except Exception:  # noqa: BLE001
        return None
    return None if results.extra_data.get("grader_failed") else results


def _same_scores(results: Results, baseline: Baseline) -> bool:
    """Every test scored as it did for the reference."""
    scores = {_key(t): t.score for t in results.tests}
    return scores.keys() == baseline.scores.keys() and all(
        abs(scores[k] - baseline.scores[k]) <= 1e-9 for k in scores)


def _unreached(mutant: Mutant, pack: Pack, options: GradeOptions, baseline: Baseline,
               path: Path) -> str:
    """Why a survivor no stated reason explains survived, when the reason is that no test
    that ran executes the edited statement: a canary copy, which raises just before it, keeps
    every test's reference score. "" when a test does run it (a gap) or that cannot be shown
    (module-level code; a canary the code itself catches would read as unreached)."""
    alarmed = canary(mutant.source, mutant.line)
    if alarmed is None:
        return ""
    results = _grade_copy(path, alarmed, mutant.source, pack, options)
    if results is None or not _same_scores(results, baseline):
        return ""
    return (f"no test that ran executes the edited statement (in `{mutant.function}`): a "
            "copy that raises just before it keeps the reference's score; add a test that "
            "runs it, unless it is code the handout gives and grading never uses")


def classify(mutant: Mutant, results: Results, baseline: Baseline) -> Outcome:
    """killed (fewer points than the reference), survived (as many), timed out, or error
    (the grader itself could not run the tests)."""
    if results.extra_data.get("grader_failed"):
        return Outcome(mutant, ERROR, results.score, message=results.output[:500])
    timed = [t for t in results.tests if t.status == "timeout" or (
        t.status == "error" and any(w in t.output.lower() for w in TIMEOUT_WORDS))]
    if timed or results.extra_data.get("stopped_at_time_limit"):
        first = timed[0].name if timed else "the overall time limit"
        return Outcome(mutant, TIMED_OUT, results.score, message=f"timed out: {first}")
    if results.score < baseline.score - 1e-9:
        lost = next((t for t in results.tests
                     if t.score < baseline.scores.get(_key(t), t.max_score) - 1e-9), None)
        return Outcome(mutant, KILLED, results.score, killed_by=lost.name if lost else "")
    note = "scored more than the reference" if results.score > baseline.score + 1e-9 else ""
    return Outcome(mutant, SURVIVED, results.score, message=note)
