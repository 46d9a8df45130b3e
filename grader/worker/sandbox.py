"""The worker's sandbox, decided and torn down on the trusted side.

Two paths, chosen by ``GRADER_SANDBOX`` (``auto``, the default; ``bwrap``; ``fallback``;
``none``, which is also what the ``--no-landlock`` debug option gives):

* **bubblewrap**, where ``bwrap`` runs here (probed once per process): the worker sees a
  read-only view of the system libraries, the Python installation, the ``grader/`` package
  (not its parent, which holds ``tests/`` and ``reference/``) and the submission's folder,
  plus its own temp folder read-write; it gets new PID, network, IPC, UTS and cgroup
  namespaces, a new session, no capabilities, and dies with the grader. The PID namespace
  takes every process it started down with it.
* **fallback**, where bubblewrap cannot run (Docker without user namespaces, as on
  Gradescope): the worker confines itself with Landlock, seccomp and rlimits.

On both paths a grader running as root gives each worker a uid of its own from
61000-61999, leased with a lock file, so that ``RLIMIT_NPROC`` caps that worker's processes
(the kernel exempts root from it, and bubblewrap's ``--uid`` would still be root outside) and
:meth:`Sandbox.kill_all` can kill every process of that uid, however it detached. The worker
switches to it itself (:mod:`grader.sandboxed.lockdown`), before any student code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.sandboxed.limits import ETC_FILES, python_paths

ENV = "GRADER_SANDBOX"
MODES = ("auto", "bwrap", "fallback", "none")
UID_BASE, UID_COUNT = 61000, 1000
_BWRAP_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
_BWRAP_EXTRA = ("/sys/devices/system/cpu",)  # torch's cpuinfo reads it
_NAMESPACES = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try"]
_CAP_DAC_READ_SEARCH = 2
_PR_SET_CHILD_SUBREAPER = 36


class SandboxError(RuntimeError):
    """The sandbox that was asked for cannot be had here (a configuration error)."""


def requested_mode(explicit: str | None = None, landlock: bool = True) -> str:
    """``none`` when file-system isolation is turned off, else the explicit or $GRADER_SANDBOX
    mode, else ``auto``."""
    if not landlock:
        return "none"
    mode = (explicit or os.environ.get(ENV) or "auto").strip().lower()
    if mode not in MODES:
        raise SandboxError(f"{ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


# --- bubblewrap -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BwrapProbe:
    path: str | None
    version: str
    works: bool
    error: str
    sized_tmpfs: bool = False  # --size (bubblewrap >= 0.7) for the worker's /dev/shm


def _as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def probe_bwrap() -> BwrapProbe:
    """Whether bubblewrap can build the namespaces the worker gets, here and now (cached)."""
    path = shutil.which("bwrap")
    if path is None:
        return BwrapProbe(None, "", False, "bwrap is not installed")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
        for sized in (True, False):  # older bubblewraps know no --size
            argv = [path, *_namespace_args(_as_root()), *_capability_args(_as_root(), False),
                    *_dev_args(sized), *_system_args(), "--perms", "0755", "--dir", "/probe",
                    "--chdir", "/", "--", "true"]
            run = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                                 stdin=subprocess.DEVNULL)
            if run.returncode == 0:
                return BwrapProbe(path, version, True, "", sized)
    except (OSError, subprocess.SubprocessError) as exc:
        return BwrapProbe(path, "", False, str(exc))
    error = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
    return BwrapProbe(path, version, False, error)


def _dev_args(sized: bool) -> list[str]:
    shm = ["--size", str(256 * 2**20)] if sized else []
    return ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", *shm, "--tmpfs", "/dev/shm"]


def _namespace_args(as_root: bool) -> list[str]:
    # As root, no user namespace: bubblewrap would map the sandbox to uid 0 outside, and the
    # worker could no longer switch to its own uid. Without root, the user namespace is what
    # lets bubblewrap build the others.
    return ["--die-with-parent", "--new-session", *_NAMESPACES] + \
        ([] if as_root else ["--unshare-user"])


def _capability_args(switching: bool, keep_read_search: bool) -> list[str]:
    args = ["--cap-drop", "ALL"]
    if switching:  # just what the worker needs to switch to its uid (then it drops them)
        caps = ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"]
        caps += ["CAP_DAC_READ_SEARCH"] if keep_read_search else []
        for cap in caps:
            args += ["--cap-add", cap]
    return args


def _system_args() -> list[str]:
    args: list[str] = []
    for path in _BWRAP_SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _covered(path: str, bound: list[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in bound)


def read_binds(grader_dir: str, folders: list[str]) -> list[str]:
    """The real folders bubblewrap shows read-only beyond the system ones, outermost first."""
    bound = [os.path.realpath(p) for p in _BWRAP_SYSTEM if os.path.isdir(p)]
    out: list[str] = []
    for path in sorted({os.path.realpath(p) for p in [*python_paths(), grader_dir, *folders]},
                       key=len):
        if os.path.exists(path) and not _covered(path, bound + out):
            out.append(path)
    return out


def bwrap_args(sandbox: Sandbox, tmpdir: str, grader_dir: str, folders: list[str]) -> list[str]:
    """The bubblewrap command line that goes before the worker's own."""
    probe = probe_bwrap()
    assert probe.path is not None
    args = [probe.path, *_namespace_args(_as_root()),
            *_capability_args(sandbox.uid is not None, sandbox.keep_read_search),
            *_dev_args(probe.sized_tmpfs), *_system_args()]
    made: set[str] = set()
    accounts = _accounts(sandbox.uid, tmpdir)
    for path in (*ETC_FILES, *_BWRAP_EXTRA):
        if path in accounts:  # the machine's list, plus the worker's own uid
            args += [*_parents(path, [], made), "--ro-bind", accounts[path], path]
        elif os.path.exists(path):
            args += [*_parents(path, [], made), "--ro-bind", path, path]
    binds = read_binds(grader_dir, folders)
    for path in [*binds, tmpdir]:
        args += _parents(path, binds, made)
        args += ["--ro-bind" if path in binds else "--bind", path, path]
    for path in python_paths():  # the interpreter's own names for symlinked prefixes
        if os.path.realpath(path) != path and not _covered(path, binds):
            args += [*_parents(path, binds, made), "--symlink", os.path.realpath(path), path]
    # bubblewrap changes folder after dropping its capabilities, and the temp folder is the
    # worker uid's (0700): the worker enters it itself, once it is that uid.
    return args + ["--chdir", "/", "--"]


