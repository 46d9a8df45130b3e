"""What the worker's disk watchdog counts (grader.worker.memory), measured directly on this
process: the hostile tests (test_hostile_ii's disk cap) show it stops a real worker."""

from __future__ import annotations

import mmap
import os

import pytest

from grader.worker.memory import ENTRY_BYTES, MAX_DEPTH, MemoryGuard

MiB = 2**20


def _guard(folder) -> MemoryGuard:
    return MemoryGuard(os.getpid(), None, str(folder), limit_mb=1024, disk_mb=1024,
                       on_exceed=lambda reason: None)


def _write(fd_or_path, size: int, dir_fd: int | None = None) -> None:
    fd = os.open(fd_or_path, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=dir_fd)
    try:
        os.write(fd, b"\1" * size)
    finally:
        os.close(fd)


def _map_files_readable() -> bool:
    with open("/proc/self/maps") as f:
        first = f.readline().split()[0]
    try:
        os.stat(f"/proc/self/map_files/{first}")
    except OSError:
        return False
    return True


def test_every_file_and_folder_costs_at_least_a_block(tmp_path):
    base = _guard(tmp_path).disk_in_use()
    for i in range(100):
        (tmp_path / f"empty-{i}").touch()
        (tmp_path / f"folder-{i}").mkdir()
    assert _guard(tmp_path).disk_in_use() - base >= 200 * ENTRY_BYTES


def test_files_past_path_max_are_counted(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(40):  # 40 x 121 characters: past PATH_MAX (4096)
        name = f"{level:03d}" + "d" * 117
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    try:
        _write("deep", 4 * MiB, dir_fd=fd)
    finally:
        os.close(fd)
    assert _guard(tmp_path).disk_in_use() >= 4 * MiB


def test_folders_nested_past_the_walk_are_unmeasurable(tmp_path):
    path = tmp_path
    for _ in range(MAX_DEPTH + 1):
        path = path / "d"
    path.mkdir(parents=True)
    assert _guard(tmp_path).disk_in_use() is None


@pytest.mark.parametrize("how", ["deleted_and_open", "o_tmpfile", "deleted_and_mapped"])
def test_files_held_without_a_name_are_counted(tmp_path, how):
    if how == "deleted_and_mapped" and not _map_files_readable():
        pytest.skip("/proc/<pid>/map_files needs CAP_SYS_ADMIN")
    guard = _guard(tmp_path / "folder")
    (tmp_path / "folder").mkdir()
    if how == "o_tmpfile":
        fd = os.open(tmp_path / "folder", os.O_TMPFILE | os.O_RDWR, 0o600)
    else:
        fd = os.open(tmp_path / "folder" / "held", os.O_RDWR | os.O_CREAT, 0o600)
        os.unlink(tmp_path / "folder" / "held")
    os.write(fd, b"\1" * 4 * MiB)
    held = None
    if how == "deleted_and_mapped":
        held = mmap.mmap(fd, mmap.PAGESIZE)
        os.close(fd)
    try:
        assert guard.disk_in_use() >= 4 * MiB
    finally:
        if held is not None:
            held.close()
        else:
            os.close(fd)
    assert guard.disk_in_use() < 4 * MiB  # let go: no longer counted
