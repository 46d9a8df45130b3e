"""One submission's grading as a self-contained task, for a local thread or a cluster worker.

The task carries the submission's bytes, not a path, so a worker on another machine needs
no shared file system, only the same grader and packs installed. It returns plain data (a
Gradescope results dict and a status): the coordinator writes every file.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.results import failure_results

MAX_FILES = 2_000
MAX_BYTES = 100 * 1024 * 1024


class HandInTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Task:
    student: str
    assignment: str
    files: tuple[tuple[str, bytes], ...]  # (relative path, content)
    is_folder: bool
    options: dict[str, Any]  # GradeOptions fields
    pack_sha256: str  # what the coordinator expects the worker to grade with


def pack_files(path: Path) -> tuple[tuple[tuple[str, bytes], ...], bool]:
    """The hand-in as data: a file, or a folder's regular files (symlinks are left out)."""
    if path.is_file() and not path.is_symlink():
        return ((path.name, path.read_bytes()),), False
    if not path.is_dir():
        return (), True
    files, total = [], 0
    for f in sorted(path.rglob("*")):
        if f.is_symlink() or not f.is_file():
            continue
        data = f.read_bytes()
        total += len(data)
        if len(files) >= MAX_FILES or total > MAX_BYTES:
            raise HandInTooLarge(f"{path.name}: more than {MAX_FILES} files or "
                                 f"{MAX_BYTES // 2**20} MB")
        files.append((f.relative_to(path).as_posix(), data))
    return tuple(files), True


def run_task(task: Task) -> dict[str, Any]:
    """Grade on this machine. Never raises: a failure becomes an ``error`` status."""
    from grader.packs import load_pack
    from grader.runner import GradeOptions, grade, pack_digest

    started = time.monotonic()
    try:
        pack = load_pack(task.assignment)
        if pack_digest(pack) != task.pack_sha256:
            raise RuntimeError(f"the {task.assignment} pack on this worker differs from the "
                               "coordinator's: install the same grader and packs everywhere")
        with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
            target = _restore(task, Path(tmp) / "hand-in")
            results = grade(target, pack, GradeOptions(**task.options)).to_json()
        status = _status(results)
    except Exception as exc:  # noqa: BLE001 - one bad submission never stops a batch
        results = failure_results(f"The grader failed on this submission: {exc}",
                                  traceback.format_exc(), time.monotonic() - started).to_json()
        status = "error"
    return {"student": task.student, "status": status, "results": results,
            "host": os.uname().nodename}


def _restore(task: Task, target: Path) -> Path:
    if not task.is_folder:
        target.mkdir(parents=True)
        name, data = task.files[0] if task.files else ("missing", b"")
        out = target / _neutral_name(name)
        out.write_bytes(data)
        return out
    target.mkdir(parents=True)
    for rel, data in task.files:
        parts = PurePosixPath(rel).parts
        if not parts or any(p in ("", ".", "..") for p in parts) or rel.startswith("/"):
            continue
        out = target.joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return target


def _neutral_name(name: str) -> str:
    """The hand-in's file under a name that says nothing about its student: the path is on
    the grader's command line, which other processes of the machine can read in /proc."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".py", ".ipynb"):
        return f"solution{suffix}"
    return f"submission{suffix}" if suffix.isascii() and suffix[1:].isalnum() else "submission"


def _status(results: dict[str, Any]) -> str:
    """ok, missing, not loadable, timeout or error (the grader's own failure)."""
    extra = results.get("extra_data", {})
    if extra.get("grader_failed"):
        return "error"
    if extra.get("load_status") in ("missing", "not loadable"):
        return extra["load_status"]
    if extra.get("stopped_at_time_limit"):
        return "timeout"
    return "ok"
