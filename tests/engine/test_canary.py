"""A broken environment is never the student's fault: the canary, and environment errors.

The canary grades the pack's reference in the same environment before anyone is charged:
a batch stops, Gradescope's results say "environment problem" (with the details for staff
only), ``grader doctor --assignment`` and the image's ``setup.sh`` fail. An error raised
inside a library while the hand-in imports it is the environment's, not "your code raised".
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import pytest

from grader.batch.run import BatchOptions, run_batch
from grader.canary import CanaryFailed, run_canary
from grader.cli import main
from grader.packs import load_pack
from grader.results import validate
from grader.runner import GradeOptions
from grader.sandboxed.limits import Limits
from grader.sandboxed.server import MissingModule, Server
from grader.sandboxed.submission import read_source
from grader.worker.client import Worker

PACKROOT = Path(__file__).parent / "packroot"
REFERENCE = (PACKROOT / "reference" / "mini" / "solution.py").read_text()
# What a library does on a machine where the worker's uid has no passwd entry
BROKEN_LIBRARY = "import pwd\nraise KeyError('getpwuid(): uid not found: 61757')\n"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def broken_root(tmp_path, monkeypatch) -> Path:
    """A copy of the engine's test packs whose environment breaks the reference: the
    reference imports a library that fails at import."""
    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root)
    reference = root / "reference" / "mini"
    (reference / "usernames.py").write_text(BROKEN_LIBRARY + "TWO = 2\n")
    (reference / "solution.py").write_text(
        "from usernames import TWO\n" + REFERENCE.replace("return 2 *", "return TWO *"))
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(root))
    return root


@pytest.fixture
def good_root(monkeypatch) -> Path:
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))
    return PACKROOT


def test_the_canary_passes_once_and_is_then_cached(good_root):
    pack = load_pack("mini")
    first = run_canary(pack, GradeOptions(fast=True))
    assert first.ok and not first.cached and first.score == first.max_score > 0
    again = run_canary(pack, GradeOptions(fast=True))
    assert again.ok and again.cached
    assert not run_canary(pack, GradeOptions(fast=True), reuse=False).cached


def test_a_batch_stops_before_charging_anyone(broken_root, tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(REFERENCE)
    with pytest.raises(CanaryFailed) as caught:
        run_batch(folder, load_pack("mini"), tmp_path / "out",
                  BatchOptions(progress=False, similarity=False))
    assert "double(x) is 2x" in str(caught.value) and "getpwuid" in str(caught.value)
    assert not (tmp_path / "out" / "results").exists()  # nobody was graded
    code = main(["batch", str(folder), "--assignment", "mini", "--out", str(tmp_path / "o2"),
                 "--quiet", "--no-similarity"])
    assert code == 3
    assert "stopped before grading anyone" in capsys.readouterr().err


def test_gradescope_says_environment_problem_not_a_grade(broken_root, tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solution.py").write_text(REFERENCE)
    results = tmp_path / "results.json"
    assert main(["gradescope", "--assignment", "mini", "--submission-dir", str(submission),
                 "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    validate(data)
    assert "environment problem" in data["output"] and "not your fault" in data["output"]
    assert [t["name"] for t in data["tests"]] == ["Autograder environment problem"]
    assert data["extra_data"]["environment_problem"] is True
    assert "getpwuid" in data["extra_data"]["detail"]  # for staff, not in the visible text
    assert "getpwuid" not in data["output"]


def test_doctor_and_the_image_build_fail(broken_root, capsys):
    assert main(["doctor", "--assignment", "mini"]) == 1
    assert "FAILED" in capsys.readouterr().out
    template = (Path(__file__).parents[2] / "grader" / "autograder" / "templates"
                / "setup.sh").read_text()
    assert 'doctor --assignment "${assignment}"' in template and "|| die" in template


def test_doctor_passes_where_the_reference_does(good_root, capsys):
    assert main(["doctor", "--assignment", "mini"]) == 0
    assert "full marks" in capsys.readouterr().out


def test_an_error_inside_a_library_at_import_is_the_environments(tmp_path, monkeypatch):
    library = tmp_path / "site"
    library.mkdir()
    (library / "usernames.py").write_text(BROKEN_LIBRARY)
    monkeypatch.syspath_prepend(str(library))
    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    path = hand_in / "solution.py"
    path.write_text("import usernames\nx = {}['missing']\n")
    server = Server(None, {"root": str(hand_in), "tmpdir": str(tmp_path)})
    server.source = read_source(path)
    statements = ast.parse(path.read_text()).body
    assert server.run_statement(statements[0]) is None
    assert "inside the library" in server.environment_errors[0]
    assert isinstance(vars(server.module)["usernames"], MissingModule)
    with pytest.raises(ModuleNotFoundError, match="not a fault of your code"):
        vars(server.module)["usernames"].anything  # noqa: B018 - using it raises
    # the student's own error stays the student's
    assert "KeyError" in server.run_statement(statements[1])
    assert len(server.environment_errors) == 1
    sys.modules.pop("usernames", None)


@pytest.mark.parametrize("sandbox", ["auto", "fallback"])
def test_a_worker_without_a_passwd_entry_still_has_a_user_name(tmp_path, sandbox):
    """The worker's dedicated uid has no entry in the machine's passwd; a library that asks
    for the user name at import (the CUDA build of torch does) must still load. getpass reads
    USER/LOGNAME first; pwd.getpwuid knows the worker's uid on both paths (bubblewrap shows it
    a passwd file that has it; elsewhere the worker's pwd answers for its own uid)."""
    from grader.worker.sandbox import probe_bwrap

    path = tmp_path / "solution.py"
    path.write_text("import getpass\nimport os\nimport pwd\nNAME = getpass.getuser()\n"
                    "ENTRY = pwd.getpwuid(os.getuid()).pw_name\n"
                    "HOME = pwd.getpwnam(ENTRY).pw_dir\n")
    worker = Worker(path, tmp_path, mode="all", limits=Limits(load_timeout_s=30),
                    sandbox=sandbox)
    try:
        report = worker.start()
        assert not report["errors"], report
        assert {"NAME", "ENTRY", "HOME"} <= set(report["names"]), report
        if sandbox == "auto" and probe_bwrap().works and \
                worker.isolation.get("sandbox") != "bubblewrap":
            pytest.fail("bubblewrap works here but was not used")
    finally:
        worker.stop()


