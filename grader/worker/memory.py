"""``memory_mb`` for a worker as a whole: all its processes, and the memory it parks in files.

RLIMIT_AS bounds each process on its own: four processes of 1.6 GB each hold 6.5 GB under a
4 GB limit, and files in ``/dev/shm`` are RAM outside any process. So the trusted side
enforces the limit on the worker as a whole, the best way the machine allows:

- **a memory cgroup** (v2, else v1) when this process may create one: the kernel then counts
  every process of the worker and the shared memory they touch, and stops the worker at
  ``memory_mb``; its swap is capped too;
- else **a watchdog thread** that adds up, every ``interval`` seconds, the resident memory of
  every process of the worker (its dedicated uid's, or its process tree's) and the files that
  uid owns in ``/dev/shm`` and ``/dev/mqueue``, and stops the worker when it goes over.

The same thread holds the worker's disk use to ``disk_mb``: its own folder, walked by
descriptors (no path is too long to measure), each file or folder costing at least a block
(empty ones use inodes all the same), plus the files its processes keep open or mapped after
deleting them (``O_TMPFILE`` ones too), which no walk finds. Reserving blocks without writing
them (``fallocate``) is refused in the worker, so every byte is written at the pace of a write.

``grader doctor`` reports which one a worker gets.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grader.worker.sandbox import has_capability, processes_of

__all__ = ["MemoryGuard", "cgroup_root", "disk_enforcement", "enforcement"]

MiB = 2**20
ENTRY_BYTES = 4096  # the least a file or folder costs the disk: its inode and its entry
MAX_DEPTH = 128  # folders nested deeper are not measured: the worker is stopped
_V2 = Path("/sys/fs/cgroup")
_V1 = Path("/sys/fs/cgroup/memory")
SHARED_MEMORY = ("/dev/shm", "/dev/mqueue")


def cgroup_root() -> tuple[str, Path] | None:
    """(version, folder) under which this process may create a memory cgroup, or None (also
    with ``GRADER_MEMORY_GUARD=watchdog``, which asks for the watchdog alone)."""
    if os.environ.get("GRADER_MEMORY_GUARD", "auto") == "watchdog":
        return None
    own = _own_cgroup_v2()
    if own is not None and (own / "cgroup.controllers").is_file():
        if "memory" in (own / "cgroup.controllers").read_text().split() and _writable(own):
            return "v2", own
    if (_V1 / "memory.limit_in_bytes").is_file() and _writable(_V1):
        return "v1", _V1
    return None


def enforcement() -> str:
    """What a worker's memory_mb is enforced with on this machine, for ``grader doctor``."""
    found = cgroup_root()
    if found is not None:
        return f"a memory cgroup ({found[0]}, under {found[1]}) per worker"
    return ("a watchdog per worker (every 0.1 s: the resident memory of all its processes "
            "and its files in /dev/shm; no memory cgroup can be created here)")


_CAP_SYS_PTRACE, _CAP_SYS_ADMIN, _CAP_CHECKPOINT_RESTORE = 19, 21, 40


def disk_enforcement() -> str:
    """How a worker's disk_mb is enforced on this machine, for ``grader doctor``: what the
    watchdog can see of the files a worker holds after deleting them depends on this
    process's capabilities (another uid's descriptors need CAP_SYS_PTRACE, its mappings'
    files CAP_SYS_ADMIN)."""
    root = os.geteuid() == 0
    fds = not root or has_capability(_CAP_SYS_PTRACE)
    maps = has_capability(_CAP_SYS_ADMIN) or has_capability(_CAP_CHECKPOINT_RESTORE)
    held = ("the files it holds open or mapped after deleting them" if fds and maps else
            "the files it holds open after deleting them (not those it only maps: no "
            "CAP_SYS_ADMIN)" if fds else
            "not the files it holds after deleting them (no CAP_SYS_PTRACE)")
    return (f"a watchdog per worker (every 0.1 s): its folder, walked by descriptors, each "
            f"file or folder at least {ENTRY_BYTES // 1024} KiB, and {held}; fallocate is "
            "refused where seccomp loads")


