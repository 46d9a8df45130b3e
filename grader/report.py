"""From the plugin's recorded events to :class:`~grader.results.Results` and a score table.

Every collected graded test appears in the results, whatever happened to it: a test with no
recorded outcome (the run was killed at the overall time limit, or crashed) gets 0 points and
says why, so a score can never rise because grading stopped early.
"""

from __future__ import annotations

import io
import math
import shutil
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.feedback import block, code, plain, shorten_paths
from grader.results import Results, TestResult

NOT_RUN = "Not run: grading stopped before this test ({why})."
NOT_GRADED = {
    "missing": "Not graded: nothing to grade was found in your submission; the top of this page "
               "says what was there.",
    "not loadable": "Not graded: your file could not be loaded; the reason is at the top of "
                    "this page.",
    "error": "Not graded: the grader could not run your file; the top of this page says why.",
}
START_HERE_AT = 2  # tests failing with the same first line make a root cause
DEFERRED_NOTE = ("Graded later {where}: this test trains your model on real data, which runs "
                 "after the deadline. It shows 0/0 here; its {points:g} points are added when "
                 "grades are published.")


def results_from_events(events: list[dict], *, stopped_because: str = "the run ended early",
                        execution_time: float = 0.0) -> Results:
    collected: list[dict] = []
    outcomes: dict[str, dict] = {}
    load: dict = {}
    memory: dict = {}
    for event in events:
        kind = event.get("event")
        if kind == "memory":
            memory = event
        if kind == "collected":
            collected = event.get("tests", [])
        elif kind == "result":
            outcomes[event["nodeid"]] = event
        elif kind == "load" and not load:
            load = event
    tests = [_test_result(meta, outcomes.get(meta["nodeid"]), stopped_because)
             for meta in collected]
    status = load_status(load)
    extra = {"isolation": load.get("isolation", "not started"),
             "submission": load.get("note", ""), "load_status": status}
    if isinstance(memory.get("trusted_peak_mb"), int | float):
        extra["trusted_peak_mb"] = memory["trusted_peak_mb"]
    overview = _overview(load)
    if status != "ok":
        _point_to_the_top(tests, NOT_GRADED.get(status, NOT_GRADED["error"]))
    else:
        overview = "\n\n".join(part for part in (_start_here(tests), overview) if part)
    return Results(tests=tests, output=overview, execution_time=execution_time,
                   extra_data=extra)


def load_status(load: dict) -> str:
    """``ok``; ``missing`` (nothing handed in); ``not loadable`` (a syntax error, an empty
    file, a refused archive, a file the worker could not load); ``error`` (the grader's)."""
    if load.get("fatal"):
        return load.get("status", "not loadable")
    report = load.get("report") or {}
    if report.get("syntax_error") or report.get("empty"):
        return "not loadable"
    return "ok"


def _point_to_the_top(tests: list[TestResult], pointer: str) -> None:
    """A file that could not be loaded fails every test for that one reason: say it once,
    at the top (the overview), not once per test."""
    for test in tests:
        if test.status in ("failed", "error") and test.score < test.max_score:
            test.output = pointer


def _start_here(tests: list[TestResult]) -> str:
    """When several tests fail for one cause (a missing method, one broken helper), name it
    first: fixing it may fix them all."""
    causes: dict[str, list[TestResult]] = {}
    for test in tests:
        if test.status in ("failed", "error", "timeout") and test.score < test.max_score:
            first = (test.output.strip().splitlines() or [""])[0]
            causes.setdefault(first, []).append(test)
    common = [(first, group) for first, group in causes.items()
              if len(group) >= START_HERE_AT and first]
    if not common:
        return ""
    lines = ["**Start here:** several tests fail for the same reason; fixing it may fix them "
             "all."]
    for first, group in sorted(common, key=lambda c: -len(c[1]))[:3]:
        numbers = ", ".join(t.number or t.name for t in group[:12])
        lines.append(f"- {len(group)} tests (#{numbers}{', …' if len(group) > 12 else ''}): "
                     f"{first[:500]}")
    return "\n".join(lines)