def test_selftest_grades_the_reference_and_a_weak_file(monkeypatch, capsys):
    monkeypatch.delenv("GRADER_PACKS_ROOT", raising=False)
    assert main(["selftest", "--assignment", "ift6135_a1"]) == 0
    out = capsys.readouterr().out
    assert "reference" in out and "full marks" in out and "loses" in out and "WRONG" not in out


def test_selftest_fails_where_the_reference_does(broken_root, capsys):
    assert main(["selftest", "--assignment", "mini"]) == 1
    assert "WRONG" in capsys.readouterr().out


def test_selftest_gpu_is_refused_without_cuda(capsys):
    from grader.devices import cuda_available

    if cuda_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["selftest", "--gpu"]) == 2


def test_the_worker_answers_for_its_own_uid_only(monkeypatch):
    """Where the system's passwd lacks the current uid, pwd answers for that uid (name and
    home from the environment) and still raises for any other uid or name."""
    import os
    import pwd

    from grader.sandboxed.accounts import know_own_user

    def unknown(key):
        raise KeyError(f"getpwuid(): uid not found: {key}")

    monkeypatch.setattr(pwd, "getpwuid", unknown)
    monkeypatch.setattr(pwd, "getpwnam", unknown)
    monkeypatch.setenv("USER", "grader-worker")
    monkeypatch.setenv("HOME", "/tmp/w")
    know_own_user()
    entry = pwd.getpwuid(os.getuid())
    assert (entry.pw_name, entry.pw_uid, entry.pw_dir) == ("grader-worker", os.getuid(), "/tmp/w")
    assert pwd.getpwnam("grader-worker") == entry
    for other in (lambda: pwd.getpwuid(os.getuid() + 1), lambda: pwd.getpwnam("root")):
        with pytest.raises(KeyError):
            other()
