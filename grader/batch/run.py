"""``grader batch``: grade a class, in parallel, resumably, and write what TAs need.

Each submission is a :class:`~grader.batch.task.Task` run by a thread pool on this machine or,
with ``--cluster``, by a Dask cluster (:mod:`grader.batch.cluster`). Only this coordinator
writes files: ``results/<student>.json``, ``feedback/<student>.{md,html}``, ``grades.csv``,
``grades.json`` and ``similarity.{md,json}``. A submission already graded with the same
hand-in hash, grader version, pack and options is not graded again.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import __version__
from grader.batch.grades import Graded, write_grades
from grader.batch.mps import mps_daemon
from grader.batch.pages import safe_name, write_feedback
from grader.batch.roster import Entry, discover, open_export
from grader.batch.task import HandInTooLarge, Task, pack_files, run_task
from grader.canary import check_environment
from grader.devices import cuda_available
from grader.packs import Pack
from grader.results import failure_results, write_results
from grader.runner import GradeOptions, pack_digest, submission_digest
from grader.train.loop import GPU_FRACTION_ENV

# batch part -> the plugin's --gpu-tests: "cpu" is what Gradescope runs (the later tests are
# deferred), "later" only the tests graded later (gpu, or deferred by the pack's config),
# "all" runs everything where CUDA is and defers the later tests where it is not.
PARTS = {"all": "auto", "cpu": "defer", "later": "only"}


@dataclass(frozen=True)
class BatchOptions:
    part: str = "all"  # see PARTS
    jobs: int = 2
    cluster: str | None = None
    gpu_fraction: float = 0.25  # of one GPU per training job, on the cluster
    overall_timeout_s: float | None = None
    fast: bool = False
    force: bool = False
    similarity: bool = True
    feedback: bool = True
    progress: bool = True
    canary: bool = True  # grade the reference first; stop if it loses points (grader.canary)


@dataclass
class BatchSummary:
    out: Path
    graded: int = 0
    reused: int = 0
    statuses: Counter = field(default_factory=Counter)
    rows: list[Graded] = field(default_factory=list)
    similar_pairs: int | None = None
    mps: str = ""  # what was done about CUDA MPS for the batch's training jobs

    def describe(self) -> str:
        status = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        text = (f"{len(self.rows)} submissions ({status}); graded {self.graded}, "
                f"reused {self.reused} earlier results. Grades: {self.out / 'grades.csv'}")
        if self.similar_pairs is not None:
            text += (f"\nSimilarity: {self.similar_pairs} pair(s) above the threshold: "
                     f"{self.out / 'similarity.md'}")
        return text


def run_batch(source: str | Path, pack: Pack, out: str | Path,
              options: BatchOptions = BatchOptions()) -> BatchSummary:
    if options.part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, not {options.part!r}")
    out = Path(out)
    entries = discover(open_export(source, out / "export"))
    grade_options = GradeOptions(fast=options.fast, overall_timeout_s=options.overall_timeout_s,
                                 gpu_tests=PARTS[options.part])
    if options.canary:  # a broken environment must not be charged to a whole class
        check_environment(pack, grade_options)
    if options.part in ("all", "later") and not options.cluster:
        # jobs that train share this machine's GPU: each gets its share of its memory
        os.environ.setdefault(GPU_FRACTION_ENV, f"{1 / max(1, options.jobs):.3f}")
    stamp = {"grader_version": __version__, "pack_sha256": pack_digest(pack),
             "part": options.part, "fast": options.fast}
    summary = BatchSummary(out=out)
    todo: list[tuple[Entry, str]] = []
    for entry in entries:
        digest = submission_digest(entry.path) if entry.path.exists() else "missing"
        earlier = _earlier(out, entry, {**stamp, "submission_sha256": digest})
        if earlier is not None and not options.force:
            summary.rows.append(earlier)
            summary.reused += 1
        else:
            todo.append((entry, digest))
    training = options.part in ("all", "later") and not options.fast and not options.cluster
    with mps_daemon(training and options.jobs > 1 and cuda_available()) as mps, \
            _executor(options) as submit:
        summary.mps = mps
        futures = {}
        for entry, digest in todo:
            futures[submit(_task(entry, pack, grade_options, stamp))] = (entry, digest)
        for future in _progress(cf.as_completed(futures), len(futures), options.progress):
            entry, digest = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails one student only
                outcome = {"status": "error", "results": failure_results(
                    f"The grader failed on this submission: {exc}", repr(exc)).to_json()}
            summary.rows.append(_record(out, pack, entry, outcome, {**stamp,
                                        "submission_sha256": digest}, options))
            summary.graded += 1
    summary.statuses = Counter(r.status for r in summary.rows)
    write_grades(summary.rows, out)
    if options.similarity:
        summary.similar_pairs = _similarity(entries, pack, out)
    return summary


def _task(entry: Entry, pack: Pack, grade_options: GradeOptions, stamp: dict) -> Task:
    try:
        files, is_folder = pack_files(entry.path)
    except (OSError, HandInTooLarge):
        files, is_folder = (), True  # graded as "nothing found", with that reason
    return Task(student=entry.student, assignment=pack.name, files=files, is_folder=is_folder,
                options=dataclasses.asdict(grade_options), pack_sha256=stamp["pack_sha256"])


def _results_path(out: Path, student: str) -> Path:
    return out / "results" / f"{safe_name(student)}.json"


def _earlier(out: Path, entry: Entry, stamp: dict) -> Graded | None:
    """The stored result when it was made from the same hand-in, grader, pack and options."""
    path = _results_path(out, entry.student)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        batch = results["extra_data"]["batch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(batch.get(k) != v for k, v in stamp.items()) or batch.get("status") == "error":
        return None
    return Graded(entry.student, batch["status"], results, entry.name, entry.email,
                  entry.submission)


def _record(out: Path, pack: Pack, entry: Entry, outcome: dict[str, Any], stamp: dict,
            options: BatchOptions) -> Graded:
    results = outcome["results"]
    status = outcome.get("status", "error")
    results.setdefault("extra_data", {})["batch"] = {
        **stamp, "status": status, "student": entry.student, "name": entry.name,
        "email": entry.email, "submission": entry.submission, "host": outcome.get("host", "")}
    write_results(results, _results_path(out, entry.student))
    if options.feedback:
        with contextlib.suppress(Exception):  # a page that cannot be drawn loses no grade
            write_feedback(results, out / "feedback", entry.student, pack.title)
    return Graded(entry.student, status, results, entry.name, entry.email, entry.submission)


@contextlib.contextmanager
def _executor(options: BatchOptions) -> Iterator[Any]:
    """``submit(task) -> concurrent.futures.Future``, local threads or a Dask cluster."""
    if options.cluster:
        from grader.batch.cluster import cluster_executor

        gpu = options.part in ("all", "later") and not options.fast
        with cluster_executor(options.cluster, options.gpu_fraction if gpu else 0.0) as ex:
            yield lambda task: ex.submit(run_task, task)
        return
    # Each task waits on its own pytest subprocess, so threads give real parallelism.
    with cf.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as ex:
        yield lambda task: ex.submit(run_task, task)


def _progress(iterable: Any, total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, unit="submission", file=sys.stderr, dynamic_ncols=True)


def _similarity(entries: list[Entry], pack: Pack, out: Path) -> int:
    from grader.batch.similarity import read_solutions, similarity_report, solution_text

    sources, unreadable = read_solutions({e.student: e.path for e in entries},
                                         pack.submission_name)
    template_file = pack.template_dir / pack.submission_name
    template = solution_text(template_file, pack.submission_name) if template_file.exists() \
        else ""
    report = similarity_report(sources, template, unreadable=unreadable, jobs=2)
    report.write(out)
    return len(report.pairs)