def _test_result(meta: dict, outcome: dict | None, stopped_because: str) -> TestResult:
    # the function first (what the test grades), then what kind of test it is
    tags = [meta["function"], *(kind for kind in ("gpu", "slow") if meta.get(kind))]
    result = TestResult(
        name=meta["name"], max_score=meta["points"], visibility=meta["visibility"],
        number=meta.get("number", ""), tags=tags, nodeid=meta["nodeid"],
    )
    if meta.get("gpu"):
        result.extra["gpu"] = True
    if meta.get("uses"):
        result.extra["uses"] = list(meta["uses"])
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
        shown = shorten_paths(str(text)[:1500])
        result.output += f"\n\nYour code printed:\n{block(shown + cut)}"
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
    # Everything in the load report, and the note's file names, came from the hand-in or the
    # worker: shown as plain text or code, never as Markdown of its own.
    parts = []
    if load.get("note"):
        parts.append(f"Graded: {plain(load['note'], 500)}.")
    if report.get("environment_errors"):
        parts.append("**Autograder environment problem (not your code):** a library failed "
                     "while your file imported it; the course staff have been told.\n"
                     + "\n".join(f"- {code(e, 400)}" for e in report["environment_errors"]))
    if report.get("syntax_error"):
        parts.append(f"**Your file could not be loaded:** {code(report['syntax_error'], 500)}")
    elif report.get("empty"):
        parts.append(f"**Your file is empty:** {code(report.get('display_name', 'it'), 120)} "
                     "holds no code. Did you upload the right file, after saving it?")
    if report.get("skipped_note"):
        parts.append(plain(report["skipped_note"]))
    if report.get("errors"):
        parts.append("While loading your file:\n"
                     + "\n".join(f"- {code(e, 400)}" for e in report["errors"]))
    return "\n\n".join(parts)


NOT_RUN_STATUSES = ("skipped", "deferred")


def score_table(results: Results, width: int | None = None) -> str:
    """A plain-text table for terminals: one row per test, long names wrapped (never cut:
    six tests of a pack differ only after 60 characters), then the total (and the total over
    the tests that ran, when some did not). Laid out by rich, ``width`` columns wide (default:
    the terminal's, else 100)."""
    table = Table(box=None, pad_edge=False)  # ASCII only: any terminal's encoding prints it
    table.add_column("#", no_wrap=True)
    table.add_column("test", overflow="fold", ratio=1)
    table.add_column("function", overflow="fold")
    table.add_column("points", no_wrap=True, justify="right")
    table.add_column("status", no_wrap=True)
    for t in results.tests:  # Text: a name's [brackets] or :colons: are not rich markup
        table.add_row(*(Text(str(c)) for c in (t.number, t.name, t.tags[0] if t.tags else "",
                                                f"{t.score:g}/{t.max_score:g}", t.status)))
    columns = width or (shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty()
                        else 100)
    console = Console(file=io.StringIO(), width=max(columns, 60), color_system=None,
                      highlight=False, emoji=False)
    console.print(table)
    lines = [line.rstrip() for line in console.file.getvalue().rstrip("\n").splitlines()]
    lines.insert(1, "-" * max(len(line) for line in lines))
    lines.append(f"Total: {results.score:g} / {results.max_score:g}")
    ran = [t for t in results.tests if t.status not in NOT_RUN_STATUSES]
    if len(ran) < len(results.tests):
        left = sum(t.max_score for t in results.tests if t.status in NOT_RUN_STATUSES)
        missing = len(results.tests) - len(ran)
        lines.append(f"On the {len(ran)} tests that ran: {sum(t.score for t in ran):g} / "
                     f"{sum(t.max_score for t in ran):g} ({missing} "
                     f"test{'s' if missing > 1 else ''}, {left:g} points, not run here)")
    return "\n".join(lines)
