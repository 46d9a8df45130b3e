"""Batch grading on the engine's tiny pack: rosters, grades.csv, resume, split grading and
merge, feedback pages, the CLI and a local Dask cluster."""

from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

import pytest

from grader.batch.merge import MISMATCH, MISSING, merge_folders
from grader.batch.roster import RosterError, discover
from grader.batch.run import BatchOptions, run_batch
from grader.cli import main
from grader.packs import load_pack
from grader.results import validate
from grader.runner import GradeOptions, grade

PACKROOT = Path(__file__).parent / "packroot"
REFERENCE = (PACKROOT / "reference" / "mini" / "solution.py").read_text()
WRONG = REFERENCE.replace("return 2 * np.asarray(x)", "return 3 * np.asarray(x)")
BROKEN = "def double(x):\n    return 2 *\n"
HANGS = "while True:\n    pass\n"  # at import: only with load mode all; here it is skipped
FAST = dict(jobs=2, progress=False, similarity=False)


@pytest.fixture(autouse=True)
def mini_pack(monkeypatch):
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))


@pytest.fixture
def mini():
    return load_pack("mini")


def _plain_class(folder: Path) -> Path:
    folder.mkdir()
    (folder / "alice.py").write_text(REFERENCE)
    (folder / "bob.py").write_text(WRONG)
    (folder / "carol.py").write_text(BROKEN)
    (folder / "dave").mkdir()
    (folder / "dave" / "solution.py").write_text(REFERENCE)
    (folder / ".DS_Store").write_text("junk")
    (folder / "notes.txt").write_text("not a submission")
    return folder


def _export(folder: Path) -> Path:
    folder.mkdir()
    for name, code in (("submission_101", REFERENCE), ("submission_102", WRONG)):
        (folder / name).mkdir()
        (folder / name / "solution.py").write_text(code)
    (folder / "submission_metadata.yml").write_text(
        "submission_101:\n"
        "  :submitters:\n"
        "  - :name: Ada Lovelace\n"
        "    :sid: '1001'\n"
        "    :email: ada@example.edu\n"
        "  :created_at: 2026-11-20 10:00:00.000000000 -05:00\n"
        "submission_102:\n"
        "  :submitters:\n"
        "  - :name: '=HYPERLINK(\"http://x\")'\n"
        "    :sid: '1002'\n"
        "  - :name: Bo Partner\n"
        "    :sid: '1003'\n"
        "submission_103:\n"
        "  :submitters:\n"
        "  - :name: No Files\n"
        "    :email: nofiles@example.edu\n")
    return folder


