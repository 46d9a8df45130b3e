"""What the plugin's parts share in one session: the outcome recorded for each graded test
and the events, streamed to the state file that :mod:`grader.runner` reads (and kept here
for the score table of a run by hand)."""

from __future__ import annotations

import json
import time

import pytest

STATE_KEY = pytest.StashKey[dict]()


def new_state() -> dict:
    """A session's state: ``records`` (node id -> outcome), ``events`` once one is emitted."""
    return {"records": {}, "started": time.time()}


def emit(config: pytest.Config, event: dict) -> None:
    """Record ``event``, and append it to the state file at once: a run stopped at the time
    limit keeps everything graded before it."""
    state = config.stash[STATE_KEY]
    state.setdefault("events", []).append(event)
    path = config.getoption("grader_state")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, default=str) + "\n")
            f.flush()
