"""Resource limits and file-system isolation for the worker process.

The worker applies these to itself before it reads a line of student code. rlimits bound
memory, CPU, file size, open files and (with a uid of its own) processes; Landlock
(Linux >= 5.13) lets the worker read only the Python installation, the system libraries, the
grader's own package and the submission, and write only its private temporary folder, so the
reference solutions, the hidden tests and the results file are out of its reach. Where Landlock
is missing the level is reported as such. The same list of system paths is what bubblewrap
shows the worker (:mod:`grader.worker.sandbox`, on the trusted side, reads them from here).
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from collections.abc import Iterable
from dataclasses import dataclass

MiB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one worker may use. Timeouts are enforced by the trusted side."""

    call_timeout_s: float = 20.0
    load_timeout_s: float = 30.0
    memory_mb: int = 4096
    cpu_s: int = 1800
    file_size_mb: int = 64
    open_files: int = 256
    output_kb: int = 64
    processes: int = 128  # tasks (threads count) of the worker's own uid: a fork storm's cap
    # What the trusted side reads from the worker: one reply, and all replies of one test.
    # Sizes the worker announces are checked against these before anything is read.
    reply_mb: int = 256
    test_reply_mb: int = 1024
    # The worker's own folder (its files, and the arrays the grader hands it as files)
    disk_mb: int = 1024


def apply_rlimits(limits: Limits) -> list[str]:
    """Lower this process's rlimits (a process can always lower its own); return their names.

    RLIMIT_NPROC is not here: it counts every process of the real uid, so it is only set
    (:func:`apply_nproc`) once the worker has a uid of its own.
    """
    wanted = {
        "as": (resource.RLIMIT_AS, limits.memory_mb * MiB),
        "cpu": (resource.RLIMIT_CPU, limits.cpu_s),
        "fsize": (resource.RLIMIT_FSIZE, limits.file_size_mb * MiB),
        "nofile": (resource.RLIMIT_NOFILE, limits.open_files),
        "core": (resource.RLIMIT_CORE, 0),
    }
    for which, value in wanted.values():
        _lower(which, value)
    return list(wanted)


def apply_nproc(limits: Limits) -> str:
    """Cap the processes (and threads) of this uid: fork then fails with EAGAIN."""
    _lower(resource.RLIMIT_NPROC, limits.processes)
    return "nproc"


def _lower(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


# --- Landlock, through its three system calls (same numbers on every architecture) ---------
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_READ = _EXECUTE | _READ_FILE | _READ_DIR


def _all_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13  # refer
    if abi >= 3:
        rights |= 1 << 14  # truncate
    if abi >= 5:
        rights |= 1 << 15  # ioctl_dev
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        abi = _libc().syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(abi, 0)


def landlock_restrict(read: Iterable[str], write: Iterable[str]) -> str:
    """Allow reading under ``read`` and read-write under ``write``; deny all else.

    Also denies TCP bind/connect (ABI >= 4) and signals to processes outside (ABI >= 6).
    Returns a short description of what was enforced, or raises OSError.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available on this kernel")
    libc = _libc()
    fs = _all_fs_rights(abi)
    attr = _RulesetAttr(fs=fs, net=3 if abi >= 4 else 0, scoped=3 if abi >= 6 else 0)
    size = ctypes.sizeof(ctypes.c_uint64) * (3 if abi >= 6 else 2 if abi >= 4 else 1)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((read, _READ), (write, fs)):
            for path in paths:
                _add_path_rule(libc, ruleset, path, rights)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    extras = (", no TCP" if abi >= 4 else "") + (", no outside signals" if abi >= 6 else "")
    return f"ABI {abi} (files{extras})"


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_ONLY
        rule = _PathBeneath(allowed=rights, parent_fd=fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


# What of /etc a Python process with numpy, torch and matplotlib reads (not /etc/shadow).
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime", "/etc/timezone", "/etc/passwd", "/etc/group",
             "/etc/nsswitch.conf", "/etc/host.conf", "/etc/mime.types", "/etc/matplotlibrc",
             "/etc/fonts", "/etc/os-release", "/etc/debian_version", "/etc/lsb-release")
# What of /dev the worker may write: the usual sinks, and /dev/shm for multiprocessing's
# semaphores (on the fallback path, what its uid leaves there is removed when it stops).
DEV_WRITABLE = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/shm")
# ... and read: the kernel's random sources (torch's import opens /dev/urandom).
DEV_READABLE = ("/dev/urandom", "/dev/random")
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt")


def python_paths() -> list[str]:
    """The running interpreter's installation: prefixes, site-packages, the binary's folder."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p]
    return sorted(set(paths))


def system_read_paths() -> list[str]:
    """Folders a Python process needs to read to run numpy and friends."""
    paths = [*SYSTEM_DIRS, *ETC_FILES, *DEV_READABLE, "/proc", "/sys"] + python_paths()
    return sorted(set(paths))
