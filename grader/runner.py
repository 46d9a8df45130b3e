"""Grade one submission: run the pack's tests in a pytest subprocess, then build results.

The pytest process is trusted (it holds the reference and the tests) but it is still a
separate process, so that an overall time limit can stop it without losing what was graded:
outcomes are streamed to a state file as they happen, and whatever was not reached is listed
with 0 points and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import __version__
from grader.options import GradeOptions, pytest_args
from grader.packs import Pack
from grader.report import results_from_events
from grader.results import Results, failure_results
from grader.worker import sandbox
from grader.worker.client import LEASES_ENV


def grade(submission: str | os.PathLike, pack: Pack, options: GradeOptions = GradeOptions()
          ) -> Results:
    """Grade ``submission`` with ``pack``; never raises for anything the submission does."""
    started = time.monotonic()
    budget = options.overall_timeout_s or pack.overall_timeout_s
    with tempfile.TemporaryDirectory(prefix="grader-run-") as tmp:
        state = Path(tmp) / "state.jsonl"
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        run = {"submission": str(submission), "assignment": pack.name,
               "grader_state": str(state), "later_marks": ",".join(pack.later_marks)}
        cmd = [
            sys.executable, "-m", "pytest", str(pack.tests_dir),
            "-c", str(ini), "--rootdir", str(pack.tests_dir),
            "-p", "no:cacheprovider", "--assert=plain", "-q", "--no-header", "-rN",
            "--timeout", "0" if options.train_on_cpu else str(pack.test_timeout_s),
            *pytest_args(options, run),
        ]
        leases = Path(tmp) / "leases.jsonl"
        try:
            # the trusted process never takes most of a GPU the batch's other jobs share
            env = {**os.environ, LEASES_ENV: str(leases), "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
            if options.progress_fd is not None:  # (imports torch: only for a run that trains)
                from grader.train.progress import PROGRESS_FD_ENV
                env[PROGRESS_FD_ENV] = str(options.progress_fd)
            stopped, log = _run(cmd, budget, Path(tmp) / "pytest.log", env,
                                pass_fds=() if options.progress_fd is None
                                else (options.progress_fd,))
        finally:  # whatever happened to pytest: nothing of its workers outlives this
            reclaim_leases(leases)
        events = _read_events(state)
        elapsed = time.monotonic() - started
        broken = [e for e in events if e.get("event") == "collect_error"]
        if broken or not any(e.get("event") == "collected" for e in events):
            detail = "\n\n".join(f"{e['nodeid']}:\n{e['detail']}" for e in broken) or log
            return failure_results("The grader could not run the tests.", detail, elapsed)
        why = f"the overall time limit of {budget:g} s was reached" if stopped else \
            "the test run ended unexpectedly"
        results = results_from_events(events, stopped_because=why, execution_time=elapsed)
    if stopped:
        results.output = (f"**Grading stopped at the overall time limit ({budget:g} s)**; "
                          "tests not reached score 0.\n\n" + results.output).strip()
    results.extra_data.update(
        grader_version=__version__, assignment=pack.name, fast=options.fast,
        public_only=options.public_only, gpu_tests=options.gpu_tests, stopped_at_time_limit=stopped,
        submission_sha256=submission_digest(submission), pack_sha256=pack_digest(pack),
        versions=library_versions(), seeds=_seeds(pack.settings),
    )
    return results


def _run(cmd: list[str], budget: float, log_path: Path, env: dict[str, str],
         pass_fds: tuple[int, ...] = ()) -> tuple[bool, str]:
    """Run pytest with a wall-clock budget; return (stopped by the budget, output tail)."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                pass_fds=pass_fds)
        stopped = False
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            stopped = True
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return stopped, log_path.read_bytes()[-8000:].decode("utf-8", "replace")


def reclaim_leases(path: Path) -> None:
    """Kill every process of the uids the run's workers had and remove their files and
    folders: the job of this process, which outlives pytest however pytest ended (a budget
    kill skips its teardown)."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            record = json.loads(line)
            uid = record.get("uid")
            if isinstance(uid, int):
                sandbox.reclaim(uid)
            for key, prefix in (("tmpdir", "grader-worker-"), ("accounts", "grader-accounts-")):
                folder = record.get(key)
                if isinstance(folder, str) and Path(folder).name.startswith(prefix):
                    shutil.rmtree(folder, ignore_errors=True)


def _read_events(path: Path) -> list[dict]:
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return events


def submission_digest(path: str | os.PathLike) -> str:
    """A stable hash of the submission (file, or every file of a folder)."""
    return _tree_digest(Path(path), include_name=False)


def pack_digest(pack: Pack) -> str:
    """A hash of everything that decides a grade besides the submission: the pack's tests,
    config and reference. A batch regrades a submission when it changes."""
    h = hashlib.sha256()
    for folder in (pack.tests_dir, pack.reference_dir):
        h.update(_tree_digest(folder, include_name=True).encode())
    return h.hexdigest()


def _tree_digest(p: Path, include_name: bool) -> str:
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts) \
        if p.is_dir() else [p]
    for f in files:
        with contextlib.suppress(OSError):
            rel = f.relative_to(p) if p.is_dir() else Path(f.name if include_name else "")
            h.update(str(rel).encode() + b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """What a regrade on another machine must match to give the same score."""
    versions = {"python": platform.python_version(), "machine": platform.machine()}
    for name in ("numpy", "torch", "hypothesis", "pytest", "jax"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def _seeds(settings: dict, prefix: str = "") -> dict[str, object]:
    """Every seed the pack's config fixes (hypothesis runs derandomized, the worker is reset
    to seed 0 before each test)."""
    found: dict[str, object] = {"hypothesis": "derandomize", "worker_reset": 0}
    for key, value in settings.items():
        if isinstance(value, dict):
            found.update({k: v for k, v in _seeds(value, f"{prefix}{key}.").items()
                          if k not in ("hypothesis", "worker_reset")})
        elif "seed" in key:
            found[prefix + key] = value
    return found
