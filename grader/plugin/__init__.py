"""The pytest plugin that turns a pack's tests into a grade.

Tests say what they are worth with ``@pytest.mark.graded(points=2, function="softmax")``
(optionally ``visibility="after_published"`` for hidden tests, ``name=...``, and
``uses=["TRAINING_2C"]`` for other names of the submission the test also judges, which
``grader audit`` reads). The ``student``
fixture hands them the submission as a :class:`~grader.worker.proxy.Student`, running in a
worker process. This plugin records every graded test's outcome and a student-facing message
(never the test's source) in a state file that :mod:`grader.runner` turns into results.json;
run by hand, it prints a score table instead.

This module is what pytest loads (the ``pytest11`` entry point ``grader``): it adds the
options (declared in :mod:`grader.options`) and, once they are parsed, registers one plugin
object per concern, as pytest does with its own:
:class:`~grader.plugin.selection.Selection` (which tests run),
:class:`~grader.plugin.fixtures.Fixtures` (``student`` and the rest),
:class:`~grader.plugin.recording.Recording` (outcomes, the state file) and
:class:`~grader.plugin.summary.ScoreTable`.
"""

from __future__ import annotations

import pytest

from grader.options import GPU_MODES, add_pytest_options
from grader.plugin.fixtures import Fixtures
from grader.plugin.recording import Recording
from grader.plugin.selection import DEFERRED, Selection
from grader.plugin.session import configure_session
from grader.plugin.state import STATE_KEY, new_state
from grader.plugin.summary import ScoreTable

__all__ = ["DEFERRED", "GPU_MODES", "STATE_KEY", "pytest_addoption", "pytest_configure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser.getgroup("grader", "grading a submission"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "graded(points, function, visibility, name, uses): a graded test")
    config.addinivalue_line("markers", "slow: long-running; left out by --fast")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU")
    config.stash[STATE_KEY] = new_state()
    for name, plugin in (("grader-selection", Selection()), ("grader-fixtures", Fixtures()),
                         ("grader-recording", Recording(config)),
                         ("grader-score-table", ScoreTable())):
        config.pluginmanager.register(plugin, name)
    configure_session(config)