def _csv(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


# --- rosters --------------------------------------------------------------------------------
def test_plain_folder_roster(tmp_path):
    entries = discover(_plain_class(tmp_path / "class"))
    assert [e.student for e in entries] == ["alice", "bob", "carol", "dave"]
    assert entries[3].path.is_dir()


def test_gradescope_export_roster(tmp_path):
    entries = {e.student: e for e in discover(_export(tmp_path / "export"))}
    assert set(entries) == {"1001", "1002", "nofiles"}
    assert entries["1001"].name == "Ada Lovelace" and entries["1001"].email == "ada@example.edu"
    assert entries["1002"].name.endswith("; Bo Partner")  # a group: every name
    assert entries["1001"].submission == "submission_101"
    assert not entries["nofiles"].path.exists()


def test_the_export_zip_is_read_as_it_comes_from_gradescope(tmp_path, mini):
    export = _export(tmp_path / "assignment_42_export")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(export.rglob("*")):
            zf.write(f, f.relative_to(tmp_path).as_posix())
    out = tmp_path / "out"
    run_batch(archive, mini, out, BatchOptions(fast=True, **FAST))
    assert {r["student_id"] for r in _csv(out)} == {"1001", "1002", "nofiles"}
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.py", "x = 1")
    with pytest.raises(RosterError, match="leaves the archive"):
        run_batch(evil, mini, tmp_path / "out2", BatchOptions(fast=True, **FAST))
    assert not (tmp_path / "outside.py").exists()


def test_bad_metadata_names_the_file_and_line(tmp_path):
    (tmp_path / "submission_metadata.yml").write_text("a:\n  b: [unclosed\n")
    with pytest.raises(RosterError, match=r"submission_metadata.yml:\d+"):
        discover(tmp_path)


# --- a class, end to end ----------------------------------------------------------------------
def test_batch_writes_grades_results_and_feedback(tmp_path, mini):
    out = tmp_path / "out"
    summary = run_batch(_plain_class(tmp_path / "class"), mini, out,
                        BatchOptions(fast=True, **FAST))
    assert summary.graded == 4 and summary.reused == 0
    rows = {r["student_id"]: r for r in _csv(out)}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert float(rows["alice"]["total"]) == float(rows["dave"]["total"]) > 0
    assert float(rows["bob"]["total"]) < float(rows["alice"]["total"])
    assert float(rows["carol"]["total"]) == 0  # a syntax error: graded, 0, "not loadable"
    assert {k: r["status"] for k, r in rows.items()} == {
        "alice": "ok", "bob": "ok", "carol": "not loadable", "dave": "ok"}
    assert summary.statuses == {"ok": 3, "not loadable": 1}
    assert "1 not loadable" in summary.describe() and "3 ok" in summary.describe()
    carol = json.loads((out / "results" / "carol.json").read_text())
    assert "line 2" in carol["output"]  # the cause once, at the top
    assert all("line 2" not in t["output"] for t in carol["tests"])
    double_column = next(c for c in rows["bob"] if c.endswith("double(x) is 2x"))
    assert rows["bob"][double_column] == "0" and rows["alice"][double_column] == "1"
    for student in rows:
        data = json.loads((out / "results" / f"{student}.json").read_text())
        validate(data)
        assert data["extra_data"]["batch"]["student"] == student
        assert (out / "feedback" / f"{student}.md").is_file()
        assert "<html" in (out / "feedback" / f"{student}.html").read_text().lower()
    assert "double(x)" in (out / "feedback" / "bob.md").read_text()
    detail = json.loads((out / "grades.json").read_text())
    assert len(detail["students"]) == 4 and detail["students"][0]["tests"]


def test_resume_regrades_only_what_changed(tmp_path, mini):
    folder, out = _plain_class(tmp_path / "class"), tmp_path / "out"
    run_batch(folder, mini, out, BatchOptions(fast=True, **FAST))
    before = (out / "results" / "alice.json").read_text()
    again = run_batch(folder, mini, out, BatchOptions(fast=True, **FAST))
    assert again.graded == 0 and again.reused == 4
    assert (out / "results" / "alice.json").read_text() == before
    (folder / "bob.py").write_text(REFERENCE)  # bob resubmits a fixed file
    third = run_batch(folder, mini, out, BatchOptions(fast=True, **FAST))
    assert third.graded == 1
    assert {r["student_id"]: r["total"] for r in _csv(out)}["bob"] == \
        {r["student_id"]: r["total"] for r in _csv(out)}["alice"]
    other_options = run_batch(folder, mini, out, BatchOptions(fast=False, **FAST))
    assert other_options.graded == 4  # different options: nothing is reused
    forced = run_batch(folder, mini, out, BatchOptions(fast=False, force=True, **FAST))
    assert forced.graded == 4


def test_gradescope_export_grades_every_submitter_and_the_missing_one(tmp_path, mini):
    out = tmp_path / "out"
    run_batch(_export(tmp_path / "export"), mini, out, BatchOptions(fast=True, **FAST))
    rows = {r["student_id"]: r for r in _csv(out)}
    assert rows["1001"]["email"] == "ada@example.edu"
    assert rows["1002"]["name"].startswith("'=")  # no formula injection into spreadsheets
    assert float(rows["nofiles"]["total"]) == 0 and rows["nofiles"]["status"] == "missing"


def test_one_submission_past_the_time_limit_does_not_stop_the_batch(tmp_path, mini):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "good.py").write_text(REFERENCE)
    nap = "__import__('time').sleep(2.9)\n        "  # each call just under the 3 s call limit
    (folder / "slowpoke.py").write_text(
        REFERENCE.replace("return 2 *", nap.replace("        ", "    ") + "return 2 *")
        .replace("self.count = start", nap + "self.count = start")
        .replace("self.count += by", nap + "self.count += by"))
    out = tmp_path / "out"
    summary = run_batch(folder, mini, out,
                        BatchOptions(fast=True, overall_timeout_s=12, **FAST))
    rows = {r["student_id"]: r for r in _csv(out)}
    assert rows["good"]["status"] == "ok" and float(rows["good"]["total"]) > 0
    assert rows["slowpoke"]["status"] == "timeout"
    assert summary.statuses["timeout"] == 1