def _accounts(uid: int | None, tmpdir: str) -> dict[str, str]:
    """A passwd and a group file that know the worker's dedicated uid: libraries ask who the
    user is at import (the CUDA build of torch does), and a uid without an entry makes them
    fail. Written in the grader's own temp folder for this start; {} without a uid."""
    if uid is None:
        return {}
    folder = Path(tempfile.mkdtemp(prefix="grader-accounts-"))
    out = {}
    for name, line in (("passwd", f"grader-worker:x:{uid}:{uid}:grader worker:/tmp:"
                                  "/usr/sbin/nologin\n"),
                       ("group", f"grader-worker:x:{uid}:\n")):
        try:
            original = Path(f"/etc/{name}").read_text(encoding="utf-8", errors="replace")
        except OSError:
            original = ""
        target = folder / name
        target.write_text(original.rstrip("\n") + "\n" + line if original else line)
        target.chmod(0o644)
        out[f"/etc/{name}"] = str(target)
    folder.chmod(0o755)
    _ACCOUNT_FOLDERS[tmpdir] = folder
    return out


_ACCOUNT_FOLDERS: dict[str, Path] = {}  # a worker's folder -> its account files' folder


def accounts_of(tmpdir: str | None) -> Path | None:
    """The folder of the account files made for the worker of ``tmpdir``, if any."""
    return _ACCOUNT_FOLDERS.get(tmpdir) if tmpdir else None


