"""Hostile submissions: whatever a submission does, the grader must not be fooled.

Every attack in ``tests/engine/submissions/hostile/`` is graded on the engine's tiny pack
(``tests/engine/packroot``, pack ``mini``) through the real path: ``grader.runner.grade``
(a pytest subprocess and a worker), or ``grader gradescope`` where a results file is at
stake. For each one the test asserts:

(a) the results are valid (``grader.results.validate``) and list exactly the pack's tests;
(b) the score is the honest one: the attacked tests get 0, the honest part of the file keeps
    its points, and nothing scores more;
(c) nothing outside the results changed: the pack root, the grader package, a canary folder
    outside the submission and the results folder are hashed before and after; no file
    carrying the attack's marker appeared in /tmp, /dev, /dev/shm or site-packages; nothing
    reached a listener on this machine; and no process of the attack survives grading;
(d) grading finished within a time bound (hangs and fork storms must not stall it);

and that the hidden tests' and the reference's source never appear in what students read.

An attack that works is never hidden here: its test fails, and says how.
"""

from __future__ import annotations

import compileall
import contextlib
import hashlib
import json
import os
import select
import shutil
import signal
import site
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import grader
from grader.packs import load_pack
from grader.results import DEFERRED_PREFIX, validate
from grader.runner import GradeOptions, grade

HERE = Path(__file__).parent
PACKROOT = HERE / "packroot"
TESTS_DIR = PACKROOT / "tests" / "mini"
REFERENCE_PATH = PACKROOT / "reference" / "mini" / "solution.py"
ATTACKS = HERE / "submissions" / "hostile"
GRADER_DIR = Path(grader.__file__).resolve().parent
SITE_PACKAGES = sorted({Path(p) for p in site.getsitepackages()}
                       | {Path(sysconfig.get_paths()["purelib"])})
# Where a file dropped by an attack would outlive the worker (its marker is in the name).
DROP_ZONES = (Path("/tmp"), Path("/var/tmp"), Path("/dev"), Path("/dev/shm"),
              Path("/dev/mqueue"), *SITE_PACKAGES)
TIME_LIMIT_S = 60.0

DOUBLE, COUNTER, HIDDEN = "double(x) is 2x", "Counter counts", "double keeps the shape (hidden)"
SLOW, NOTES = "a slow test", "notes a test leaves are shown even when it passes"
TEST_NAMES = {DOUBLE, COUNTER, HIDDEN, SLOW, NOTES}

# Lines of the pack's tests and reference that no student may ever read in any feedback.
# (The attacks look for other, shorter strings, so that quoting an attack's own source in a
# traceback is never mistaken for a leak.)
SECRET_LINES = {
    TESTS_DIR / "test_mini.py": ("def test_double_hidden(student):",
                                 "assert c.step(by=2) == 6",
                                 "2 * np.ones((4, 1)), name="),
    REFERENCE_PATH: ("(not needed by the graded tests)", 'return "plotted"'),
}

HONEST = '''\
import numpy as np


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
'''


