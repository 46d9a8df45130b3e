"""``grader merge``: the submission-time results plus the later (GPU) batch, per student.

The submission-time results (Gradescope's, or ``grader batch --part cpu``) hold the later
tests as ``deferred`` with 0/0 and their real points in ``extra_data``. The later batch
(``grader batch --part later``) graded only those tests. Merging puts each deferred test's
later result in its place, matched by pytest node id, and checks that both runs graded the
same hand-in. A deferred test with no later result counts 0 of its real points, saying why.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.grades import Graded, write_grades
from grader.batch.pages import write_feedback
from grader.results import DEFERRED_PREFIX, validate, write_results

MISSING = ("Not graded: the later grading run has no result for this test, so it counts 0. "
           "Ask the course staff.")
MISMATCH = ("Not graded: the later grading run graded a different version of your submission "
            "(its hash differs), so this test counts 0 until it is regraded.")


@dataclass
class MergeSummary:
    rows: list[Graded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"merged {len(self.rows)} students"
        if self.problems:
            text += f"; {len(self.problems)} problem(s):\n" + "\n".join(
                f"- {p}" for p in self.problems)
        return text


def merge_results(now: dict[str, Any], later: dict[str, Any] | None) -> tuple[dict, list[str]]:
    """One student's final results; ``later`` may be None (the later batch missed them)."""
    merged = copy.deepcopy(now)
    problems: list[str] = []
    later_tests = {_nodeid(t): t for t in (later or {}).get("tests", [])}
    same = later is not None and _sha(later) == _sha(now)
    if later is not None and not same:
        problems.append("the two runs graded different hand-ins (submission hashes differ)")
    for i, test in enumerate(merged.get("tests", [])):
        extra = test.get("extra_data", {})
        if extra.get("status") != "deferred":
            continue
        found = later_tests.get(_nodeid(test))
        skipped = found is not None and found.get("extra_data", {}).get("status") in (
            "skipped", "deferred")
        if found is not None and same and not skipped:
            merged["tests"][i] = copy.deepcopy(found)
            continue
        if skipped and same:  # e.g. a gpu test in a later run on a machine without CUDA
            problems.append(f"{test.get('name')} was not run in the later run: "
                            f"{found.get('output', '')[:200]}")
        points = float(extra.get("deferred_points", 0))
        test.update(score=0.0, max_score=points, status="failed",
                    name=str(test.get("name", "")).removeprefix(DEFERRED_PREFIX),
                    output=MISMATCH if later is not None and not same else MISSING)
        extra["status"] = "not run"
        if later is not None and same and not skipped:
            problems.append(f"no later result for {test.get('name')}")
    merged["score"] = round(sum(float(t.get("score", 0)) for t in merged.get("tests", [])), 4)
    merged.setdefault("extra_data", {})["merged_from"] = {
        "now": now.get("extra_data", {}).get("batch", {}),
        "later": (later or {}).get("extra_data", {}).get("batch", {})}
    validate(merged)
    return merged, problems


def merge_folders(now_dir: Path, later_dir: Path, out: Path, title: str = "") -> MergeSummary:
    """Merge two batch outputs (folders holding ``results/*.json``) into ``out``."""
    now_all, later_all = _load(now_dir), _load(later_dir)
    summary = MergeSummary()
    for key in sorted(set(now_all) | set(later_all)):
        now = now_all.get(key)
        if now is None:
            summary.problems.append(f"{key}: only in the later run; its results are used alone")
            merged, problems = copy.deepcopy(later_all[key]), []
        else:
            merged, problems = merge_results(now, later_all.get(key))
            if key not in later_all and _has_deferred(now):
                problems.append("not in the later run: deferred tests count 0")
        summary.problems += [f"{key}: {p}" for p in problems]
        write_results(merged, out / "results" / f"{key}.json")
        batch = merged.get("extra_data", {}).get("merged_from", {}).get("now", {})
        student = batch.get("student", key)
        write_feedback(merged, out / "feedback", student, title)
        summary.rows.append(Graded(student, batch.get("status", "ok"), merged,
                                   batch.get("name", ""), batch.get("email", ""),
                                   batch.get("submission", "")))
    write_grades(summary.rows, out)
    return summary


def _load(folder: Path) -> dict[str, dict]:
    results = folder / "results" if (folder / "results").is_dir() else folder
    loaded = {}
    for path in sorted(results.glob("*.json")):
        try:
            loaded[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return loaded


def _nodeid(test: dict) -> str:
    return test.get("extra_data", {}).get("nodeid") or test.get("name", "")


def _sha(results: dict) -> str:
    return results.get("extra_data", {}).get("submission_sha256", "")


def _has_deferred(results: dict) -> bool:
    return any(t.get("extra_data", {}).get("status") == "deferred"
               for t in results.get("tests", []))
