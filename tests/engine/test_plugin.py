"""The plugin's parts, as pytest sees them: grader.plugin (the entry point) registers one
plugin object per concern, whose fixtures reach any test and whose records reach the state
file and the score table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.plugin.fixtures import Fixtures
from grader.plugin.recording import Recording
from grader.plugin.selection import Selection
from grader.plugin.summary import ScoreTable

PACKROOT = Path(__file__).parent / "packroot"
PARTS = {"grader-selection": Selection, "grader-fixtures": Fixtures,
         "grader-recording": Recording, "grader-score-table": ScoreTable}
PROBE = '''
import pytest


@pytest.mark.graded(points=1, function="double")
def test_sees_the_fixtures(pack, feedback, curves, training_device):
    """the plugin's fixtures reach a test outside the pack"""
    feedback.append("seen")
    assert pack.name == "mini" and curves == [] and training_device == "cuda"


@pytest.mark.graded(points=2, function="double", visibility="after_published")
def test_hidden():
    """a hidden test"""
'''


@pytest.fixture
def probe(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))
    (tmp_path / "test_probe.py").write_text(PROBE)
    return [str(tmp_path / "test_probe.py"), "-p", "no:cacheprovider", "--import-mode=importlib",
            "--assignment", "mini", "-q"]


class _Parts:
    """Keeps what the session's plugin manager holds under each part's name."""

    def __init__(self) -> None:
        self.found: dict[str, object] = {}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.found = {name: session.config.pluginmanager.get_plugin(name) for name in PARTS}


def test_each_concern_is_a_plugin_whose_fixtures_and_records_work(probe, tmp_path):
    state = tmp_path / "state.jsonl"
    parts = _Parts()
    assert pytest.main([*probe, "--grader-state", str(state), "--public-only"],
                       plugins=[parts]) == 0
    assert {name: type(part) for name, part in parts.found.items()} == PARTS
    events = [json.loads(line) for line in state.read_text().splitlines()]
    assert [e["event"] for e in events] == ["collected", "result", "memory"]
    assert [t["name"] for t in events[0]["tests"]] == \
        ["the plugin's fixtures reach a test outside the pack"]  # --public-only: not hidden
    assert events[1]["status"] == "passed" and events[1]["notes"] == "seen"


def test_run_by_hand_it_prints_the_score_table(probe, capsys):
    assert pytest.main(probe) == 0
    out = capsys.readouterr().out
    assert "= grade =" in out and "Total: 3 / 3" in out


@pytest.mark.parametrize("uses, ok", [('["TRAINING"]', True), ('"TRAINING"', False),
                                      ("[1]", False)])
def test_graded_uses_is_a_list_of_names_recorded_with_the_test(uses, ok, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))
    probe = tmp_path / f"test_uses_{ok}_{len(uses)}.py"  # one module name per case
    probe.write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.graded(points=1, function='build', uses={uses})\n"
        "def test_trains():\n    pass\n")
    state = tmp_path / "state.jsonl"
    code = pytest.main([str(probe), "-p", "no:cacheprovider", "-q",
                        "--import-mode=importlib", "--assignment", "mini",
                        "--grader-state", str(state)])
    if not ok:
        assert code == pytest.ExitCode.USAGE_ERROR
        return
    collected = json.loads(state.read_text().splitlines()[0])
    assert code == 0 and collected["tests"][0]["uses"] == ["TRAINING"]