def forget_accounts(tmpdir: str | None) -> None:
    """Remove the account files made for the worker of ``tmpdir`` (at its stop)."""
    folder = _ACCOUNT_FOLDERS.pop(tmpdir, None) if tmpdir else None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _parents(path: str, binds: list[str], made: set[str]) -> list[str]:
    """``--dir`` for the folders above a bind that bubblewrap would otherwise make 0700 (so
    that the worker's uid could not walk through them to what is bound)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents):
        name = str(parent)
        if name == "/" or name in made or _covered(name, binds):
            continue
        made.add(name)
        args += ["--perms", "0755", "--dir", name]
    return args


# --- the dedicated uid ----------------------------------------------------------------------
def processes_of(uid: int) -> list[tuple[int, str, int]]:
    """(pid, state, parent pid) of every process whose real, effective or saved uid is uid."""
    found = []
    wanted = str(uid).encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                text = f.read()
        except OSError:  # gone meanwhile
            continue
        if wanted not in _field(text, b"Uid:").split()[:3]:
            continue
        state = _field(text, b"State:").strip()[:1].decode() or "?"
        found.append((int(name), state, int(_field(text, b"PPid:").strip() or 0)))
    return found


def _field(status: bytes, key: bytes) -> bytes:
    start = status.find(b"\n" + key)
    if start < 0:
        return b""
    start += len(key) + 1
    end = status.find(b"\n", start)
    return status[start:end if end >= 0 else None]


def kill_uid(uid: int, timeout: float = 5.0) -> list[int]:
    """SIGKILL every process of ``uid`` until none is left alive (a fork storm included: the
    scan repeats until it comes back empty). Returns the pids still alive at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid, state, _ in processes_of(uid) if state != "Z"]
        if not alive or time.monotonic() > deadline:
            return alive
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)


