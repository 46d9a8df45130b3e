"""`grader.testing` is the one module a pack imports: every name it lists resolves, its steps
fail the way a graded test must, and no pack reaches past it into the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import grader.testing as testing
from grader.packs import available_packs, load_pack
from grader.worker.client import SubmissionError


def test_every_name_of_the_front_door_resolves():
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name
    with pytest.raises(AttributeError, match="see its __all__"):
        testing.no_such_name  # noqa: B018


@pytest.mark.parametrize("pack", available_packs())
def test_packs_import_only_the_front_door(pack):
    """Packs import ``grader.testing`` and standard or scientific libraries, nothing else of
    the engine (what they need is on the front door, so the engine may move underneath)."""
    reaching = []
    for path in sorted(load_pack(pack).tests_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            reaching += [f"{path.name}:{node.lineno} {m}" for m in modules
                         if m.split(".")[0] == "grader" and m != "grader.testing"]
    assert not reaching, reaching


def test_a_pack_never_names_itself():
    for pack in available_packs():
        for path in load_pack(pack).tests_dir.rglob("*.py"):
            assert f'load_pack("{pack}")' not in path.read_text(encoding="utf-8"), path


class _Student:
    def __init__(self, answer=None, error=None):
        self.answer, self.error = answer, error

    def engine(self, name, *args, doing="", **kwargs):
        if self.error:
            raise self.error
        return self.answer


def _refuse(raw):
    raise testing.ModelSpecError(f"layer 2 is `{raw}`, not allowed")


def test_described_turns_refusals_here_and_there_into_graded_failures():
    refused = _Student(error=SubmissionError("not a model", kind="refused"))
    with pytest.raises(testing.GradingFailure, match=r"^`build\(\)`: not a model$"):
        testing.described(refused, "describe_model", object(), what="`build()`")
    with pytest.raises(testing.GradingFailure, match=r"^`build\(\)`: layer 2 is `LSTM`"):
        testing.described(_Student("LSTM"), "describe_model", object(), what="`build()`",
                          validate=_refuse)
    crashed = _Student(error=SubmissionError("ZeroDivisionError", kind="error"))
    with pytest.raises(SubmissionError):  # the student's own error is not swallowed
        testing.described(crashed, "describe_model", object(), what="`build()`")
    assert testing.described(_Student([1]), "describe_model", what="x", validate=len) == 1


def test_first_passing_stops_at_the_first_run_that_passes():
    ran = []

    def run(seed):
        ran.append(seed)
        return seed * 0.4

    assert testing.first_passing([0, 1, 2, 3], run, lambda r: r > 0.5) == (True, [0.0, 0.4, 0.8])
    assert ran == [0, 1, 2]
    assert testing.first_passing([0], run, lambda r: r > 0.5) == (False, [0.0])


def test_pack_of_finds_the_pack_from_any_of_its_files(tmp_path):
    pack = load_pack(available_packs()[0])
    assert testing.pack_of(pack.tests_dir / "any_test.py").name == pack.name
    with pytest.raises(LookupError, match="not inside a pack"):
        testing.pack_of(Path(tmp_path) / "test_x.py")
