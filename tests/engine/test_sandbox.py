"""The worker's sandbox on both paths: bubblewrap, and the fallback (Landlock, seccomp, its own
uid, rlimits). Each path is forced with ``sandbox=...`` (what ``GRADER_SANDBOX`` sets)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from grader import cli, doctor
from grader.packs import load_pack
from grader.sandboxed.limits import Limits, landlock_abi
from grader.sandboxed.lockdown import libseccomp_path
from grader.worker import sandbox as sandboxing
from grader.worker.client import SubmissionError, Worker, WorkerCrashed
from grader.worker.memory import cgroup_root, disk_enforcement
from grader.worker.proxy import Student
from grader.worker.sandbox import SandboxError, probe_bwrap, processes_of

PACK = load_pack("ift6135_a1")
REFERENCE = PACK.reference_dir / "solution.py"
HIDDEN_TEST = PACK.tests_dir / "test_backward.py"
GRADER_PARENT = Path(sandboxing.__file__).resolve().parents[2]
LIMITS = Limits(call_timeout_s=10, load_timeout_s=20, memory_mb=1024, processes=48)
ROOT = os.geteuid() == 0

HOSTILE = '''
import ctypes, os, signal, socket, time

def _name(tag):
    ctypes.CDLL(None).prctl(15, tag.encode(), 0, 0, 0)  # PR_SET_NAME: found by the test

def peek(path):
    return open(path, "rb").read(40)

def listing(path):
    return sorted(os.listdir(path))

def write(path):
    with open(path, "w") as f:
        f.write("forged")
    return os.path.exists(path)

def inet(family):
    socket.socket(getattr(socket, family), socket.SOCK_STREAM).close()

def unix():
    a, b = socket.socketpair()
    a.sendall(b"ok")
    return b.recv(2).decode()

def who():
    return [os.getuid(), os.geteuid(), os.getgid(), os.getppid()]

def netns():
    return os.readlink("/proc/self/ns/net")

def total(a):
    return float(a.sum())

def die():
    os._exit(3)

def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"leak")

def datagram():
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()
    return True

def shared_memory(tag):
    import multiprocessing
    multiprocessing.Lock()  # a POSIX semaphore in /dev/shm
    with open("/dev/shm/" + tag, "w") as f:
        f.write(tag)
    return os.path.exists("/dev/shm/" + tag)

def random_bytes():
    with open("/dev/urandom", "rb") as f:
        return len(f.read(8))

def torch_sum():
    import torch
    return float(torch.ones(3).sum())

def capabilities():
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)

def storm(n, tag):
    started = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError as exc:
            return [started, exc.errno]
        if pid == 0:
            try:
                _name(tag)
                time.sleep(600)
            finally:
                os._exit(0)
        started += 1
    return [started, 0]

def ghost(tag):
    """Detach a grandchild in its own session that ignores SIGTERM."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                _name(tag)
                time.sleep(600)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return True
