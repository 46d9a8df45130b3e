"""Every graded test's outcome and a student-facing message (never the test's source), as
events in the session's state: what was collected, each result, a pack test file that could
not be imported, and the trusted process's memory."""

from __future__ import annotations

from typing import Any

import pytest

from grader.failures import failure_message, is_timeout
from grader.plugin.state import STATE_KEY, emit


class Recording:
    """Turns pytest's reports into the events :mod:`grader.report` makes results of."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A pack test file that cannot be imported is the grader's failure, not the
        student's."""
        if report.failed:
            emit(self.config, {"event": "collect_error", "nodeid": report.nodeid,
                               "detail": str(report.longrepr)[-4000:]})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        tests = []
        for number, item in enumerate(session.items, 1):
            meta = graded_meta(item, number)
            if meta:
                tests.append(meta)
        emit(session.config, {"event": "collected", "tests": tests})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        if item.get_closest_marker("graded") is None:
            return report
        state = item.config.stash[STATE_KEY]
        record = state["records"].setdefault(item.nodeid, {})
        record.setdefault("duration", 0.0)
        record["duration"] += report.duration
        if report.skipped and "status" not in record:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
                else str(report.longrepr)
            record.update(status="skipped", message=str(reason).removeprefix("Skipped: "))
        elif report.failed and record.get("status") not in ("failed", "timeout", "error"):
            exc = call.excinfo.value if call.excinfo else None
            status = "timeout" if is_timeout(exc) else "failed" if report.when == "call" \
                else "error"
            record.update(status=status, message=failure_message(exc, report))
            report.longrepr = f"[{record['status']}] {record['message']}"  # feedback, not source
        elif report.passed and report.when == "call":
            record.setdefault("status", "passed")
        if report.when == "teardown":
            notes = getattr(item, "funcargs", {}).get("feedback")
            if notes:
                record["notes"] = "\n".join(str(n) for n in notes)
            drawn = getattr(item, "funcargs", {}).get("curves")
            if drawn:
                record["curves"] = drawn
            emit(item.config, {"event": "result", "nodeid": item.nodeid, **record})
        return report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """The trusted process's own peak memory: what grading this hand-in cost the judge."""
        import resource

        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        emit(session.config, {"event": "memory", "trusted_peak_mb": round(peak_kb / 1024, 1)})


def graded_meta(item: pytest.Item, number: int) -> dict | None:
    """A graded test as the results list it (None for a test that is not graded)."""
    mark = item.get_closest_marker("graded")
    if mark is None:
        return None
    kwargs = mark.kwargs
    if "points" not in kwargs or "function" not in kwargs:
        raise pytest.UsageError(f"{item.nodeid}: graded() needs points= and function=")
    uses = kwargs.get("uses", ())
    if isinstance(uses, str) or not all(isinstance(u, str) for u in uses):
        raise pytest.UsageError(f"{item.nodeid}: graded(uses=...) is a list of names")
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    name = kwargs.get("name") or (doc[0] if doc else item.name)
    if "[" in item.name and not kwargs.get("name"):
        name += " " + item.name[item.name.index("["):]
    return {
        "nodeid": item.nodeid, "name": name, "points": float(kwargs["points"]),
        "function": kwargs["function"], "uses": list(uses),
        "visibility": kwargs.get("visibility", "visible"),
        "number": str(number), "gpu": item.get_closest_marker("gpu") is not None,
        "slow": item.get_closest_marker("slow") is not None,
    }