class MemoryGuard:
    """Keeps one worker (started as ``pid``, with ``uid`` when it has one of its own) within
    ``limit_mb`` of memory and its ``folder`` within ``disk_mb``; ``on_exceed(reason)`` is
    called (once) from the watchdog when it is not."""

    def __init__(self, pid: int, uid: int | None, folder: str, limit_mb: int, disk_mb: int,
                 on_exceed: Callable[[str], None], interval: float = 0.1) -> None:
        self.pid, self.uid, self.folder = pid, uid, folder
        self.limit, self.disk = limit_mb * MiB, disk_mb * MiB
        self.on_exceed = on_exceed
        self.interval = interval
        self.cgroup: Path | None = None
        self.kind = "watchdog"
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Put the worker's processes under a cgroup if possible; start the watchdog (which
        also watches the folder's size, and the memory where there is no cgroup)."""
        found = cgroup_root()
        if found is not None:
            with contextlib.suppress(OSError):
                self.cgroup = self._make_cgroup(*found)
                self.kind = f"cgroup {found[0]}"
        self._thread = threading.Thread(target=self._watch, name="grader-memory-guard",
                                        daemon=True)
        self._thread.start()
        return self.kind

    def adopt(self) -> None:
        """Move the worker's processes (all of them so far) into the cgroup; call before the
        worker runs student code, so that everything it forks later is born inside."""
        if self.cgroup is None:
            return
        for pid in self._pids():
            with contextlib.suppress(OSError):
                (self.cgroup / "cgroup.procs").write_text(str(pid))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if self.cgroup is not None:
            for _ in range(50):  # empty once its processes are gone (they are being killed)
                with contextlib.suppress(OSError):
                    self.cgroup.rmdir()
                    break
                time.sleep(0.02)
            self.cgroup = None

    # --- the cgroup --------------------------------------------------------------------
    def _make_cgroup(self, version: str, root: Path) -> Path:
        folder = root / f"grader-worker-{os.getpid()}-{self.pid}"
        folder.mkdir(exist_ok=True)
        if version == "v2":
            (folder / "memory.max").write_text(str(self.limit))
            with contextlib.suppress(OSError):
                (folder / "memory.swap.max").write_text("0")
        else:
            (folder / "memory.limit_in_bytes").write_text(str(self.limit))
            with contextlib.suppress(OSError):
                (folder / "memory.memsw.limit_in_bytes").write_text(str(self.limit))
        return folder

    # --- the watchdog ------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.cgroup is None:
                used = self.memory_in_use()
                self.peak = max(self.peak, used)
                if used > self.limit:
                    self._exceeded(f"its processes and shared memory held {used // MiB:,} MB "
                                   f"together, more than its {self.limit // MiB:,} MB")
                    return
            size = self.disk_in_use()
            if size is None:
                self._exceeded("its folder could not be measured (folders nested more "
                               f"than {MAX_DEPTH} deep, or closed to the grader)")
                return
            if size > self.disk:
                self._exceeded(f"it wrote {size // MiB:,} MB of files, more than its "
                               f"{self.disk // MiB:,} MB")
                return

    def oom_killed(self) -> bool:
        """Whether the kernel stopped a process of the cgroup for going over the limit."""
        if self.cgroup is None:
            return False
        for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
            with contextlib.suppress(OSError, ValueError):
                for line in (self.cgroup / name).read_text().splitlines():
                    field, _, value = line.partition(" ")
                    if field == key and int(value) > 0:
                        return True
        with contextlib.suppress(OSError, ValueError):
            return int((self.cgroup / "memory.failcnt").read_text()) > 0
        return False

    def _exceeded(self, reason: str) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.on_exceed(reason)

    def memory_in_use(self) -> int:
        """Resident memory of every process of the worker, plus its shared-memory files."""
        total = sum(_rss(pid) for pid in self._pids())
        if self.uid is not None:
            total += sum(_owned_bytes(folder, self.uid) for folder in SHARED_MEMORY)
        return total

    def disk_in_use(self) -> int | None:
        """Bytes of the worker's folder and of the files its processes hold after deleting
        them; None when the folder cannot be measured."""
        size = _folder_size(self.folder)
        return None if size is None else size + _deleted_but_held(self._pids())

    def _pids(self) -> list[int]:
        if self.uid is not None:
            return [pid for pid, state, _ in processes_of(self.uid) if state != "Z"]
        return _tree(self.pid)


def _own_cgroup_v2() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return _V2 / line[3:].lstrip("/")
    return None


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (by parent pid)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _owned_bytes(folder: str, uid: int) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if info.st_uid == uid:
                    total += info.st_blocks * 512
    return total


def _folder_size(folder: str) -> int | None:
    """What the files and folders under ``folder`` take on the disk (at least ENTRY_BYTES
    each), walked by descriptors from the top: a path however long is measured. None when it
    cannot be measured: folders nested more than MAX_DEPTH deep (each level holds a
    descriptor open), or a folder the grader may not read."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        top = os.open(folder, flags)
    except OSError:
        return 0  # gone: nothing left to hold
    total = 0
    stack = [(top, os.scandir(top))]
    try:
        while stack:
            fd, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                entries.close()
                os.close(fd)
                stack.pop()
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:  # removed meanwhile
                continue
            total += max(info.st_blocks * 512, ENTRY_BYTES)
            if stat.S_ISDIR(info.st_mode):
                if len(stack) >= MAX_DEPTH:
                    return None
                try:
                    inner = os.open(entry.name, flags, dir_fd=fd)
                except FileNotFoundError:  # removed meanwhile
                    continue
                except OSError:  # closed to the grader (a mode of 000 without root)
                    return None
                stack.append((inner, os.scandir(inner)))
    finally:
        for fd, entries in stack:
            entries.close()
            os.close(fd)
    return total


def _deleted_but_held(pids: list[int]) -> int:
    """What the regular files that ``pids`` keep open or mapped, with no name left, take on
    the disk (each file once)."""
    found: dict[tuple[int, int], int] = {}
    for pid in pids:
        for link in _open_files(pid) + _deleted_mappings(pid):
            with contextlib.suppress(OSError):
                info = os.stat(link)
                if info.st_nlink == 0 and stat.S_ISREG(info.st_mode):
                    found[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(found.values())


def _open_files(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return [f"/proc/{pid}/fd/{name}" for name in os.listdir(f"/proc/{pid}/fd")]
    return []


def _deleted_mappings(pid: int) -> list[str]:
    """The mappings of files deleted since (their links in map_files, readable with
    CAP_SYS_ADMIN: elsewhere the stat fails and they are not counted)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [f"/proc/{pid}/map_files/{line.split(maxsplit=1)[0].decode()}"
            for line in lines if line.endswith(b" (deleted)")]
