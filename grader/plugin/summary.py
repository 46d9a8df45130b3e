"""The score table at the end of a grading run by hand (``pytest`` in a student's folder,
or on a pack's tests); a run for :mod:`grader.runner` leaves the table to it."""

from __future__ import annotations

from typing import Any

import pytest

from grader.plugin.state import STATE_KEY


class ScoreTable:
    """Prints the grade under pytest's own summary."""

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if config.getoption("grader_state"):
            return
        from grader.report import results_from_events, score_table

        events = config.stash[STATE_KEY].get("events", [])
        if not any(e.get("event") == "result" for e in events):
            return
        results = results_from_events(events)
        terminalreporter.write_sep("=", "grade")
        terminalreporter.write_line(score_table(results))
