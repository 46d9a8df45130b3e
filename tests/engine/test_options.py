"""The one table of grading options agrees with GradeOptions, the plugin's pytest options,
the runner's pytest command line and the `grader` command's flags."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import grader.cli
import grader.runner
from grader.options import OPTIONS, RUNNER_FIELDS, GradeOptions, Option, cli_values
from grader.packs import load_pack

PACKROOT = Path(__file__).parent / "packroot"
# the arguments each verb needs besides the options
VERB_ARGS = {"grade": ["solution.py"], "gradescope": [], "batch": ["folder", "--out", "out"]}


@pytest.fixture(autouse=True)
def mini_pack(monkeypatch):
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))


class _Parsed:
    """Stops pytest once it has parsed its command line, keeping the options' values."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> int:
        self.values = {option.dest: config.getoption(option.dest) for option in OPTIONS}
        return 0


def _parse(args: list[str]) -> dict[str, Any]:
    """What a pytest process given ``args`` holds for each option of the table."""
    parsed = _Parsed()
    assert pytest.main(args, plugins=[parsed]) == 0
    return parsed.values


def _field_value(option: Option, parsed: Any) -> Any:
    """The GradeOptions value a parsed pytest option stands for."""
    if option.inverted:
        return not parsed
    return None if parsed == "" else parsed  # -k's default is ""


def _every_field_changed() -> GradeOptions:
    """GradeOptions with each field the table carries away from its default."""
    defaults = GradeOptions()
    changed = {}
    for option in OPTIONS:
        if option.field is None:
            continue
        default = getattr(defaults, option.field)
        if option.switch:
            changed[option.field] = not default
        elif option.choices:
            changed[option.field] = next(c for c in option.choices if c != default)
        else:
            changed[option.field] = "double or Counter"
    return dataclasses.replace(defaults, **changed)


def test_each_field_is_carried_by_one_option_or_is_the_runners_own():
    fields = [f.name for f in dataclasses.fields(GradeOptions)]
    carried = [option.field for option in OPTIONS if option.field]
    assert len(carried) == len(set(carried))
    assert not set(carried) & set(RUNNER_FIELDS)
    assert sorted(carried + list(RUNNER_FIELDS)) == sorted(fields)
    assert len({option.flag for option in OPTIONS}) == len(OPTIONS)


@pytest.mark.parametrize("options", [GradeOptions(), _every_field_changed()],
                         ids=["defaults", "changed"])
def test_grade_options_reach_the_pytest_process(tmp_path, monkeypatch, options):
    """GradeOptions -> the runner's pytest command line -> the values that pytest process
    holds: each field, and what the runner takes from the run itself."""
    pack = load_pack("mini")
    seen: dict[str, Any] = {}

    def parse_instead_of_running(cmd: list[str], *args: Any, **kwargs: Any) -> tuple[bool, str]:
        assert cmd[1:3] == ["-m", "pytest"]
        seen.update(_parse(cmd[3:]))
        return False, ""

    monkeypatch.setattr(grader.runner, "_run", parse_instead_of_running)
    grader.runner.grade(tmp_path / "solution.py", pack, options)
    for option in OPTIONS:
        if option.field:
            assert _field_value(option, seen[option.dest]) == getattr(options, option.field), \
                option.flag
    assert seen["submission"] == str(tmp_path / "solution.py")
    assert seen["assignment"] == "mini"
    assert seen["grader_state"].endswith("state.jsonl")
    assert set(seen["later_marks"].split(",")) == set(pack.later_marks) != set()


def test_the_pytest_defaults_are_the_grade_options_defaults():
    """pytest run by hand (no runner) grades as GradeOptions() would."""
    parsed = _parse(["-p", "no:cacheprovider", str(PACKROOT / "tests" / "mini")])
    for option in OPTIONS:
        if option.field:
            assert _field_value(option, parsed[option.dest]) == \
                getattr(GradeOptions(), option.field), option.flag


def test_the_verbs_checked_here_are_those_of_the_table():
    assert {form.verb for option in OPTIONS for form in option.cli} == set(VERB_ARGS)


@pytest.mark.parametrize("verb", sorted(VERB_ARGS))
def test_each_verb_shows_the_flags_the_table_gives_it(verb):
    parser = grader.cli.build_parser()
    shown = [option for option in OPTIONS if option.form(verb)]
    assert shown and all(option.field and not option.inverted for option in shown)
    plain = parser.parse_args([verb, *VERB_ARGS[verb]])
    given: list[str] = []
    for option in shown:
        default = option.form(verb).default or option.default
        assert getattr(plain, option.dest) == (default if not option.switch else False)
        if option.switch:
            given.append(option.flag)
        else:
            given += [option.flag, next(c for c in option.choices if c != default)]
    changed = parser.parse_args([verb, *VERB_ARGS[verb], *given])
    assert all(getattr(changed, o.dest) != getattr(plain, o.dest) for o in shown)
    assert set(cli_values(changed, verb)) == {option.field for option in shown}


class _Stopped(BaseException):
    """Not an Exception: no `except Exception` of the command catches it."""


def _options_given(monkeypatch, target: str, argv: list[str]) -> GradeOptions:
    """The GradeOptions the `grader` command hands to ``target`` (stopped there)."""
    seen: list[GradeOptions] = []

    def stop(submission_or_pack: Any, *args: Any) -> None:
        seen.append(next(a for a in args if isinstance(a, GradeOptions)))
        raise _Stopped

    monkeypatch.setattr(grader.cli, target, stop)
    with pytest.raises(_Stopped):
        grader.cli.main(argv)
    return seen[0]


def test_the_grade_verb_passes_its_flags_on(tmp_path, monkeypatch):
    path = tmp_path / "solution.py"
    path.write_text("")
    base = ["grade", str(path), "--assignment", "mini"]
    assert _options_given(monkeypatch, "grade", base) == GradeOptions()
    argv = [*base, "--public-only", "--fast", "--load-mode", "all", "--gpu-tests", "auto",
            "--timeout", "9"]
    assert _options_given(monkeypatch, "grade", argv) == GradeOptions(
        public_only=True, fast=True, load_mode="all", gpu_tests="auto", overall_timeout_s=9)


def test_the_gradescope_verb_passes_its_flags_on(tmp_path, monkeypatch):
    base = ["gradescope", "--submission-dir", str(tmp_path), "--assignment", "mini",
            "--results", str(tmp_path / "results.json")]
    assert _options_given(monkeypatch, "run_canary", base) == GradeOptions(gpu_tests="auto")
    assert _options_given(monkeypatch, "run_canary", [*base, "--gpu-tests", "defer"]) == \
        GradeOptions(gpu_tests="defer")
