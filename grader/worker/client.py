"""The trusted side of the worker: start it, talk to it, stop it, start it again.

Every call has a wall-clock deadline. A worker that overruns it, dies, or breaks the protocol
is killed with its whole process group (SIGKILL: a student's SIGTERM handler cannot keep it
alive), and with every process of its sandbox (its PID namespace, or its dedicated uid: see
:mod:`grader.worker.sandbox`), so that nothing it detached survives; the call raises, the test
that made it fails with that message, and the next test gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from grader.feedback import block, code, plain, shorten_paths
from grader.sandboxed import wire
from grader.sandboxed.limits import Limits, MiB
from grader.worker import replies
from grader.worker import sandbox as sandboxing
from grader.worker.errors import (  # raised here; importable from here as before
    Callable_,
    MissingAttribute,
    SubmissionError,
    WorkerCrashed,
    WorkerTimeout,
)
from grader.worker.memory import MemoryGuard
from grader.worker.remote import RemoteObject
from grader.worker.sandbox import Sandbox, SandboxError

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from grader.sandboxed.server import main; sys.path.pop(0); main(sys.argv[2:])"
)
_GRADER_DIR = Path(__file__).resolve().parents[1]
CHECKED_REPLIES = frozenset({"load", "output"})  # replies the grader's own code reads


class Worker:
    """One worker process for one submission; restartable."""

    def __init__(self, submission: Path, root: Path, *, mode: str = "definitions",
                 limits: Limits | None = None, landlock: bool = True,
                 sandbox: str | None = None, load: dict | None = None) -> None:
        self.submission = Path(submission).resolve()
        self.root = Path(root).resolve()
        self.mode = mode
        self.limits = limits or Limits()
        self.landlock = landlock  # False: no file-system isolation at all (debugging)
        self.sandbox_mode = sandbox  # auto | bwrap | fallback | none; None: $GRADER_SANDBOX
        # How to load: allowed call modules, import aliases, sections (a pack's [pack] keys)
        self.load_options = dict(load or {})
        self.sandbox: Sandbox | None = None
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.tmpdir: str | None = None
        self._log: IO[bytes] | None = None
        self.isolation: dict | str = "not started"  # the worker's record, for results.json
        self.load_report: dict | None = None
        self.dead_reason: str | None = None
        self.call_timeout = self.limits.call_timeout_s
        self.starts = 0
        # What already ran out of time, with the limit it had: a student's infinite loop
        # must cost one timeout, not one per test, or it would eat the overall budget
        # before the tests of the functions that work.
        self.timed_out: dict[str, float] = {}
        # (target, name) -> the grader's function answering the worker's calls of a stand-in:
        # ``function(args, kwargs, state) -> (result, new_state)`` (grader.checks.charged_once)
        self.stand_ins: dict[tuple[int | None, str], Any] = {}
        self.received = 0  # bytes read from the worker since the last reset (one test)
        self.guard: MemoryGuard | None = None  # memory_mb over all its processes
        self.exceeded: str | None = None  # why the guard stopped the worker

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.dead_reason is None

    def start(self) -> dict:
        """Start a fresh worker and load the submission; return the load report."""
        self.stop()
        self.dead_reason = None
        self.starts += 1
        mode = sandboxing.requested_mode(self.sandbox_mode, self.landlock)
        self.tmpdir = tempfile.mkdtemp(prefix="grader-worker-")
        _record_lease(None, self.tmpdir)  # at once: a kill while the sandbox is prepared
        folders = sorted({str(self.root), str(self.submission.parent)})
        try:
            self.sandbox = sandboxing.prepare(
                mode, tmpdir=self.tmpdir, grader_dir=str(_GRADER_DIR), folders=folders,
                files=[str(self.submission)])
        except (SandboxError, OSError):
            self.stop()
            raise
        _record_lease(self.sandbox.uid, self.tmpdir)
        parent, child = socket.socketpair()
        config = {
            "path": str(self.submission), "root": str(self.root), "tmpdir": self.tmpdir,
            "grader_dir": str(_GRADER_DIR), "landlock": self.sandbox.kind != "none",
            "sandbox": self.sandbox.config(), "limits": dataclasses.asdict(self.limits),
            "output_kb": self.limits.output_kb, "load": self.load_options,
        }
        argv = self.sandbox.command(
            [sys.executable, "-I", "-c", _BOOT, str(_GRADER_DIR.parent), str(child.fileno()),
             json.dumps(config)], tmpdir=self.tmpdir, grader_dir=str(_GRADER_DIR),
            folders=folders)
        accounts = sandboxing.accounts_of(self.tmpdir)
        if accounts is not None:  # bubblewrap's passwd for the uid: cleaned up likewise
            _record_lease(self.sandbox.uid, self.tmpdir, accounts)
        # The worker's real stdout/stderr (crash traces) go to an unnamed file of ours, read
        # back through our descriptor: a file in its own folder could be swapped for a FIFO or
        # a symlink to the reference before the grader reads it.
        self._log = log = tempfile.TemporaryFile(prefix="grader-worker-output-")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                argv, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, cwd=self.tmpdir, env=self._env(), start_new_session=True,
            )
        except BaseException:
            parent.close()
            self.stop()  # the uid lease and the temp folder go back
            raise
        finally:
            child.close()
        self.sock = parent
        self.exceeded = None
        self.guard = MemoryGuard(self.proc.pid, self.sandbox.uid, self.tmpdir,
                                 self.limits.memory_mb, self.limits.disk_mb, self._over_budget)
        self.guard.start()
        hello = self._receive(self.limits.load_timeout_s, "starting the worker")[0]
        self.guard.adopt()  # confined now, and no student code has run yet
        try:
            record = replies.check("hello", replies.clean(hello)).get("isolation", "unknown")
        except replies.InvalidReply as exc:
            self._die(f"the worker sent an invalid message while starting: {exc}")
        self.isolation = record if isinstance(record, dict) else {"summary": str(record)}
        report = self.request("load", mode=self.mode, timeout=self.limits.load_timeout_s,
                              doing="loading your file")
        self.load_report = report
        return report

    def _env(self) -> dict[str, str]:
        threads = "1"  # one BLAS thread: reproducible sums, and no surprise with RLIMIT_AS
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmpdir,
            # a name without asking the system: the worker's uid may have no passwd entry,
            # and libraries ask for it at import (getpass.getuser reads these first)
            "USER": "grader-worker", "LOGNAME": "grader-worker",
            "TMPDIR": self.tmpdir, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg", "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads, "TQDM_DISABLE": "1",
            # Keras code runs on Keras 3's PyTorch backend: TensorFlow is never installed.
            "KERAS_BACKEND": "torch",
            # JAX would take 75 % of a GPU's memory at import, in every worker
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        return env

    def _over_budget(self, reason: str) -> None:
        """The memory guard's call (from its thread): stop the worker at once; the call in
        progress then fails with ``reason``."""
        self.exceeded = reason
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.sandbox is not None:
            self.sandbox.kill_all()

    def stop(self) -> None:
        if self.guard is not None:
            self.guard.stop()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        worker_pid = self.proc.pid if self.proc is not None else None
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            if self.sandbox is not None:
                self.sandbox.kill_all()  # whatever detached: setsid, double fork, fork storm
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.proc = None
        if self.sandbox is not None:
            self.sandbox.release(worker_pid)
            self.sandbox = None
        if self.guard is not None:
            self.guard.stop()  # its cgroup can go once its processes are gone
            self.guard = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            sandboxing.forget_accounts(self.tmpdir)
            self.tmpdir = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def output_tail(self, limit: int = 2000) -> str:
        """The end of what the worker wrote to its real stdout/stderr (crash traces)."""
        if self._log is None:
            return ""
        try:
            fd = self._log.fileno()
            size = os.fstat(fd).st_size
            return os.pread(fd, limit, max(0, size - limit)).decode("utf-8", "replace")
        except OSError:
            return ""

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Give the calls in this block a different per-call deadline."""
        previous, self.call_timeout = self.call_timeout, seconds
        try:
            yield
        finally:
            self.call_timeout = previous

    # --- requests -----------------------------------------------------------------------
    def request(self, op: str, value: Any = None, *, timeout: float | None = None,
                doing: str = "", **fields: Any) -> Any:
        if self.dead_reason is not None:
            raise WorkerCrashed(f"Not run: {self.dead_reason}", kind="dead")
        if not self.alive:
            raise WorkerCrashed("The worker is not running.", kind="dead")
        limit = timeout or self.call_timeout
        if op == "reset":
            self.received = 0
        if doing and self.timed_out.get(doing, -1.0) >= limit:
            raise WorkerTimeout(
                f"Not run again: {doing} did not finish within {self.timed_out[doing]:g} s "
                "in an earlier test (an infinite loop, or far too much work?).", kind="timeout")
        tree, arrays = wire.encode(value, _handle_of)
        spilled: list[str] = []
        deadline = time.monotonic() + limit
        try:
            spilled = wire.send(self.sock, {"op": op, "value": tree, **fields}, arrays,
                                spill_to=self.tmpdir)
            header, arrays = self._receive(limit, doing or op)
            while "callback" in header:  # the student's code called a stand-in: answer it
                self._answer_callback(header, arrays, doing or op)
                header, arrays = self._receive(max(deadline - time.monotonic(), 0.001),
                                               doing or op, limit)
        except WorkerTimeout:
            if doing:
                self.timed_out[doing] = limit
            raise
        except OSError:
            self._die(f"the worker was gone before {doing or op}")
        except BaseException:
            # Interrupted mid-call (a test timeout, Ctrl-C): the worker's answer is still
            # pending, so this worker can no longer be trusted to stay in step.
            if self.dead_reason is None:
                self.stop()
                self.dead_reason = f"the worker was stopped while {doing or op}"
            raise
        finally:
            for path in spilled:  # mapped by the worker by now (or it is gone)
                with contextlib.suppress(OSError):
                    os.unlink(path)
        try:
            result = replies.clean(wire.decode(header.get("value"), arrays, self._wrap_handle))
            if not header.get("ok"):
                error = replies.check("error", replies.clean(header.get("error") or {}))
            elif op in CHECKED_REPLIES:
                replies.check(op, result)
        except (wire.WireError, replies.InvalidReply) as exc:
            self._die(f"the worker sent an invalid message while {doing or op} (it was "
                      f"stopped): {exc}")
        if not header.get("ok"):
            if op == "engine" and error.get("refused") is True:
                # The grader's own code refused the student's object: its message is the
                # feedback, not "your code raised".
                raise SubmissionError(str(error.get("message", "")), kind="refused",
                                      detail=error)
            if op == "get" and error.get("type") == "AttributeError":
                raise MissingAttribute(f"{error.get('message', '')}.", kind="missing",
                                       detail=error)
            raise SubmissionError(_format_error(error, doing), kind="raised", detail=error)
        if "callable" in header:
            return Callable_(replies.clean(str(header["callable"]))[:100])
        return result

    def _wrap_handle(self, handle: wire.Handle) -> Any:
        return RemoteObject(self, handle)

    def _answer_callback(self, header: dict, arrays: list, doing: str) -> None:
        """Run the grader's function standing in for ``header["callback"]`` on the data the
        worker sent, and send back its result and the attributes it keeps in step."""
        name = str(header.get("callback"))
        function = self.stand_ins.get((header.get("target"), name))
        try:
            payload = wire.decode(header.get("value"), arrays)  # data only: no handles
            if function is None:
                raise LookupError(f"`{name}` is not standing in now")
            if not isinstance(payload, dict) or any(isinstance(v, wire.Handle) for v in
                                                    _leaves(payload)):
                raise TypeError("the stand-in takes plain values and arrays only")
            (args, kwargs), state = payload.get("args", [[], {}]), payload.get("state") or {}
            result, new_state = function(list(args), dict(kwargs), dict(state))
            tree, out = wire.encode({"result": result, "state": new_state})
            reply: dict = {"op": "callback_reply", "ok": True, "value": tree}
        except wire.WireError as exc:
            self._die(f"the worker sent an invalid message while {doing}: {exc}")
        except Exception as exc:  # noqa: BLE001 - bad arguments from student code
            reply, out = {"op": "callback_reply", "ok": False,
                          "error": f"the grader's stand-in for `{name}` could not take these "
                                   f"arguments ({type(exc).__name__}: {str(exc)[:300]})"}, []
        try:
            wire.send(self.sock, reply, out)
        except OSError:
            self._die(f"the worker was gone while {doing}")

    def _receive(self, timeout: float, doing: str, limit: float | None = None
                 ) -> tuple[dict, list]:
        deadline = time.monotonic() + timeout
        timeout = limit or timeout
        assert self.sock is not None
        gone = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._die(f"{doing} did not finish within {timeout:g} s "
                          "(an infinite loop, or far too much work?)", timeout=True)
            ready, _, _ = select.select([self.sock], [], [], min(remaining, 1.0))
            if ready:
                break
            if self.proc is not None and self.proc.poll() is not None:
                gone = True  # a child it forked may hold the socket open: no EOF will come
                break
        budget = self.limits.test_reply_mb * MiB - self.received
        try:
            self.sock.settimeout(1.0 if gone else max(deadline - time.monotonic(), 1.0))
            header, arrays = wire.recv(self.sock, max_bytes=max(
                0, min(self.limits.reply_mb * MiB, budget)))
            self.received += wire.frame_bytes(header, arrays)
            return header, arrays
        except TimeoutError:
            if not gone:
                self._die(f"the worker stopped sending in the middle of a reply while {doing}",
                          timeout=True)
            self._died(doing)  # it exited; a child it left holds the socket open, silent
        except (EOFError, OSError):
            self._died(doing)
        except wire.WireError as exc:
            self._die(f"the worker broke the protocol while {doing} (it was stopped): {exc}")
        finally:
            if self.sock is not None:
                self.sock.settimeout(None)

    def _died(self, doing: str) -> None:
        code = self._exit_code()
        if code is not None and code > 128 and self.sandbox and \
                self.sandbox.kind == "bubblewrap":
            code = 128 - code  # bubblewrap exits 128 + N when the worker died of signal N
        self._die(f"the worker process died while {doing} ({_exit_text(code)})")

    def _exit_code(self) -> int | None:
        """The worker's exit status, waiting a little; None if it is still running."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def _die(self, reason: str, timeout: bool = False) -> None:
        over = self.exceeded or (self.guard.oom_killed() and
                                 f"it used more than its {self.limits.memory_mb:,} MB of memory "
                                 "(all its processes together)" if self.guard else None)
        if over:
            reason = f"{reason.split(' (')[0]}: the worker was stopped because {over}"
            timeout = False
        tail = self.output_tail()
        self.stop()
        self.dead_reason = reason
        detail = {"output_tail": tail} if tail else {}
        message = reason[0].upper() + reason[1:] + "."
        if "Fatal Python error" in tail:
            message += "\n\n" + block(replies.clean(tail[-1200:]))
        cls = WorkerTimeout if timeout else WorkerCrashed
        raise cls(message, kind="timeout" if timeout else "crash", detail=detail)


LEASES_ENV = "GRADER_LEASES"


def _record_lease(uid: int | None, tmpdir: str, accounts: Path | None = None) -> None:
    """Note this worker's uid and folders (its own, and the one of its account files) where
    the process that started the grading run can read them (``$GRADER_LEASES``): if this
    process is killed before ``stop()``, that one cleans up
    (:func:`grader.runner.reclaim_leases`)."""
    path = os.environ.get(LEASES_ENV)
    if path:
        record = {"uid": uid, "tmpdir": tmpdir, "accounts": str(accounts) if accounts else None}
        with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _handle_of(obj: Any) -> wire.Handle:
    """Remote objects go back to the worker as their handles; nothing else may."""
    handle = getattr(type(obj), "_grader_remote", False) and object.__getattribute__(obj, "_handle")
    if not isinstance(handle, wire.Handle):
        raise wire.Unencodable(f"a value of type {type(obj).__name__} cannot be sent")
    return handle


def _exit_text(code: int | None) -> str:
    if code is None:
        return "it did not exit"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}: os._exit() or a hard crash?"


def _format_error(error: dict, doing: str) -> str:
    """What the worker reported of an exception, as Markdown in which none of the student's
    text (the message, names, source lines) can be read as formatting."""
    kind = str(error.get("type", "Error"))[:100]
    message = shorten_paths(str(error.get("message", "")))
    during = f" while {doing}" if doing else ""
    if len(message) < 200 and "\n" not in message:
        lines = [f"Your code raised {code(f'{kind}: {message}')}{during}."]
    else:  # the message on its own lines, in a block nothing in it can close
        lines = [f"Your code raised {code(kind)}{during}:", block(message)]
    frames = error.get("frames") or []
    if frames:
        lines.append("")
        lines.append("Traceback (your code, most recent call last):")
        for where, func, line in frames:
            lines.append(f"- {plain(shorten_paths(str(where)), 200)}, in {code(func, 100)}: "
                         f"{code(line, 200)}")
    return "\n".join(lines)
