"""End to end on a tiny pack: grade, results.json, the CLI, and every way a submission can
go wrong still giving a complete, valid results file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.packs import load_pack
from grader.results import validate
from grader.runner import GradeOptions, grade

PACKROOT = Path(__file__).parent / "packroot"
# the variables by which Hypothesis tells it runs on a CI machine (and loads its "ci" profile)
HYPOTHESIS_CI_VARIABLES = ("CI", "TF_BUILD", "BUILDKITE", "CIRCLECI", "CIRRUS_CI",
                           "CODEBUILD_BUILD_ID", "GITHUB_ACTIONS", "GITLAB_CI",
                           "HEROKU_TEST_RUN_ID", "TEAMCITY_VERSION")
REFERENCE = (PACKROOT / "reference" / "mini" / "solution.py").read_text()


@pytest.fixture(autouse=True)
def mini_pack(monkeypatch):
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))


def _grade(tmp_path: Path, code: str, **options):
    path = tmp_path / "solution.py"
    path.write_text(code)
    results = grade(path, load_pack("mini"), GradeOptions(**options))
    data = results.to_json()
    validate(data)
    return results, {t["name"]: t for t in data["tests"]}


def test_reference_gets_full_marks_and_the_format_is_right(tmp_path):
    results, tests = _grade(tmp_path, REFERENCE, fast=True)
    assert len(tests) == 5
    assert tests["notes a test leaves are shown even when it passes"]["output"] == \
        "Passed.\n\ncurve: 1, 2, 3"
    ran = {n: t for n, t in tests.items() if t["extra_data"]["status"] != "skipped"}
    assert all(t["score"] == t["max_score"] for t in ran.values())
    slow = tests["a slow test"]
    assert slow["score"] == 0 and slow["output"].startswith("Not run")
    assert slow["tags"] == ["Counter", "slow"]  # the function, then the kind of test
    hidden = tests["double keeps the shape (hidden)"]
    assert hidden["visibility"] == "after_published"
    assert tests["double(x) is 2x"]["tags"] == ["double"]
    assert all(t["output_format"] == "md" and t["number"] for t in tests.values())
    assert "landlock" in results.extra_data["isolation"] or "rlimits" in \
        results.extra_data["isolation"]
    assert len(results.extra_data["submission_sha256"]) == 64


def test_public_only_leaves_hidden_tests_out(tmp_path):
    _, tests = _grade(tmp_path, REFERENCE, public_only=True, fast=True)
    assert "double keeps the shape (hidden)" not in tests and len(tests) == 4


def test_grades_are_deterministic(tmp_path):
    wrong = REFERENCE.replace("return 2 * np.asarray(x)", "return 2 * np.asarray(x) + 1e-3")
    first = _grade(tmp_path, wrong, fast=True)[1]
    second = _grade(tmp_path, wrong, fast=True)[1]
    assert {n: (t["score"], t["output"]) for n, t in first.items()} == \
        {n: (t["score"], t["output"]) for n, t in second.items()}


def _scores(tests: dict) -> dict:
    return {n: t["score"] for n, t in tests.items() if t["extra_data"]["status"] != "skipped"}


@pytest.mark.parametrize("name, code, expect_double, expect_counter, words", [
    ("syntax error", "def double(x):\n    return 2 *\n", 0, 0, "line 2"),
    ("no Counter", REFERENCE.split("class Counter")[0], 1, 0, "defines no `Counter`"),
    ("loop at import", REFERENCE + "\nclass Spin:\n    while True:\n        pass\n", 0, 0,
     "did not finish"),
    ("os._exit at import", REFERENCE + "\nclass Die:\n    import os\n    os._exit(3)\n", 0, 0,
     "could not be loaded"),
    ("sys.exit at import", REFERENCE + "\nclass Quit:\n    import sys\n    sys.exit(1)\n", 1, 1,
     ""),
    ("loop in a method", REFERENCE.replace("        self.count += by",
                                           "        while True:\n            pass"), 1, 0,
     "did not finish within 3 s"),
    ("50 GB allocation", REFERENCE.replace("return 2 * np.asarray(x)",
                                           "return np.ones(50 * 10**9 // 8)"), 0, 1,
     "MemoryError"),
    ("100 MB printed", REFERENCE.replace("        self.count += by",
                                         "        print('y' * 100_000_000)\n"
                                         "        self.count += by"), 1, 1, ""),
    ("top-level training", REFERENCE + "\nc = Counter()\nfor _ in range(10**12):\n"
                                        "    c.step()\n", 1, 1, ""),
])
def test_bad_submissions_still_get_complete_valid_results(tmp_path, name, code, expect_double,
                                                          expect_counter, words):
    started = time.monotonic()
    results, tests = _grade(tmp_path, code, fast=True)
    assert time.monotonic() - started < 60, name
    scores = _scores(tests)
    assert len(tests) == 5
    assert scores["double(x) is 2x"] == expect_double, tests["double(x) is 2x"]["output"]
    assert scores["Counter counts"] == expect_counter, tests["Counter counts"]["output"]
    failed_text = "\n".join(t["output"] for t in tests.values()) + results.output
    assert words in failed_text


def test_overall_time_limit_keeps_what_was_graded(tmp_path):
    # Each step sleeps 2.8 s (under the pack's 3 s call limit), and the Counter tests need
    # three steps (8.4 s). An 8 s budget grades the first test even after a slow start-up,
    # and never reaches the end.
    slow = REFERENCE.replace("        self.count += by",
                             "        import time\n        time.sleep(2.8)\n"
                             "        self.count += by")
    results, tests = _grade(tmp_path, slow, overall_timeout_s=8)
    assert len(tests) == 5
    assert "overall time limit" in results.output
    assert any(t["output"].startswith("Not run: grading stopped") for t in tests.values())
    assert tests["double(x) is 2x"]["score"] == 1  # graded before the limit: kept


def test_submission_not_found_still_lists_every_test(tmp_path):
    (tmp_path / "notes.txt").write_text("no code here")
    results = grade(tmp_path, load_pack("mini"), GradeOptions(fast=True))
    validate(results.to_json())
    assert len(results.tests) == 5 and results.score == 0
    assert "could not be found" in results.output
    assert results.extra_data["load_status"] == "missing"
    assert "nothing to grade was found" in results.tests[0].output


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_gradescope_command_writes_results(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solution.py").write_text(REFERENCE)
    out = tmp_path / "results" / "results.json"
    proc = _cli("gradescope", "--submission-dir", str(submission), "--results", str(out),
                "--assignment", "mini")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    validate(data)
    # The mini pack defers its slow test to the staff's batch (pack.toml [gradescope] defer),
    # so on Gradescope it shows 0/0, hidden until published, and the rest is full marks.
    assert data["score"] == 3 == sum(t["max_score"] for t in data["tests"])
    deferred = next(t for t in data["tests"] if t["name"] == "(graded later) a slow test")
    assert deferred["extra_data"] == {**deferred["extra_data"], "status": "deferred",
                                      "deferred_points": 1.0}
    assert deferred["visibility"] == "after_published"
    assert deferred["output"].startswith("Graded later by the course staff")
    assert "status" not in deferred  # not red on Gradescope; the name says it is pending


def test_gradescope_command_writes_results_even_when_the_grader_fails(tmp_path):
    out = tmp_path / "results.json"
    proc = _cli("gradescope", "--submission-dir", str(tmp_path), "--results", str(out),
                "--assignment", "no_such_pack")
    assert proc.returncode == 0
    data = json.loads(out.read_text())
    validate(data)
    assert data["tests"][0]["name"] == "Autograder failed"
    assert "no_such_pack" in data["tests"][0]["output"]


def test_grade_command_prints_a_table_and_exits_zero_when_the_student_fails(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("def double(x):\n    return x\n")
    out = tmp_path / "out.json"
    proc = _cli("grade", str(path), "--assignment", "mini", "--fast", "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Total: 0 / 4" in proc.stdout and "What went wrong" in proc.stdout
    validate(json.loads(out.read_text()))


def test_check_command_runs_public_tests_only(tmp_path):
    (tmp_path / "solution.py").write_text(REFERENCE)
    proc = _cli("check", "--assignment", "mini", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "hidden" not in proc.stdout and "Total: 2 / 3" in proc.stdout


def test_unknown_assignment_is_a_usage_error(tmp_path):
    proc = _cli("grade", str(tmp_path), "--assignment", "nope")
    assert proc.returncode == 2 and "no assignment pack named 'nope'" in proc.stderr


def test_a_broken_pack_never_shows_its_test_source(tmp_path, monkeypatch):
    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root)
    secret = "HIDDEN_EXPECTED_VALUE = 42"
    (root / "tests" / "mini" / "test_broken.py").write_text(f"{secret}\ndef test_x(:\n")
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(root))
    path = tmp_path / "solution.py"
    path.write_text(REFERENCE)
    data = grade(path, load_pack("mini"), GradeOptions(fast=True)).to_json()
    validate(data)
    visible = json.dumps([t["output"] for t in data["tests"]]) + data["output"]
    assert data["tests"][0]["name"] == "Autograder failed"
    assert secret not in visible and "def test_x" not in visible
    assert "test_broken.py" in data["extra_data"]["detail"]


def test_the_assignment_comes_from_a_grader_toml_near_the_submission(tmp_path, monkeypatch):
    from grader.cli import _pack_name

    monkeypatch.delenv("GRADER_ASSIGNMENT", raising=False)
    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    (tmp_path / "class" / "grader.toml").write_text('assignment = "cs155_set4"\n')
    (folder / "solution.py").write_text("")
    assert _pack_name(None, folder / "solution.py") == "cs155_set4"
    assert _pack_name("ift6135_a1", folder / "solution.py") == "ift6135_a1"
    monkeypatch.setenv("GRADER_ASSIGNMENT", "mini")
    assert _pack_name(None, folder / "solution.py") == "mini"


def test_grade_help_says_where_the_assignment_comes_from(capsys):
    """Not "(default: the only one)" where four packs are installed: the order _pack_name
    follows, in --help of every command that finds the pack from the submission."""
    from grader.cli import main

    for command in ("grade", "check", "gradescope", "batch"):
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        text = " ".join(capsys.readouterr().out.split())  # the words, however wrapped
        assert "the only one" not in text
        assert ("--assignment ASSIGNMENT the assignment pack (default: $GRADER_ASSIGNMENT, "
                "else `assignment` in a grader.toml beside the submission or a folder above "
                "it, else the only pack installed)") in text, text


def test_an_unloadable_file_is_explained_once_at_the_top(tmp_path):
    results, tests = _grade(tmp_path, "def double(x):\n    return 2 *\n", fast=True)
    assert results.extra_data["load_status"] == "not loadable"
    assert "line 2" in results.output
    failed = [t for t in tests.values() if t["extra_data"]["status"] == "failed"]
    assert failed and all(t["output"].startswith("Not graded: your file could not be loaded")
                          for t in failed)
    empty, _ = _grade(tmp_path, "\n\n", fast=True)
    assert empty.extra_data["load_status"] == "not loadable" and "empty" in empty.output


def test_many_failures_of_one_cause_start_with_it(tmp_path):
    results, _ = _grade(tmp_path, "import numpy as np\n", fast=True)  # defines nothing
    assert results.extra_data["load_status"] == "ok"
    assert results.output.startswith("**Start here:**")
    assert "defines no `double`" in results.output


def test_the_score_table_counts_what_ran_and_lists_what_did_not(tmp_path, capsys):
    from grader.cli import main

    path = tmp_path / "solution.py"
    path.write_text(REFERENCE)
    assert main(["grade", str(path), "--assignment", "mini", "--fast"]) == 0
    out = capsys.readouterr().out
    assert "On the 4 tests that ran: 3 / 3 (1 test, 1 points, not run here)" in out
    assert "What went wrong" not in out  # a test left out is not a failure
    assert "Not run here (no points lost or won):" in out and "left out by --fast" in out


def test_grading_a_path_that_does_not_exist_is_an_error(tmp_path, capsys):
    from grader.cli import main

    assert main(["grade", str(tmp_path / "nope.py"), "--assignment", "mini"]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("ci", [False, True], ids=["desk", "ci"])
def test_installing_the_grader_leaves_other_projects_tests_alone(tmp_path, ci):
    """The plugin is installed for every pytest session of the environment: only a grading
    run gets its Hypothesis profile. Elsewhere the profile is the one Hypothesis itself picks,
    which on a CI machine (``CI`` set) is its own derandomized "ci" profile."""
    (tmp_path / "test_other.py").write_text(
        "import os\n\nfrom hypothesis import settings\n\n\ndef test_profile():\n"
        "    with open(os.environ['PROFILE_OUT'], 'a') as f:\n"
        "        f.write(repr(settings.default) + '\\n')\n")
    env = {k: v for k, v in os.environ.items() if k not in HYPOTHESIS_CI_VARIABLES}
    env.update({"PROFILE_OUT": str(tmp_path / "profiles.txt")}, **({"CI": "true"} if ci else {}))
    for plugins in ([], ["-p", "no:grader"]):
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              *plugins, str(tmp_path / "test_other.py")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]
    with_grader, without = (tmp_path / "profiles.txt").read_text().splitlines()
    assert with_grader == without
    if ci:
        assert "derandomize=True" in with_grader  # Hypothesis' own "ci" profile, untouched


def test_version_and_module_entry_point():
    for argv in (["-m", "grader", "--version"], ["-m", "grader.cli", "--version"]):
        run = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and run.stdout.startswith("grader "), run.stderr
    run = subprocess.run([sys.executable, "-m", "grader", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert "``" not in run.stdout and "grader check" in run.stdout


def test_the_score_table_wraps_long_names_instead_of_cutting_them():
    """Six tests of a pack differ only after 60 characters: every word of a name is shown,
    and text that looks like terminal markup is shown as it is."""
    from grader.report import score_table
    from grader.results import Results, TestResult

    long = ("dW and db match finite differences of your own forward + loss, at every layer "
            "(two hidden layers, tanh)")
    results = Results(tests=[
        TestResult(name=long, max_score=2, score=0, status="failed", number="12",
                   tags=["backward"]),
        TestResult(name="relu [bold]x[/bold] :smile:", max_score=1, score=1, status="passed",
                   number="1", tags=["relu"])])
    for width in (60, 100, 160):
        table = score_table(results, width=width)
        assert all(len(line) <= width for line in table.splitlines())
        assert " ".join(table.split()).count("(two hidden layers, tanh)") == 1
        assert "[bold]x[/bold] :smile:" in table
        table.encode("ascii")  # prints on any terminal encoding
