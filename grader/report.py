"""From the plugin's recorded events to :class:`~grader.results.Results` and a score table.

Every collected graded test appears in the results, whatever happened to it: a test with no
recorded outcome (the run was killed at the overall time limit, or crashed) gets 0 points and
says why, so a score can never rise because grading stopped early.
"""

from __future__ import annotations

import math
from typing import Any

from grader.results import Results, TestResult

NOT_RUN = "Not run: grading stopped before this test ({why})."
DEFERRED_NOTE = ("Graded later {where}: this test trains your model on real data, which runs "
                 "after the deadline. It shows 0/0 here; its {points:g} points are added when "
                 "grades are published.")


def results_from_events(events: list[dict], *, stopped_because: str = "the run ended early",
                        execution_time: float = 0.0) -> Results:
    collected: list[dict] = []
    outcomes: dict[str, dict] = {}
    load: dict = {}
    for event in events:
        kind = event.get("event")
        if kind == "collected":
            collected = event.get("tests", [])
        elif kind == "result":
            outcomes[event["nodeid"]] = event
        elif kind == "load" and not load:
            load = event
    tests = [_test_result(meta, outcomes.get(meta["nodeid"]), stopped_because)
             for meta in collected]
    extra = {"isolation": load.get("isolation", "not started"),
             "submission": load.get("note", "")}
    return Results(tests=tests, output=_overview(load), execution_time=execution_time,
                   extra_data=extra)


def _test_result(meta: dict, outcome: dict | None, stopped_because: str) -> TestResult:
    result = TestResult(
        name=meta["name"], max_score=meta["points"], visibility=meta["visibility"],
        number=meta.get("number", ""), tags=[meta["function"]], nodeid=meta["nodeid"],
    )
    if meta.get("gpu"):
        result.extra["gpu"] = True
    if outcome is None:
        result.output = NOT_RUN.format(why=stopped_because)
        return result
    result.status = outcome.get("status", "error")
    result.execution_time = float(outcome.get("duration", 0.0))
    if outcome.get("curves"):
        result.extra["curves"] = _finite(outcome["curves"])
    if result.status == "skipped" and str(outcome.get("message", "")).startswith("deferred"):
        return _deferred(result, "on a GPU" if meta.get("gpu") else "by the course staff")
    if result.status == "passed":
        result.score = result.max_score
        result.output = "Passed."
    else:
        message = outcome.get("message") or "Failed."
        if result.status == "skipped":
            if message.lower().startswith("not run"):
                message = message[len("not run"):].lstrip(": ")
            message = f"Not run: {message}"
        result.output = message
    if outcome.get("notes"):
        result.output += "\n\n" + outcome["notes"]
    printed = outcome.get("printed")
    if printed and result.status != "passed":
        text, dropped = printed
        cut = f"\n… ({dropped} more characters not shown)" if dropped else ""
        result.output += f"\n\nYour code printed:\n```\n{text[:1500]}{cut}\n```"
    return result


def _finite(value: Any) -> Any:
    """results.json may not hold NaN or infinity (Gradescope's parser rejects them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _deferred(result: TestResult, where: str) -> TestResult:
    """A test left for the later batch (a GPU, or more memory than Gradescope gives): worth 0
    now, hidden until grades are published, and carrying its real points so that
    ``grader merge`` can put them back."""
    result.extra["deferred_points"] = result.max_score
    result.output = DEFERRED_NOTE.format(where=where, points=result.max_score)
    result.status, result.max_score, result.score = "deferred", 0.0, 0.0
    result.visibility = "after_published"
    return result


def _overview(load: dict) -> str:
    if not load:
        return ""
    if load.get("fatal"):
        return load["fatal"]
    report = load.get("report") or {}
    parts = []
    if load.get("note"):
        parts.append(f"Graded: {load['note']}.")
    if report.get("syntax_error"):
        parts.append(f"**Your file could not be loaded:** {report['syntax_error']}")
    if report.get("skipped_note"):
        parts.append(report["skipped_note"])
    if report.get("errors"):
        parts.append("While loading your file:\n" + "\n".join(f"- {e}" for e in report["errors"]))
    return "\n\n".join(parts)


def score_table(results: Results) -> str:
    """A plain-text table for terminals: one line per test, then the total."""
    rows = [(t.number, t.name, ",".join(t.tags), f"{t.score:g}/{t.max_score:g}", t.status)
            for t in results.tests]
    header = ("#", "test", "function", "points", "status")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    widths[1] = min(widths[1], 60)
    lines = ["  ".join(str(c)[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"Total: {results.score:g} / {results.max_score:g}")
    return "\n".join(lines)