def remove_files_of(uid: int, folders: tuple[str, ...]) -> None:
    """Remove what ``uid`` left in shared folders (shared memory would outlive the worker:
    a channel to the next submission graded on this machine)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)


SHARED_FOLDERS = ("/dev/shm", "/dev/mqueue", "/tmp", "/var/tmp")


def reclaim(uid: int) -> bool:
    """Clean up after a grader that may have died with the lease of ``uid`` (SIGKILLed
    mid-test, its ``Worker.stop`` never reached): if nobody holds the uid now, kill every
    process of it and remove what it left in the shared folders. A uid another grader has
    taken since is left alone (taking it killed the leftovers already). True when cleaned."""
    try:
        fd = os.open(_lease_dir() / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except (OSError, SandboxError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        kill_uid(uid, timeout=2.0)
        remove_files_of(uid, SHARED_FOLDERS)
    finally:
        os.close(fd)
    return True


def _lease_dir() -> Path:
    folder = Path("/run/grader-sandbox")
    if not os.access("/run", os.W_OK):
        folder = Path(tempfile.gettempdir()) / f"grader-sandbox-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(f"{folder} is not a private folder of this user")
    return folder


def _unused_id(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return False
    except KeyError:
        pass
    try:
        grp.getgrgid(uid)
        return False
    except KeyError:
        return True


class UidLease:
    """A uid from 61000-61999 that no other worker on this machine holds (an flock'ed file)
    and that has no process left; given back with :meth:`release`."""

    def __init__(self, uid: int, fd: int) -> None:
        self.uid = uid
        self._fd: int | None = fd

    @classmethod
    def take(cls) -> UidLease | None:
        folder = _lease_dir()
        start = os.getpid() % UID_COUNT
        for i in range(UID_COUNT):
            uid = UID_BASE + (start + i) % UID_COUNT
            if not _unused_id(uid):
                continue
            fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            # Processes of a uid nobody holds are what a grader that died left behind: kill
            # them; zombies that nobody reaps still count for RLIMIT_NPROC, so skip the uid.
            if processes_of(uid) and (kill_uid(uid, timeout=1.0) or processes_of(uid)):
                os.close(fd)
                continue
            return cls(uid, fd)
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --- the plan -------------------------------------------------------------------------------
@dataclasses.dataclass
class Sandbox:
    """How one worker start is confined; ``config()`` is what the worker is told."""

    kind: str  # "bubblewrap" | "fallback" | "none"
    lease: UidLease | None = None
    keep_read_search: bool = False
    nproc: bool = False
    user_note: str = ""

    @property
    def uid(self) -> int | None:
        return self.lease.uid if self.lease else None

    def config(self) -> dict:
        bwrap = self.kind == "bubblewrap"
        return {"kind": self.kind, "uid": self.uid, "gid": self.uid,
                "keep_read_search": self.keep_read_search, "nproc": self.nproc,
                "user_note": self.user_note, "pid_namespace": bwrap,
                "network_namespace": bwrap, "mount_namespace": bwrap}

    def command(self, argv: list[str], *, tmpdir: str, grader_dir: str,
                folders: list[str]) -> list[str]:
        """``argv`` as it is started: inside bubblewrap, or as it is."""
        if self.kind != "bubblewrap":
            return argv
        return bwrap_args(self, tmpdir, grader_dir, folders) + argv

    def kill_all(self) -> list[int]:
        """Kill every process of the dedicated uid; the pids that would not die."""
        return kill_uid(self.uid) if self.uid is not None else []

    def release(self, worker_pid: int | None) -> None:
        """Reap the uid's orphans that came to us, then give the uid back (unless something
        of it is still alive: then it stays taken)."""
        if self.uid is None or self.lease is None:
            return
        for pid, state, parent in processes_of(self.uid):
            if state == "Z" and parent == os.getpid() and pid != worker_pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
        if self.kind != "bubblewrap":  # bubblewrap's /dev/shm was its own, and is gone
            remove_files_of(self.uid, ("/dev/shm", "/dev/mqueue"))
        if not kill_uid(self.uid, timeout=1.0):
            self.lease.release()
        self.lease = None


def prepare(mode: str, *, tmpdir: str, grader_dir: str, folders: list[str],
            files: list[str]) -> Sandbox:
    """Decide this start's sandbox; give ``tmpdir`` to the worker's uid. Raise SandboxError
    when ``bwrap`` was required and cannot run."""
    if mode == "none":
        return Sandbox("none", user_note=_current_user())
    kind = "fallback"
    if mode in ("auto", "bwrap"):
        probe = probe_bwrap()
        if probe.works:
            kind = "bubblewrap"
        elif mode == "bwrap":
            raise SandboxError(f"{ENV}=bwrap, but bubblewrap cannot run here: {probe.error}")
    # Without root, RLIMIT_NPROC would count all the grader user's processes, except in
    # bubblewrap's user namespace, where it counts the sandbox's own.
    sandbox = Sandbox(kind, nproc=kind == "bubblewrap" and not _as_root())
    if not _as_root():
        where = " in a user namespace" if kind == "bubblewrap" else ""
        sandbox.user_note = f"uid {os.getuid()} (the grader's own{where})"
        return sandbox
    needed = [os.path.realpath(sys.executable), *python_paths(), grader_dir, *folders, *files]
    tops = read_binds(grader_dir, folders) if kind == "bubblewrap" else []
    keep = not all(_reachable(os.path.realpath(p), tops) for p in needed)
    if keep and not has_capability(_CAP_DAC_READ_SEARCH):
        sandbox.user_note = ("root (not switched: the interpreter or the submission is in a "
                             "folder other users cannot enter, and CAP_DAC_READ_SEARCH is "
                             "not available)")
        return sandbox
    lease = UidLease.take()
    if lease is None:
        sandbox.user_note = f"root (not switched: no free uid in {UID_BASE}-{UID_BASE + 999})"
        return sandbox
    try:
        os.chown(tmpdir, lease.uid, lease.uid)
    except OSError:
        lease.release()
        raise
    sandbox.lease, sandbox.keep_read_search, sandbox.nproc = lease, keep, True
    if kind == "fallback":
        _become_subreaper()
    return sandbox


def _current_user() -> str:
    return "root" if _as_root() else f"uid {os.getuid()} (the grader's own)"


def _reachable(path: str, tops: list[str]) -> bool:
    """Whether a user with no tie to the owners (the "other" bits) can read ``path``, walking
    down from the folder bubblewrap binds it under (its parents then are bubblewrap's own,
    0755), or from / without bubblewrap."""
    top = max((t for t in tops if _covered(path, [t])), key=len, default="/")
    parts = Path(path).relative_to(top).parts if path != top else ()
    current = Path(top)
    try:
        for part in ("", *parts):
            current = current / part if part else current
            mode = current.stat().st_mode
            is_dir = stat.S_ISDIR(mode)
            last = current == Path(path)
            need = (stat.S_IXOTH | (stat.S_IROTH if last else 0)) if is_dir else stat.S_IROTH
            if mode & need != need:
                return False
    except OSError:
        return False
    return True


def has_capability(cap: int) -> bool:
    """Whether this process has capability number ``cap`` in effect."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> cap & 1)
    except OSError:
        pass
    return False


@functools.cache
def _become_subreaper() -> None:
    """Orphans of a fallback worker come to us (not to a pid 1 that may never reap them), so
    that :meth:`Sandbox.release` can reap them and the uid is free again."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