# --- split grading: submission time now, the later tests in a second batch, then merge -------
def test_split_grading_and_merge_give_the_full_score(tmp_path, mini):
    folder = _plain_class(tmp_path / "class")
    now, later, final = tmp_path / "now", tmp_path / "later", tmp_path / "final"
    run_batch(folder, mini, now, BatchOptions(part="cpu", **FAST))
    alice = json.loads((now / "results" / "alice.json").read_text())
    slow = next(t for t in alice["tests"] if t["name"] == "(graded later) a slow test")
    assert slow["extra_data"]["status"] == "deferred" and slow["max_score"] == 0
    assert slow["visibility"] == "after_published" and "Graded later" in slow["output"]
    assert slow["extra_data"]["deferred_points"] == 1

    run_batch(folder, mini, later, BatchOptions(part="later", **FAST))
    only = json.loads((later / "results" / "alice.json").read_text())
    assert [t["name"] for t in only["tests"]] == ["a slow test"]
    series = only["tests"][0]["extra_data"]["curves"][0]["series"]
    assert series == {"count": [1.0, 2.0, 3.0], "loss": [None, 0.5]}  # no NaN in results.json

    summary = merge_folders(now, later, final, title="Mini")
    assert not [p for p in summary.problems if p.startswith(("alice", "dave"))]
    merged = json.loads((final / "results" / "alice.json").read_text())
    validate(merged)
    full = load_full_marks(tmp_path, mini)
    assert merged["score"] == full
    assert sum(t["max_score"] for t in merged["tests"]) == full
    assert (final / "feedback" / "alice_files" / "curve-0.png").read_bytes()[:4] == b"\x89PNG"
    assert {r["student_id"] for r in _csv(final)} == {"alice", "bob", "carol", "dave"}


def load_full_marks(tmp_path: Path, mini) -> float:
    """The reference graded in one go, every test run: what the merge must add up to."""
    (tmp_path / "solution.py").write_text(REFERENCE)
    data = grade(tmp_path / "solution.py", mini, GradeOptions(gpu_tests="run")).to_json()
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) == 4
    return data["score"]


def test_merge_refuses_results_of_another_hand_in_and_counts_missing_as_zero(tmp_path, mini):
    folder = _plain_class(tmp_path / "class")
    now, later, final = tmp_path / "now", tmp_path / "later", tmp_path / "final"
    run_batch(folder, mini, now, BatchOptions(part="cpu", **FAST))
    (folder / "alice.py").write_text(REFERENCE + "\n# changed after the deadline\n")
    (folder / "bob.py").unlink()
    run_batch(folder, mini, later, BatchOptions(part="later", **FAST))
    summary = merge_folders(now, later, final)
    by_name = {p.stem: json.loads(p.read_text()) for p in (final / "results").glob("*.json")}
    slow = {k: next(t for t in v["tests"] if t["name"] == "a slow test")
            for k, v in by_name.items()}
    assert slow["alice"]["output"] == MISMATCH and slow["alice"]["max_score"] == 1
    assert slow["bob"]["output"] == MISSING and slow["bob"]["score"] == 0
    assert slow["dave"]["score"] == 1
    assert any(p.startswith("alice") for p in summary.problems)
    assert any(p.startswith("bob") for p in summary.problems)


# --- determinism ------------------------------------------------------------------------------
def test_regrading_gives_the_same_scores_and_records_seeds_and_versions(tmp_path, mini):
    folder = _plain_class(tmp_path / "class")
    first, second = tmp_path / "a", tmp_path / "b"
    run_batch(folder, mini, first, BatchOptions(fast=True, **FAST))
    run_batch(folder, mini, second, BatchOptions(fast=True, **FAST))
    for student in ("alice", "bob", "carol", "dave"):
        a = json.loads((first / "results" / f"{student}.json").read_text())
        b = json.loads((second / "results" / f"{student}.json").read_text())
        assert [(t["name"], t["score"], t["output"]) for t in a["tests"]] == \
            [(t["name"], t["score"], t["output"]) for t in b["tests"]]
        extra = a["extra_data"]
        assert extra["versions"]["numpy"] and extra["versions"]["python"]
        assert extra["seeds"]["hypothesis"] == "derandomize"
        assert extra["pack_sha256"] == b["extra_data"]["pack_sha256"]


