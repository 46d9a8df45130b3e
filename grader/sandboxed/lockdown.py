"""The worker's own lock-down, applied to itself before any student code: user and syscalls.

Landlock and rlimits live in :mod:`grader.sandboxed.limits`; this module adds the two layers
that do not depend on the file system:

* **a dedicated user.** Started as root, the worker switches to the uid the trusted side
  leased for it (one per running worker), so ``RLIMIT_NPROC`` caps *its* processes and the
  trusted side can kill every process of that uid at the end. Where the interpreter or the
  submission lives in a folder that uid cannot enter (a private home, a 0700 temp folder),
  it keeps one capability, ``CAP_DAC_READ_SEARCH``: reading past file modes, never writing,
  and only inside what Landlock (and bubblewrap's mount view) leaves visible.
* **a seccomp filter** (libseccomp through ctypes): no sockets but Unix ones, no io_uring
  (which could open sockets behind the filter's back), no new namespaces, no
  ``open_by_handle_at``, no bpf/perf/userfaultfd/keyrings. Everything else is allowed.
  Without bubblewrap's mount and network namespaces, the host's Unix sockets (D-Bus,
  journald, a container runtime's socket) are in reach, so there the filter also refuses
  ``connect`` and datagram sockets: socket pairs (multiprocessing pipes) still work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import signal

_PR_SET_PDEATHSIG, _PR_SET_KEEPCAPS, _PR_CAPBSET_DROP = 1, 8, 24
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAP_DAC_READ_SEARCH = 2
_CAP_VERSION_3 = 0x20080522

SECCOMP_SUMMARY = "no inet sockets, io_uring, new namespaces or fallocate"
UNIX_SUMMARY = ", no unix connect or datagram sockets"
_AF_UNIX = 1
_SOCKET_TYPES_DENIED = (2, 3, 4, 10)  # SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_PACKET
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_NE, _SCMP_CMP_MASKED_EQ = 1, 7
_CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                     0x40000000)  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_DENIED = {  # syscall -> errno; ENOSYS where libraries have a fallback for "not there"
    "io_uring_setup": errno.ENOSYS, "io_uring_enter": errno.ENOSYS,
    "io_uring_register": errno.ENOSYS, "clone3": errno.ENOSYS,  # glibc falls back to clone
    "unshare": errno.EPERM, "setns": errno.EPERM, "open_by_handle_at": errno.EPERM,
    "bpf": errno.EPERM, "perf_event_open": errno.EPERM, "userfaultfd": errno.EPERM,
    "keyctl": errno.EPERM, "add_key": errno.EPERM, "request_key": errno.EPERM,
    # Reserving blocks writes nothing, so gigabytes take a moment, well within one look of
    # the disk watchdog; refused, glibc's posix_fallocate writes them instead, at the pace
    # of any write.
    "fallocate": errno.EOPNOTSUPP,
}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def set_parent_death_signal() -> None:
    """SIGKILL us when our parent goes; a credential change clears this, so call it again."""
    try:
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the socket's EOF still ends the loop
        pass


# --- the dedicated user -----------------------------------------------------------------------
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_user(uid: int, gid: int, keep_read_search: bool) -> str:
    """Become ``uid``/``gid`` for good (real, effective, saved) with no groups; raise OSError
    if that does not hold afterwards. Returns what the record should say."""
    libc = _libc()
    keep = 1 << CAP_DAC_READ_SEARCH if keep_read_search else 0
    if keep and libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS) failed")
    for cap in range(64):  # the bounding set: no capability can ever come back (EINVAL = none)
        if not (keep >> cap) & 1:
            libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)(_CapData(keep, keep, 0), _CapData(0, 0, 0))
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    libc.prctl(_PR_SET_KEEPCAPS, 0, 0, 0, 0)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError(errno.EPERM, "the user switch did not hold")
    if _effective_caps() != keep:
        raise OSError(errno.EPERM, f"capabilities left after the switch: {_effective_caps():#x}")
    return f"uid {uid} (dedicated)"


def _effective_caps() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return -1


# --- seccomp ----------------------------------------------------------------------------------
class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def libseccomp_path() -> str | None:
    """Where libseccomp is, or None (it is a dependency of apt and systemd: nearly always)."""
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        if name:
            try:
                ctypes.CDLL(name)
            except OSError:
                continue
            return name
    return None


def _load_libseccomp() -> ctypes.CDLL:
    path = libseccomp_path()
    if path is None:
        raise OSError(errno.ENOENT, "libseccomp.so.2 not found")
    lib = ctypes.CDLL(path, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)  # SCMP_ACT_ERRNO(code)


def seccomp_restrict(unix_connect: bool = True) -> str:
    """Load the filter into this process (inherited by all it starts); raise OSError if not.
    ``unix_connect=False`` also refuses connect() and datagram sockets (see above)."""
    lib = _load_libseccomp()
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        def rule(name: str, action: int, *cmps: _ArgCmp) -> None:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                return  # not a syscall on this architecture
            array = (_ArgCmp * len(cmps))(*cmps) if cmps else None
            rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array)
            if rc < 0:
                raise OSError(-rc, f"seccomp_rule_add({name}) failed")

        not_unix = _ArgCmp(0, _SCMP_CMP_NE, _AF_UNIX, 0)
        rule("socket", _errno_action(errno.EACCES), not_unix)
        rule("socketpair", _errno_action(errno.EACCES), not_unix)
        for flag in _CLONE_NAMESPACES:
            rule("clone", _errno_action(errno.EPERM), _ArgCmp(0, _SCMP_CMP_MASKED_EQ, flag, flag))
        for name, code in _DENIED.items():
            rule(name, _errno_action(code))
        if not unix_connect:
            rule("connect", _errno_action(errno.EACCES))
            for kind in _SOCKET_TYPES_DENIED:  # flags (CLOEXEC, NONBLOCK) sit above 0xf
                for name in ("socket", "socketpair"):
                    rule(name, _errno_action(errno.EACCES),
                         _ArgCmp(1, _SCMP_CMP_MASKED_EQ, 0xF, kind))
        rc = lib.seccomp_load(ctx)  # sets no_new_privs itself (the default attribute)
        if rc < 0:
            raise OSError(-rc, "seccomp_load failed")
    finally:
        lib.seccomp_release(ctx)
    return SECCOMP_SUMMARY + ("" if unix_connect else UNIX_SUMMARY)