# --- the arena: one attack, its canaries, its listeners, and what it must not change --------
@dataclass
class Outcome:
    data: dict
    elapsed: float
    log: str = ""  # the grader command's own output (CLI runs)
    results_sha: str | None = None  # the results file as the grader left it (CLI runs)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot(root: Path) -> dict[str, tuple[str, bytes | None]]:
    """Every entry under ``root``: a digest of what it is, and its bytes to put it back."""
    found: dict[str, tuple[str, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        try:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[rel] = ("link:" + os.readlink(path), None)
            elif stat.S_ISREG(mode):
                data = path.read_bytes()
                found[rel] = (_sha(data), data)
            elif stat.S_ISDIR(mode):
                found[rel] = ("dir", None)
            else:
                found[rel] = (f"special:{stat.S_IFMT(mode)}", None)
        except OSError as exc:
            found[rel] = (f"unreadable:{exc.errno}", None)
    return found


def _processes_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (every worker of an attack, and every
    process it forks, carries the submission's path, which holds the marker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
    return found


class Listeners:
    """A TCP and a UDP port on 127.0.0.1, a named and an abstract UNIX socket, recording
    whatever reaches them."""

    def __init__(self, marker: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hl-", dir="/tmp"))  # short: sun_path
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = self.folder / "listener.sock"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(str(self.unix_path))
        self.unix.listen()
        # Open to every user, like the local services a machine often has (a syslog, D-Bus
        # or X11 socket): a worker with a uid of its own must not be able to use them either.
        self.folder.chmod(0o755)
        self.unix_path.chmod(0o777)
        self.abstract_name = f"hostile-listener-{marker}"
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen()
        self.received: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def values(self) -> dict[str, str]:
        return {"PORT": str(self.tcp.getsockname()[1]), "UDP_PORT": str(self.udp.getsockname()[1]),
                "UNIX_PATH": str(self.unix_path), "ABSTRACT": self.abstract_name}

    def _serve(self) -> None:
        servers = {self.tcp: "tcp", self.unix: "unix path", self.abstract: "abstract unix"}
        conns: dict[socket.socket, str] = {}
        while not self._stop.is_set():
            ready, _, _ = select.select([*servers, self.udp, *conns], [], [], 0.1)
            for sock in ready:
                with contextlib.suppress(OSError):
                    if sock in servers:
                        conn, _ = sock.accept()
                        conns[conn] = servers[sock]
                        self.received.append((servers[sock], b"<connection>"))
                    elif sock is self.udp:
                        self.received.append(("udp", self.udp.recv(65536)))
                    else:
                        data = sock.recv(65536)
                        if data:
                            self.received.append((conns[sock], data))
                        else:
                            del conns[sock]
                            sock.close()
        for conn in conns:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Arena:
    """One attack's world: a submission folder whose name holds a unique marker, a canary
    folder beside it, a results folder, and snapshots of what must not change."""

    def __init__(self, tmp_path: Path) -> None:
        self.marker = f"hostile{uuid.uuid4().hex[:12]}"
        self.canary = tmp_path / "canary"
        (self.canary / "nested").mkdir(parents=True)
        (self.canary / "secret.txt").write_text(f"canary {self.marker}\n")
        (self.canary / "nested" / "data.bin").write_bytes(os.urandom(64))
        self.results_dir = tmp_path / "results"
        self.results_dir.mkdir()
        self.submission_dir = tmp_path / f"sub-{self.marker}"
        self.submission_dir.mkdir()
        self.workdir = tmp_path / "cwd"
        self.workdir.mkdir()
        self.listeners: Listeners | None = None
        self.values = {
            "REFERENCE": str(REFERENCE_PATH), "TESTS": str(TESTS_DIR), "PACKROOT": str(PACKROOT),
            "CANARY": str(self.canary), "RESULTS_DIR": str(self.results_dir),
            "MARKER": self.marker,
        }
        self.packroot = PACKROOT  # the mini pack, as it is or with other limits (`limit`)
        self.strict = {"the pack root": (PACKROOT, _snapshot(PACKROOT)),
                       "the canary folder": (self.canary, _snapshot(self.canary))}
        self.grader_before = _snapshot(GRADER_DIR)
        self._tmp_path = tmp_path

    def limit(self, **values: int | float) -> None:
        """Grade with the mini pack under other ``[limits]`` (a copy of the pack root whose
        pack.toml says so; the original is still checked to be untouched); each value is
        also a placeholder (``disk_mb=64`` fills ``@@DISK_MB@@``)."""
        copy = self._tmp_path / "packroot"
        if not copy.exists():
            shutil.copytree(PACKROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
            compileall.compile_dir(copy, quiet=1)  # the bytecode pytest would write there
        config = copy / "tests" / "mini" / "pack.toml"
        lines = config.read_text().splitlines()
        start = lines.index("[limits]") + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        kept = [line for line in lines[start:end]
                if line.split("=")[0].strip() not in values and line.strip()]
        lines[start:end] = kept + [f"{key} = {value}" for key, value in values.items()] + [""]
        config.write_text("\n".join(lines) + "\n")
        self.packroot = copy
        self.strict["the pack root in use"] = (copy, _snapshot(copy))
        self.values.update({key.upper(): str(value) for key, value in values.items()})

    # --- building submissions ---------------------------------------------------------------
    def listen(self) -> Listeners:
        self.listeners = Listeners(self.marker)
        self.values.update(self.listeners.values())
        return self.listeners

    def render(self, attack: str, variant: str | None = None) -> str:
        text = (ATTACKS / attack).read_text()
        for key, value in {**self.values, "VARIANT": variant or ""}.items():
            text = text.replace(f"@@{key}@@", value)
        assert "@@" not in text, f"{attack}: a placeholder was left unfilled"
        return text

    def submit(self, attack: str, variant: str | None = None, name: str = "solution.py") -> Path:
        path = self.submission_dir / name
        path.write_text(self.render(attack, variant))
        return path

    # --- grading ----------------------------------------------------------------------------
    def grade(self, submission: Path, **options) -> Outcome:
        with pytest.MonkeyPatch.context() as mp:  # the pytest process reads it too
            mp.setenv("GRADER_PACKS_ROOT", str(self.packroot))
            started = time.monotonic()
            results = grade(submission, load_pack("mini"), GradeOptions(fast=True, **options))
            elapsed = time.monotonic() - started
        return Outcome(results.to_json(), elapsed)

    def gradescope(self, submission_dir: Path | None = None) -> Outcome:
        """What Gradescope runs, as a separate process (in its own session, so that nothing
        an attack does to its process group can reach this test run)."""
        return self._command(["gradescope", "--submission-dir",
                              str(submission_dir or self.submission_dir)])

    def grade_cli(self, submission: Path, env: dict[str, str] | None = None) -> Outcome:
        """``grader grade`` as a person runs it in a terminal: the score table and every
        test's feedback printed, and the results written (``--results``)."""
        return self._command(["grade", str(submission), "--fast"], env)

    def _command(self, verb: list[str], env: dict[str, str] | None = None) -> Outcome:
        """Run the grader command in its own session (nothing an attack does to its process
        group reaches this test run); it must exit 0 and leave a results file."""
        out = self.results_dir / "results.json"
        cmd = [sys.executable, "-m", "grader.cli", *verb, "--results", str(out),
               "--assignment", "mini"]
        env = {**os.environ, "GRADER_PACKS_ROOT": str(self.packroot), **(env or {})}
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, encoding="utf-8", errors="replace",
                                env=env, cwd=self.workdir, start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
        elapsed = time.monotonic() - started
        assert proc.returncode == 0, f"grader {verb[0]} exited {proc.returncode}:\n{log[-3000:]}"
        raw = out.read_bytes()
        return Outcome(json.loads(raw), elapsed, log, _sha(raw))

    # --- judging ----------------------------------------------------------------------------
    def check(self, outcome: Outcome, expected: tuple[int, int, int], *,
              settle_s: float = 0.0) -> None:
        """Assert (a) to (d) for ``outcome``; ``expected`` is the honest score of
        (double(x) is 2x, Counter counts, double keeps the shape (hidden))."""
        problems: list[str] = []
        data = outcome.data
        try:
            validate(data)
        except Exception as exc:  # noqa: BLE001 - reported with everything else
            problems.append(f"(a) invalid results: {exc}")
        # a test graded later says so in its name on Gradescope: the pack's name after that
        tests = [{**t, "name": str(t.get("name")).removeprefix(DEFERRED_PREFIX)}
                 for t in data.get("tests", [])]
        names = [t.get("name") for t in tests]
        if sorted(names) != sorted(TEST_NAMES):
            problems.append(f"(a) the results list {names}, not the pack's five tests")
        scores = {t.get("name"): t.get("score") for t in tests}
        honest = {DOUBLE: expected[0], COUNTER: expected[1], HIDDEN: expected[2], SLOW: 0,
                  NOTES: 0}
        if scores != honest or data.get("score") != sum(expected):
            outputs = {t.get("name"): str(t.get("output"))[:300] for t in tests}
            problems.append(f"(b) scores {scores} (total {data.get('score')}), honest {honest} "
                            f"(total {sum(expected)}); outputs: {outputs}")
        if outcome.elapsed > TIME_LIMIT_S:
            problems.append(f"(d) grading took {outcome.elapsed:.1f} s (limit {TIME_LIMIT_S:g} s)")
        visible = data.get("output", "") + "".join(
            f"\n{t.get('name')}\n{t.get('output')}" for t in tests)
        for source, lines in SECRET_LINES.items():
            problems += [f"the feedback quotes {source.name}: {line!r}"
                         for line in lines if line in visible]
        if settle_s:
            time.sleep(settle_s)
        problems += self._survivors()
        problems += self._files_changed(outcome)
        if self.listeners is not None:
            self.listeners.close()
            problems += [f"(c) the {kind} listener received {data[:120]!r}"
                         for kind, data in self.listeners.received]
        isolation = data.get("extra_data", {}).get("isolation", "?")
        assert not problems, f"isolation: {isolation}\n" + "\n".join(problems)

    def _survivors(self) -> list[str]:
        deadline = time.monotonic() + 3.0
        alive = _processes_with(self.marker)
        while alive and time.monotonic() < deadline:  # a killed process takes a moment to go
            time.sleep(0.2)
            alive = _processes_with(self.marker)
        for pid in alive:  # this attack's own processes, found by its marker
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return [f"(c) {len(alive)} process(es) of the attack outlived grading: pids {alive[:10]}"
                ] if alive else []

    def _files_changed(self, outcome: Outcome) -> list[str]:
        problems = []
        for what, (root, before) in self.strict.items():
            problems += [f"(c) {what}: {change}"
                         for change in _compare(root, before, self.marker, strict=True)]
        problems += [f"(c) the grader package: {change}"
                     for change in _compare(GRADER_DIR, self.grader_before, self.marker,
                                            strict=False)]
        left = sorted(p.name for p in self.results_dir.iterdir())
        wanted = ["results.json"] if outcome.results_sha else []
        if left != wanted:
            problems.append(f"(c) the results folder holds {left}, not {wanted}")
        if outcome.results_sha:
            path = self.results_dir / "results.json"
            now = _sha(path.read_bytes()) if path.is_file() else "missing"
            if now != outcome.results_sha:
                problems.append("(c) results.json changed after the grader wrote it")
        for zone in DROP_ZONES:
            with contextlib.suppress(OSError):
                for entry in os.listdir(zone):
                    if self.marker in entry:
                        problems.append(f"(c) {zone / entry} was left behind")
                        _remove(zone / entry)
        return problems


def _compare(root: Path, before: dict, marker: str, *, strict: bool) -> list[str]:
    """What changed under ``root`` since ``before``; puts back what an attack changed.

    The grader package is compared leniently (``strict=False``): others may edit its sources
    while this suite runs, and the trusted side may write bytecode there, so a changed or new
    ``.py``/``.pyc`` counts only when it carries the attack's marker.
    """
    after = _snapshot(root)
    changes = []
    for rel in sorted(before.keys() - after.keys()):
        changes.append(f"{rel} was removed")
        _restore(root / rel, before[rel])
    for rel in sorted(after.keys() - before.keys()):
        path, data = root / rel, after[rel][1]
        marked = marker in rel or (data is not None and marker.encode() in data)
        if strict or marked or path.suffix not in (".py", ".pyc", ""):
            changes.append(f"{rel} appeared")
            if marked:
                _remove(path)
    for rel in sorted(before.keys() & after.keys()):
        if before[rel][0] == after[rel][0]:
            continue
        data = after[rel][1]
        marked = data is not None and marker.encode() in data
        if strict or marked or (root / rel).suffix not in (".py", ".pyc"):
            changes.append(f"{rel} changed")
            if strict or marked:
                _restore(root / rel, before[rel])
    return changes


def _restore(path: Path, entry: tuple[str, bytes | None]) -> None:
    with contextlib.suppress(OSError):
        if entry[1] is not None:
            if path.is_symlink() or not path.is_file():
                _remove(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry[1])
        elif entry[0] == "dir":
            path.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _zip(path: Path, files: dict[str, str], links: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # unix, so that the mode below is read
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


@pytest.fixture(scope="module", autouse=True)
def mini_pack():
    """Point the grader at the tiny pack, and grade the reference once through both paths:
    the trusted side's own bytecode is then in place before anything is snapshotted."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_PACKS_ROOT", str(PACKROOT))
        mp.delenv("GRADER_ASSIGNMENT", raising=False)
        with tempfile.TemporaryDirectory(prefix="hostile-warmup-") as tmp:
            folder = Path(tmp) / "submission"
            folder.mkdir()
            (folder / "solution.py").write_text(HONEST)
            grade(folder / "solution.py", load_pack("mini"), GradeOptions(fast=True))
            subprocess.run([sys.executable, "-m", "grader.cli", "gradescope", "--submission-dir",
                            str(folder), "--results", str(Path(tmp) / "r.json"),
                            "--assignment", "mini"], capture_output=True, timeout=180,
                           cwd=tmp, check=False)
        yield


@pytest.fixture
def arena(tmp_path):
    current = Arena(tmp_path)
    yield current
    if current.listeners is not None:
        current.listeners.close()
    for pid in _processes_with(current.marker):  # never leave an attack running
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# --- the harness itself ---------------------------------------------------------------------
def test_the_secret_lines_are_the_packs_own():
    for source, lines in SECRET_LINES.items():
        text = source.read_text()
        assert all(line in text for line in lines), source


def test_an_honest_submission_gets_full_marks_through_both_paths(arena):
    path = arena.submission_dir / "solution.py"
    path.write_text(HONEST)
    arena.check(arena.grade(path), (1, 1, 1))
    arena.check(arena.gradescope(), (1, 1, 1))


# --- attacks graded through grader.runner.grade ----------------------------------------------
# id, attack file, variant, load mode, honest score of (double, Counter, hidden double)
RUNNER_ATTACKS = [
    # reading the reference and the hidden tests
    ("read_reference_by_path", "read_reference.py", None, None, (0, 1, 0)),
    ("reference_via_grader_location", "grader_location.py", None, None, (0, 1, 0)),
    ("reference_via_sys_path_and_importlib", "sys_path_import.py", None, None, (0, 1, 0)),
    ("proc_of_the_parent", "proc_parent.py", None, None, (0, 1, 0)),
    ("raw_block_device_read", "raw_devices.py", "block_device", None, (0, 1, 0)),
    ("open_by_handle_at", "raw_devices.py", "open_by_handle", None, (0, 1, 0)),
    # changing what the grader compares with
    ("monkeypatch_numpy", "monkeypatch_numpy.py", None, None, (0, 1, 0)),
    ("monkeypatch_builtins", "monkeypatch_builtins.py", None, None, (0, 1, 0)),
    ("monkeypatch_grader_checks", "monkeypatch_grader.py", None, None, (0, 1, 0)),
    *[(f"lying_object_{v}", "lying_objects.py", v, None, (0, 0, 0)) for v in (
        "eq_true", "array_second_call", "float_subclass", "int_subclass", "ndarray_subclass",
        "lying_dtype", "float64_subclass", "wire_tags")],
    # hangs
    ("loop_in_class_body", "hangs.py", "loop_in_class_body", None, (0, 0, 0)),
    ("loop_at_import_load_mode_all", "hangs.py", "loop_at_top_level", "all", (0, 0, 0)),
    ("loop_at_import_definitions_mode", "hangs.py", "loop_at_top_level", "definitions",
     (1, 1, 1)),
    ("loop_in_method", "hangs.py", "loop_in_method", None, (1, 0, 1)),
    ("sigterm_ignored_loop_in_method", "hangs.py", "sigterm_ignored_in_method", None, (1, 0, 1)),
    ("sigterm_ignored_loop_at_import", "hangs.py", "sigterm_ignored_at_import", None, (0, 0, 0)),
    # exits and crashes
    ("os_exit_at_import", "exits.py", "os_exit_at_import", None, (0, 0, 0)),
    ("sys_exit_at_import", "exits.py", "sys_exit_at_import", None, (1, 1, 1)),
    ("os_exit_in_method", "exits.py", "os_exit_in_method", None, (1, 0, 1)),
    ("sys_exit_in_method", "exits.py", "sys_exit_in_method", None, (1, 0, 1)),
    ("deep_recursion_c_stack_overflow", "crashes.py", "deep_recursion_in_method", None,
     (0, 1, 0)),
    ("ctypes_null_read_in_method", "crashes.py", "null_read_in_method", None, (0, 1, 0)),
    ("ctypes_null_read_at_import", "crashes.py", "null_read_at_import", None, (0, 0, 0)),
    # resources
    ("allocate_50gb_bytearray", "memory.py", "bytearray_50gb", None, (0, 1, 0)),
    ("allocate_50gb_numpy", "memory.py", "numpy_50gb", None, (0, 1, 0)),
    ("allocate_until_refused", "memory.py", "grow", None, (0, 1, 0)),
    ("print_100mb", "output_flood.py", None, None, (0, 1, 0)),
    ("fork_storm_2000_in_group", "fork_storm.py", "in_group", None, (1, 0, 1)),
    ("fork_storm_100_detached", "fork_storm.py", "detached", None, (1, 0, 1)),
    # writing where the trusted side (or the next submission) would pick it up
    ("write_grader_install", "write_install.py", "grader", None, (0, 1, 0)),
    ("write_pack_tests_and_reference", "write_install.py", "pack", None, (0, 1, 0)),
    ("write_dev_shm_and_tmp", "dev_writes.py", None, None, (1, 1, 1)),
    ("definitions_mode_side_effects", "definitions_side_effects.py", None, None, (1, 1, 1)),
    # the worker's own output log, read back by the grader after a crash
    ("output_log_symlink_to_reference", "output_log.py", "symlink_to_reference", None,
     (0, 1, 0)),
    ("output_log_fifo", "output_log.py", "fifo", None, (0, 1, 0)),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("attack, variant, load_mode, expected",
                         [pytest.param(*a[1:], id=a[0]) for a in RUNNER_ATTACKS])
def test_attack(arena, attack, variant, load_mode, expected):
    path = arena.submit(attack, variant)
    outcome = arena.grade(path, load_mode=load_mode)
    if attack == "output_flood.py":  # 100 MB printed: what reaches the results stays small
        assert len(json.dumps(outcome.data)) < 100_000
    arena.check(outcome, expected)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("variant", ["tcp", "udp", "unix_path", "unix_abstract"])
def test_network_exfiltration(arena, variant):
    """The worker tries to send the reference (or else its hidden-test input) to a listener
    started here; nothing may arrive."""
    arena.listen()
    arena.check(arena.grade(arena.submit("network.py", variant)), (0, 1, 0))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("load_mode", ["definitions", "all"])
def test_notebook_with_a_malicious_cell(arena, load_mode):
    """A notebook whose correct definitions sit next to a cell (and a class body) that reads
    the reference and writes into the canary folder."""
    path = arena.submit("notebook_malicious_cell.ipynb", name="solution.ipynb")
    arena.check(arena.grade(path, load_mode=load_mode), (1, 1, 1))


LINKS = {"ref.py": str(REFERENCE_PATH), "tests_link": str(TESTS_DIR), "passwd": "/etc/passwd",
         "reference_dir": str(REFERENCE_PATH.parent)}


@pytest.mark.timeout(300)
def test_zip_with_symlinks_next_to_the_solution(arena):
    archive = _zip(arena.submission_dir / "hand-in.zip",
                   {"solution.py": arena.render("symlink_neighbours.py")}, LINKS)
    outcome = arena.grade(archive)
    assert "symlink" in outcome.data["output"]  # the skipped entries are reported
    arena.check(outcome, (0, 1, 0))


@pytest.mark.timeout(300)
def test_zip_whose_solution_is_a_symlink_to_the_reference(arena):
    archive = _zip(arena.submission_dir / "hand-in.zip", {},
                   {"solution.py": str(REFERENCE_PATH)})
    arena.check(arena.grade(archive), (0, 0, 0))


@pytest.mark.timeout(300)
def test_folder_with_symlinks_next_to_the_solution(arena):
    arena.submit("symlink_neighbours.py")
    for name, target in LINKS.items():
        (arena.submission_dir / name).symlink_to(target)
    arena.check(arena.grade(arena.submission_dir), (0, 1, 0))


@pytest.mark.timeout(300)
def test_gradescope_folder_whose_solution_is_a_symlink_to_the_reference(arena):
    (arena.submission_dir / "solution.py").symlink_to(REFERENCE_PATH)
    arena.check(arena.gradescope(), (0, 0, 0))


# --- attacks on the results file, graded through `grader gradescope` -------------------------
@pytest.mark.timeout(300)
@pytest.mark.parametrize("attack", ["forge_results.py", "forge_atexit.py", "fake_stdout.py"])
def test_gradescope_results_cannot_be_forged(arena, attack):
    """Writing results.json (found on the grader's command line) or the grader's state file,
    from the worker, from exit hooks, or by printing a fake one: every function is wrong, so
    the honest score is 0."""
    arena.submit(attack)
    outcome = arena.gradescope()
    assert arena.marker not in outcome.log  # nothing printed reaches the grader's own output
    arena.check(outcome, (0, 0, 0), settle_s=2.0)


@pytest.mark.timeout(300)
def test_gradescope_detached_child_cannot_write_later_or_survive(arena):
    """A double-forked, setsid grandchild sleeps 2 s, then tries to forge the results for
    40 s. Checked 5 s after grading: nothing was written, and no process of it is left."""
    arena.submit("detached_child.py")
    arena.check(arena.gradescope(), (0, 0, 0), settle_s=5.0)


@pytest.mark.timeout(300)
def test_gradescope_signalling_the_parent(arena):
    """SIGKILL to the worker's parent (pytest), its process group and the grader command: the
    correct functions keep every point and results.json is written."""
    arena.submit("signal_parent.py")
    arena.check(arena.gradescope(), (1, 1, 1))