'''


def _bwrap_or_skip() -> None:
    probe = probe_bwrap()
    if not probe.works:
        pytest.skip(f"bubblewrap cannot run here ({probe.error}); install it: apt-get install "
                    "bubblewrap (needs user namespaces, or root with CAP_SYS_ADMIN)")


@pytest.fixture(params=["bwrap", "fallback"])
def mode(request) -> str:
    if request.param == "bwrap":
        _bwrap_or_skip()
    return request.param


@pytest.fixture
def make(tmp_path, mode):
    workers: list[Worker] = []

    def start(code: str = HOSTILE, **kwargs) -> tuple[Worker, Student]:
        folder = tmp_path / f"submission{len(workers)}"
        folder.mkdir()
        (folder / "solution.py").write_text(code)
        worker = Worker(folder / "solution.py", folder, limits=kwargs.pop("limits", LIMITS),
                        sandbox=kwargs.pop("sandbox", mode), **kwargs)
        workers.append(worker)
        worker.start()
        return worker, Student(worker)

    yield start
    for w in workers:
        w.stop()


def _named(tag: str) -> list[int]:
    """Live (not zombie) processes whose name is ``tag``, anywhere on the machine."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                comm = Path(f"/proc/{name}/comm").read_text().strip()
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if comm == tag and state != "Z":
                found.append(int(name))
    return found


def _gone(tag: str, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while _named(tag):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _raised(call, *args) -> str:
    with pytest.raises(SubmissionError) as info:
        call(*args)
    return info.value.message


# --- file system ---------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [REFERENCE, HIDDEN_TEST, GRADER_PARENT / "tests" / "engine"
                                    / "test_sandbox.py"], ids=["reference", "hidden", "engine"])
def test_reference_and_tests_are_unreadable(make, mode, target):
    _, s = make()
    message = _raised(s.peek, str(target))
    expected = "FileNotFoundError" if mode == "bwrap" else "PermissionError"
    assert expected in message, message


def test_grader_parent_shows_no_tests_or_reference(make, mode):
    _, s = make()
    # Landlock refuses to list it; without Landlock, bubblewrap shows only grader/ there.
    try:
        names = s.listing(str(GRADER_PARENT))
    except SubmissionError as exc:
        assert "PermissionError" in exc.message
    else:
        assert mode == "bwrap" and landlock_abi() < 1
        assert "grader" in names and not {"tests", "reference", "student_template"} & set(names)


def test_writing_outside_the_temp_dir_fails(make, tmp_path):
    worker, s = make()
    for target in (worker.submission.parent / "forged.py", tmp_path / "forged.json",
                   Path("/tmp") / f"forged-{uuid.uuid4().hex}"):
        message = _raised(s.write, str(target))
        assert "PermissionError" in message or "Read-only file system" in message, message
        assert not target.exists()
    assert s.write(os.path.join(worker.tmpdir, "mine.txt")) is True  # its own folder works


def test_what_numpy_and_torch_need_is_there(make):
    _, s = make()
    assert s.random_bytes() == 8  # torch's import opens /dev/urandom
    pytest.importorskip("torch")
    assert s.torch_sum() == 3.0


def test_large_arrays_still_arrive_as_files(make):
    _, s = make()
    assert s.total(np.ones(2_000_000)) == 2_000_000.0  # 16 MB: spilled into the temp dir


# --- network, user --------------------------------------------------------------------------------
@pytest.mark.skipif(libseccomp_path() is None, reason="libseccomp.so.2 is not installed")
@pytest.mark.parametrize("family", ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"])
def test_inet_sockets_are_refused(make, family):
    _, s = make()
    assert "PermissionError" in _raised(s.inet, family)
    assert s.unix() == "ok"  # Unix sockets (multiprocessing, DataLoader) still work


@pytest.mark.skipif(libseccomp_path() is None, reason="libseccomp.so.2 is not installed")
def test_host_unix_sockets_are_out_of_reach(make, mode, tmp_path):
    folder = tmp_path / "service"
    folder.mkdir(mode=0o755)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(folder / "service.sock"))
        listener.listen(1)
        (folder / "service.sock").chmod(0o777)  # like D-Bus' system bus or journald's
        _, s = make()
        message = _raised(s.unix_connect, str(folder / "service.sock"))
        # fallback: seccomp refuses connect(); bubblewrap: the socket is not in its view
        expected = "FileNotFoundError" if mode == "bwrap" else "PermissionError"
        assert expected in message, message
        if mode == "fallback":  # nor an unconnected datagram socket (sendto any path)
            assert "PermissionError" in _raised(s.datagram)
        else:
            assert s.datagram() is True
    finally:
        listener.close()


def test_shared_memory_works_and_does_not_outlive_the_worker(make):
    worker, s = make()
    tag = "grader-test-" + uuid.uuid4().hex[:8]
    assert s.shared_memory(tag) is True
    worker.stop()
    assert not Path("/dev/shm", tag).exists()


def test_network_namespace_only_with_bubblewrap(make, mode):
    _, s = make()
    ours = os.readlink("/proc/self/ns/net")
    assert (s.netns() != ours) == (mode == "bwrap")


def test_the_user_is_not_root(make, mode):
    worker, s = make()
    uid, euid, gid, ppid = s.who()
    assert uid != 0 and euid != 0 and gid != 0
    if ROOT:
        assert uid == worker.sandbox.uid and sandboxing.UID_BASE <= uid < sandboxing.UID_BASE + \
            sandboxing.UID_COUNT
    if mode == "bwrap":
        assert ppid == 1  # bubblewrap's init in the PID namespace: the worker did not exit


@pytest.mark.skipif(not ROOT, reason="dedicated uids need the grader to run as root")
def test_no_free_uid_is_recorded_and_bubblewrap_keeps_no_capability(make, mode, monkeypatch):
    monkeypatch.setattr(sandboxing.UidLease, "take", classmethod(lambda cls: None))
    worker, s = make()
    assert worker.isolation["user"].startswith("root (not switched: no free uid")
    assert "nproc" not in worker.isolation["rlimits"]
    if mode == "bwrap":
        assert s.capabilities() == 0  # --cap-drop ALL, nothing added back


@pytest.mark.skipif(not ROOT, reason="dedicated uids need the grader to run as root")
def test_two_workers_get_different_uids(make):
    first, _ = make()
    second, _ = make()
    assert first.sandbox.uid != second.sandbox.uid


# --- processes ------------------------------------------------------------------------------------
def test_fork_storm_is_capped_and_cleaned_up(make):
    worker, s = make()
    if "nproc" not in worker.isolation["rlimits"]:
        pytest.skip("RLIMIT_NPROC needs a uid of the worker's own (root) or bubblewrap's "
                    "user namespace")
    tag = "storm" + uuid.uuid4().hex[:8]
    started, error = s.storm(500, tag)
    assert error == 11 and started < LIMITS.processes  # EAGAIN: the cap, not 500 sleepers
    deadline = time.monotonic() + 5  # the last children may still be naming themselves
    while len(_named(tag)) < started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_named(tag)) == started
    worker.stop()
    assert _gone(tag), f"{len(_named(tag))} storm children survived stop()"


def test_detached_sigterm_ignoring_child_is_gone_after_stop(make):
    worker, s = make()
    tag = "ghost" + uuid.uuid4().hex[:8]
    assert s.ghost(tag) is True
    deadline = time.monotonic() + 3
    while not _named(tag) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _named(tag), "the detached child did not start"
    uid = worker.sandbox.uid
    worker.stop()
    assert _gone(tag), "a setsid'd, double-forked child survived stop()"
    if uid is not None:
        assert not [p for p, state, _ in processes_of(uid) if state != "Z"]


def test_a_crash_cleans_up_too(make):
    worker, s = make()
    tag = "ghost" + uuid.uuid4().hex[:8]
    s.ghost(tag)
    with pytest.raises(WorkerCrashed):
        s.die()  # the trusted side stops the worker itself
    assert _gone(tag)


# --- the record -----------------------------------------------------------------------------------
def test_isolation_record(make, mode):
    worker, _ = make()
    record = worker.isolation
    json.dumps(record)  # goes to results.json as is
    assert record["sandbox"] == {"bwrap": "bubblewrap", "fallback": "fallback"}[mode]
    assert record["pid_namespace"] is record["network_namespace"] is (mode == "bwrap")
    if libseccomp_path():
        assert record["seccomp"].startswith("no inet sockets")
    if landlock_abi() >= 1:
        assert record["landlock"].startswith(f"ABI {landlock_abi()}")
    assert set("as,cpu,fsize,nofile".split(",")) <= set(record["rlimits"].split(","))
    if ROOT:
        assert record["user"] == f"uid {worker.sandbox.uid} (dedicated)"
        assert "nproc" in record["rlimits"]
    assert record["summary"].startswith(record["sandbox"])


def test_no_landlock_means_no_sandbox(tmp_path):
    (tmp_path / "solution.py").write_text("def f():\n    return 1\n")
    worker = Worker(tmp_path / "solution.py", tmp_path, limits=LIMITS, landlock=False)
    try:
        worker.start()
        assert Student(worker).f() == 1
        assert worker.isolation["sandbox"] == "none"
        assert "rlimits only" in worker.isolation["summary"]
    finally:
        worker.stop()


def test_environment_variable_picks_the_path(tmp_path, monkeypatch):
    (tmp_path / "solution.py").write_text("def f():\n    return 1\n")
    monkeypatch.setenv("GRADER_SANDBOX", "fallback")
    worker = Worker(tmp_path / "solution.py", tmp_path, limits=LIMITS)
    try:
        worker.start()
        assert worker.isolation["sandbox"] == "fallback"
    finally:
        worker.stop()
    monkeypatch.setenv("GRADER_SANDBOX", "jail")
    with pytest.raises(SandboxError, match="expected one of"):
        worker.start()


def test_requiring_bubblewrap_where_it_cannot_run_fails_clearly(tmp_path, monkeypatch):
    (tmp_path / "solution.py").write_text("def f():\n    return 1\n")
    monkeypatch.setattr(sandboxing.shutil, "which", lambda name: None)
    probe_bwrap.cache_clear()
    try:
        worker = Worker(tmp_path / "solution.py", tmp_path, limits=LIMITS, sandbox="bwrap")
        with pytest.raises(SandboxError, match="bubblewrap cannot run here: bwrap is not"):
            worker.start()
        assert worker.tmpdir is None and worker.proc is None
        auto = Worker(tmp_path / "solution.py", tmp_path, limits=LIMITS, sandbox="auto")
        try:
            auto.start()
            assert auto.isolation["sandbox"] == "fallback"  # auto falls back
        finally:
            auto.stop()
    finally:
        probe_bwrap.cache_clear()


def test_seccomp_filter_in_a_plain_child():
    if libseccomp_path() is None:
        pytest.skip("libseccomp.so.2 is not installed")
    code = ("import socket, sys; sys.path.insert(0, sys.argv[1]); "
            "from grader.sandboxed.lockdown import seccomp_restrict; seccomp_restrict()\n"
            "try:\n    socket.socket()\nexcept PermissionError:\n    print('refused')\n")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(GRADER_PARENT)],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr


def test_seccomp_refuses_fallocate_so_blocks_are_written(tmp_path):
    """Reserving blocks is refused (gigabytes would take less than one look of the disk
    watchdog); posix_fallocate still works, by writing them."""
    if libseccomp_path() is None:
        pytest.skip("libseccomp.so.2 is not installed")
    code = ("import ctypes, errno, os, sys; sys.path.insert(0, sys.argv[1]); "
            "from grader.sandboxed.lockdown import seccomp_restrict; seccomp_restrict()\n"
            "fd = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT)\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "rc = libc.fallocate(fd, 0, ctypes.c_int64(0), ctypes.c_int64(1 << 20))\n"
            "print(rc, errno.errorcode.get(ctypes.get_errno()))\n"
            "os.posix_fallocate(fd, 0, 1 << 20)\n"
            "print(os.fstat(fd).st_blocks * 512)\n")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(GRADER_PARENT),
                          str(tmp_path / "f")], capture_output=True, text=True, timeout=60)
    refused, written = out.stdout.split("\n")[:2]
    assert refused in ("-1 EOPNOTSUPP", "-1 ENOTSUP"), out.stderr  # one number on Linux
    assert int(written) >= 2**20


# --- grader doctor ------------------------------------------------------------------------------
def test_doctor_json(capsys):
    assert cli.main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"bubblewrap", "root", "landlock_abi", "seccomp", "rlimits",
                           "user_namespaces", "pid_namespace", "mode", "worker"}
    assert report["landlock_abi"] == landlock_abi()
    assert report["bubblewrap"]["works"] == probe_bwrap().works
    assert isinstance(report["worker"], dict) and report["worker"].get("sandbox")
    if probe_bwrap().works and not os.environ.get("GRADER_SANDBOX"):
        assert report["worker"]["sandbox"] == "bubblewrap"
    _assert_enforcement(report["memory"], report["disk"])


def _assert_enforcement(memory: str, disk: str) -> None:
    """The memory_mb and disk_mb rows say what a worker started here gets."""
    found = cgroup_root()
    if found is not None:
        assert memory.startswith(f"a memory cgroup ({found[0]}, under {found[1]})"), memory
    else:
        assert memory.startswith("a watchdog per worker") and "/dev/shm" in memory, memory
    assert disk.startswith(disk_enforcement()), disk
    assert "each file or folder at least 4 KiB" in disk and "fallocate is refused" in disk
    assert ("private tmpfs of 256 MB" in disk) == probe_bwrap().works, disk


def _row(text: str, name: str) -> str:
    rows = [line.strip()[len(name):].strip() for line in text.splitlines()
            if line.strip().startswith(name + " ")]
    assert len(rows) == 1, f"no single {name} row in:\n{text}"
    return rows[0]


def test_doctor_text(capsys):
    assert doctor.main([]) == 0
    text = capsys.readouterr().out
    for word in ("bubblewrap", "landlock", "seccomp", "rlimits", "user namespaces",
                 "pid namespace", "the worker gets"):
        assert word in text.lower()
    _assert_enforcement(_row(text, "memory_mb"), _row(text, "disk_mb"))


def test_doctor_names_the_watchdog_when_it_is_asked_for(capsys, monkeypatch):
    """GRADER_MEMORY_GUARD=watchdog: no cgroup, and the memory_mb row says so."""
    monkeypatch.setenv("GRADER_MEMORY_GUARD", "watchdog")
    report = doctor.checks()
    assert report["memory"].startswith("a watchdog per worker"), report["memory"]
    _assert_enforcement(report["memory"], report["disk"])