# --- the command line -------------------------------------------------------------------------
def test_cli_batch_then_merge(tmp_path, capsys):
    folder = _plain_class(tmp_path / "class")
    common = ["--assignment", "mini", "--quiet", "-j", "2"]
    assert main(["batch", str(folder), "--out", str(tmp_path / "now"), "--part", "cpu",
                 *common]) == 0
    assert main(["batch", str(folder), "--out", str(tmp_path / "later"), "--gpu",
                 "--no-similarity", *common]) == 0
    assert main(["merge", str(tmp_path / "now"), str(tmp_path / "later"), "--out",
                 str(tmp_path / "final"), "--assignment", "mini"]) == 0
    printed = capsys.readouterr().out
    assert "4 submissions" in printed and "grades.csv" in printed
    assert (tmp_path / "now" / "similarity.md").is_file()
    rows = {r["student_id"]: r for r in _csv(tmp_path / "final")}
    assert float(rows["alice"]["total"]) == float(rows["alice"]["max_score"])


def test_cli_batch_on_a_missing_folder_says_so(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope"), "--assignment", "mini", "--out",
                 str(tmp_path / "out")]) == 2
    assert "not a folder of submissions" in capsys.readouterr().err


# --- a Dask cluster, started here ---------------------------------------------------------------
@pytest.fixture
def local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  resources={"GPU": 1}, dashboard_address=None,
                                  silence_logs=50) as cluster:
        yield cluster


@pytest.mark.timeout(300)
def test_cluster_batch_matches_the_local_one(tmp_path, mini, local_cluster):
    folder = _plain_class(tmp_path / "class")
    local, remote = tmp_path / "local", tmp_path / "remote"
    run_batch(folder, mini, local, BatchOptions(part="later", **FAST))
    started = time.monotonic()
    summary = run_batch(folder, mini, remote, BatchOptions(
        part="later", cluster=local_cluster.scheduler_address, gpu_fraction=0.5, **FAST))
    assert summary.graded == 4, time.monotonic() - started
    hosts = {json.loads(p.read_text())["extra_data"]["batch"]["host"]
             for p in (remote / "results").glob("*.json")}
    assert hosts  # graded by the cluster's workers
    assert _csv(local) == _csv(remote)


def test_cluster_without_gpu_workers_is_refused(tmp_path, mini):
    distributed = pytest.importorskip("distributed")
    from grader.batch.cluster import ClusterError

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None, silence_logs=50) as cluster:
        with pytest.raises(ClusterError, match="GPU resource"):
            run_batch(_plain_class(tmp_path / "class"), mini, tmp_path / "out",
                      BatchOptions(part="later", cluster=cluster.scheduler_address, **FAST))


def test_a_later_test_that_was_skipped_is_not_taken_as_graded(tmp_path, mini):
    """A TA who runs the GPU part on a machine without CUDA gets skips, not grades: merge
    must keep those tests at 0 of their real points and say so."""
    folder = _plain_class(tmp_path / "class")
    now, later, final = tmp_path / "now", tmp_path / "later", tmp_path / "final"
    run_batch(folder, mini, now, BatchOptions(part="cpu", **FAST))
    run_batch(folder, mini, later, BatchOptions(part="later", fast=True, **FAST))  # skips
    summary = merge_folders(now, later, final)
    merged = json.loads((final / "results" / "alice.json").read_text())
    slow = next(t for t in merged["tests"] if t["name"] == "a slow test")
    assert slow["score"] == 0 and slow["max_score"] == 1 and slow["output"] == MISSING
    assert any("was not run in the later run" in p for p in summary.problems)


def test_the_gpu_part_is_refused_at_once_without_cuda(tmp_path, capsys, monkeypatch):
    from grader.devices import cuda_available

    if cuda_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.delenv("GRADER_PACKS_ROOT")  # a pack with GPU tests
    folder = _plain_class(tmp_path / "class")
    for flags in (["--gpu"], ["--part", "later"]):
        code = main(["batch", str(folder), "--assignment", "cs155_set4", "--out",
                     str(tmp_path / "out"), "--quiet", *flags])
        assert code == 2
        assert "has none" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before grading anyone


def test_exit_codes_say_when_a_batch_or_a_merge_needs_a_look(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["batch", str(empty), "--assignment", "mini", "--out", str(tmp_path / "o"),
                 "--quiet", "--no-similarity"]) == 2
    assert "no submissions found" in capsys.readouterr().err
    folder = _plain_class(tmp_path / "class")
    assert main(["batch", str(folder), "--assignment", "mini", "--out", str(tmp_path / "now"),
                 "--part", "cpu", "--quiet", "--no-similarity", "--fast"]) == 0
    (tmp_path / "later").mkdir()  # the later batch never ran: every deferred test is missing
    assert main(["merge", str(tmp_path / "now"), str(tmp_path / "later"), "--out",
                 str(tmp_path / "final")]) == 1
