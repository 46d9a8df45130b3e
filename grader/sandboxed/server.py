"""The untrusted side: imports the submission and answers calls over the wire.

Started by :class:`grader.worker.client.Worker` as ``python -I -c ... FD CONFIG`` (inside
bubblewrap where the sandbox has it). Before any student code runs it lowers its rlimits,
switches to the uid the grader leased for it, loads a seccomp filter, captures output, and
(where the kernel allows) locks itself into a Landlock domain; it tells the grader what held in
its first message (``isolation``). Then it serves requests until the socket closes:

``load``  read, filter and execute the submission's top-level statements (by sections)
``section`` a handle to one section's namespace
``call``  call a module-level name or a method of a handle (``target``)
``get`` / ``set``  read or write an attribute; callables come back as ``{"callable": ...}``
``spy``   record the arguments of later calls of a method (train_loop inspection)
``stand_in`` replace functions of an object by calls back to the grader (the reference's
          helpers, so that a function is judged apart from its neighbours' bugs), or restore them
``engine`` apply a registered engine function (not student code) to student objects
``reset`` reseed the global RNGs and drop handles, so every test starts alike
``output`` what the student printed since the last ask
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import faulthandler
import importlib
import io
import json
import os
import random
import signal
import socket
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import numpy as np

import grader.sandboxed.submission.calls  # noqa: F401 - bound as an engine module before any hand-in
from grader.sandboxed import aliases, wire
from grader.sandboxed.accounts import know_own_user
from grader.sandboxed.errors import DescribeError
from grader.sandboxed.limits import (
    DEV_WRITABLE,
    Limits,
    apply_nproc,
    apply_rlimits,
    landlock_restrict,
    system_read_paths,
)
from grader.sandboxed.lockdown import drop_user, seccomp_restrict, set_parent_death_signal
from grader.sandboxed.probes import linear_form
from grader.sandboxed.submission import describe_skipped, prepare, read_source
from grader.sandboxed.submission.notebook_problems import (
    NotebookRules,
    derive_problems,
    parse_notebook_rules,
)
from grader.sandboxed.submission.sections import parse_rules, split_sections

MAX_SPY_RECORDS = 10_000

# Engine functions the trusted side may ask the worker to apply to student objects (never
# student code by name): they turn objects into data, e.g. an nn.Sequential into a layer list.
ENGINE_CALLS = {
    "describe_model": ("grader.sandboxed.models.describe", "describe_model"),
    "probe_model": ("grader.sandboxed.models.describe", "probe_model"),
    "model_framework": ("grader.sandboxed.models.describe", "model_framework"),
    "describe_signature": ("grader.sandboxed.submission.calls", "describe_signature"),
    "top_level_calls": ("grader.sandboxed.submission.calls", "top_level_calls"),
    "describe_stax": ("grader.sandboxed.models.stax_describe", "describe_stax"),
    "describe_jax_optimizer": ("grader.sandboxed.models.stax_describe", "describe_jax_optimizer"),
    "describe_keras": ("grader.sandboxed.models.keras_describe", "describe_keras"),
}


class BoundedWriter(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        s = str(s)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def take(self) -> tuple[str, int]:
        text, dropped = "".join(self.parts), self.dropped
        self.parts, self.kept, self.dropped = [], 0, 0
        return text, dropped


class MissingModule(types.ModuleType):
    """Stands in for a package the grading environment lacks, or that failed inside itself
    while importing (``broken``: the environment's fault); fails only when used."""

    def __init__(self, name: str, where: str, broken: str = "") -> None:
        super().__init__(name)
        object.__setattr__(self, "_grader_where", where)
        object.__setattr__(self, "_grader_broken", broken)

    def _why(self) -> str:
        broken = object.__getattribute__(self, "_grader_broken")
        if broken:
            return (f"`{self.__name__}` failed inside the library while importing, in the "
                    f"grading environment ({broken}): not a fault of your code")
        return f"`{self.__name__}` is not installed where grading runs"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        raise ModuleNotFoundError(
            f"{self._why()} (imported at {object.__getattribute__(self, '_grader_where')}); "
            f"your code used `{self.__name__}.{attr}`"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(self._why())


class Server:
    def __init__(self, sock: socket.socket, config: dict) -> None:
        self.sock = sock
        self.spill_from: str | None = config.get("tmpdir")  # large arrays arrive as files
        self.config = config
        self.handles: dict[int, Any] = {}
        self.handle_ids: dict[int, int] = {}
        self.spies: dict[tuple[int, str], list] = {}
        # (target, name) -> (whether the object had its own attribute, that attribute)
        self.stood_in: dict[tuple[Any, str], tuple[bool, Any]] = {}
        self.engine_functions: dict[str, Any] = {}  # bound before student code runs
        self.module = types.ModuleType("solution")
        self.sections: dict[str, types.ModuleType] = {}
        self.notebook_notes: list[str] = []  # what a course notebook's problems were read as
        self.source = None
        self.environment_errors: list[str] = []
        self.output = BoundedWriter(int(config.get("output_kb", 64)) * 1024)

    # --- wire helpers -------------------------------------------------------------------
    def register(self, obj: Any) -> wire.Handle | np.ndarray:
        if _is_jax_array(obj):  # results of JAX code travel as data, like numpy's
            return np.asarray(obj)
        key = id(obj)
        if key not in self.handle_ids:
            self.handle_ids[key] = len(self.handles) + 1
            self.handles[self.handle_ids[key]] = obj
        return wire.Handle(self.handle_ids[key], type(obj).__name__)

    def reply(self, header: dict, value: Any = None) -> None:
        try:
            tree, arrays = wire.encode(value, self.register)
        except (wire.Unencodable, RecursionError) as exc:
            header = {"ok": False, "error": {"type": "Unencodable", "message": str(exc)}}
            tree, arrays = None, []
        header["value"] = tree
        wire.send(self.sock, header, arrays)

    def target(self, target_id: Any) -> Any:
        if target_id is None:
            return self.module
        try:
            return self.handles[int(target_id)]
        except (KeyError, ValueError, TypeError):
            raise LookupError("that object no longer exists in the worker") from None

    # --- the loop -----------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                header, arrays = wire.recv(self.sock, spill_from=self.spill_from)
            except EOFError:
                return
            op = header.get("op")
            try:
                args = wire.decode(header.get("value"), arrays, self._handle_from_wire)
                result, extra = getattr(self, f"op_{op}")(header, args)
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                self.reply({"ok": False, "error": self.describe_error(exc)})
                continue
            self.reply({"ok": True, **extra}, result)

    def _handle_from_wire(self, handle: wire.Handle) -> Any:
        return self.target(handle.id)

    # --- operations ---------------------------------------------------------------------
    def op_load(self, header: dict, _args: Any) -> tuple[Any, dict]:
        path = self.config["path"]
        load = self.config.get("load") or {}
        aliases.install(load.get("import_aliases") or {})
        for name in load.get("preload") or ():  # engine modules only (checked in packs.py)
            importlib.import_module(name)
        self._bind_engine()
        self.source = read_source(Path(path))
        prepared = prepare(self.source, header.get("mode", "definitions"),
                           extra_modules=frozenset(load.get("call_modules") or ()))
        self._derive_notebook_problems(prepared, parse_notebook_rules(load.get("notebook")))
        self.module.__file__ = path
        sys.modules["solution"] = self.module
        # A folder submission may import its own helper modules (`from utils import ...`).
        for folder in {str(Path(path).parent), self.config["root"]}:
            sys.path.insert(0, folder)
        errors = []
        sections = split_sections(prepared.statements, self.source.text.splitlines(),
                                  prepared.module_aliases, parse_rules(load.get("sections")))
        found = {}
        for i, section in enumerate(sections):
            if i:  # a later section starts from a copy of what the previous one left
                previous, self.module = self.module, types.ModuleType("solution")
                vars(self.module).update(vars(previous))
                sys.modules["solution"] = self.module
            self.sections[section.name] = self.module
            for stmt in section.statements:
                error = self.run_statement(stmt)
                if error:
                    errors.append(error)
            found[section.name] = {
                "line": section.start_line, "found_by": section.found_by,
                "where": self.source.where(section.start_line) if section.start_line else "",
                "names": sorted(n for n in vars(self.module) if not n.startswith("__")),
            }
        names = sorted(n for n in vars(self.module) if not n.startswith("__"))
        report = {
            "display_name": self.source.display_name,
            "syntax_error": prepared.syntax_error,
            "empty": not self.source.text.strip(),
            "skipped_note": (describe_skipped(prepared, self.source)
                             if prepared.skipped or self.source.notes else ""),
            "errors": errors,
            "environment_errors": self.environment_errors,
            "names": names,
            "imports": prepared.imports[:100],
            "sections": found if len(sections) > 1 else {},
            "notebook_notes": self.notebook_notes[:20],
        }
        return report, {}

    def _derive_notebook_problems(self, prepared: Any, rules: NotebookRules | None) -> None:
        """A course notebook's problems become the template's builders (see
        ``grader.sandboxed.submission.notebook_problems``); the statements they came from are used,
        not skipped, and the student is told where each was found."""
        if rules is None or prepared.syntax_error:
            return
        derived = derive_problems(prepared.parsed, prepared.statements,
                                  self.source.text.splitlines(),
                                  self.source.markdown, prepared.module_aliases, rules,
                                  self.source.where)
        prepared.statements.extend(derived.statements)
        prepared.skipped = [s for s in prepared.skipped if s.lineno not in derived.used_lines]
        self.source.notes.extend(derived.notes)
        self.notebook_notes = derived.notes

    def op_section(self, header: dict, _args: Any) -> tuple[Any, dict]:
        """A handle to one section's namespace (see ``grader.sandboxed.submission.sections``)."""
        name = header["name"]
        if name not in self.sections:
            raise LookupError(f"the file has no section {name!r}")
        return self.register(self.sections[name]), {}

    def run_statement(self, stmt: Any) -> str | None:
        """Execute one kept top-level statement; an error is reported, not fatal."""
        code = compile(ast.Module(body=[stmt], type_ignores=[]), self.source.display_name, "exec")
        where = self.source.where(stmt.lineno)
        is_import = isinstance(stmt, (ast.Import, ast.ImportFrom))
        try:
            exec(code, vars(self.module))
        except ImportError as exc:
            if not is_import:
                return f"{where}: {type(exc).__name__}: {exc}"
            missing = getattr(exc, "name", None) or str(exc)
            for name, module in _bound_names(stmt):
                vars(self.module).setdefault(name, MissingModule(module or missing, where))
            return (f"{where}: `{missing}` could not be imported ({exc}); "
                    "only code that uses it fails")
        except Exception as exc:  # noqa: BLE001
            if is_import and self._in_library(exc):
                # raised inside an installed library while it imported: the environment's
                # fault (a uid without a passwd entry, a broken install), never the student's
                reason = f"{type(exc).__name__}: {_safe_str(exc)[:300]}"
                for name, module in _bound_names(stmt):
                    vars(self.module).setdefault(name, MissingModule(module, where, reason))
                self.environment_errors.append(f"{where}: importing failed inside the library "
                                               f"({reason})")
                return None
            return f"{where}: {type(exc).__name__}: {_safe_str(exc)} (this statement was skipped)"
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import included
            return f"{where}: {type(exc).__name__}: {_safe_str(exc)} (this statement was skipped)"
        return None

    def _in_library(self, exc: BaseException) -> bool:
        """Whether ``exc`` was raised in code that is not the hand-in's (its file or folder)."""
        frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(exc.__traceback__)]
        if not frames:
            return False
        last = frames[-1]
        name = self.source.display_name if self.source else None
        if last == name or last.startswith("<"):
            return False
        root = os.path.realpath(self.config["root"])
        return not os.path.realpath(last).startswith(root + os.sep)

    def op_call(self, header: dict, args: Any) -> tuple[Any, dict]:
        fn = getattr(self.target(header.get("target")), header["name"])
        pos, kw = args
        return fn(*pos, **kw), {}

    def op_engine(self, header: dict, args: Any) -> tuple[Any, dict]:
        name = header["name"]
        function = self.engine_functions.get(name)
        if function is None:  # not preloaded: imported now (student code may have run first)
            module, attr = ENGINE_CALLS[name]
            function = getattr(importlib.import_module(module), attr)
        pos, kw = args
        return function(*pos, **kw), {}

    def _bind_engine(self) -> None:
        """Take the engine functions of every module imported so far, before student code
        runs: replacing ``grader.sandboxed.models.describe.describe_model`` from the hand-in
        (to have strings described as models) then changes nothing the grader calls. A pack preloads
        the modules it uses (``[pack] preload``) so that they are bound here."""
        for name, (module, attr) in ENGINE_CALLS.items():
            if module in sys.modules:
                self.engine_functions[name] = getattr(sys.modules[module], attr)

    def op_get(self, header: dict, _args: Any) -> tuple[Any, dict]:
        obj, name = self.target(header.get("target")), header["name"]
        try:
            value = getattr(obj, name)
        except AttributeError as exc:
            raise AttributeError(_missing_attribute(obj, name, exc)) from None
        if header.get("as_handle"):  # to hand the object to an engine function
            return self.register(value), {}
        if callable(value):
            return None, {"callable": type(value).__name__}
        return value, {}

    def op_set(self, header: dict, args: Any) -> tuple[Any, dict]:
        setattr(self.target(header.get("target")), header["name"], args)
        return None, {}

    def op_has(self, header: dict, _args: Any) -> tuple[Any, dict]:
        obj = self.target(header.get("target"))
        return hasattr(obj, header["name"]), {}

    def op_spy(self, header: dict, _args: Any) -> tuple[Any, dict]:
        obj, name = self.target(header.get("target")), header["name"]
        original = getattr(obj, name)
        records: list = []
        self.spies[(header.get("target"), name)] = records

        def spied(*args: Any, **kwargs: Any) -> Any:
            if len(records) < MAX_SPY_RECORDS:
                records.append([_summary(a) for a in args] + [_summary(kwargs)])
            return original(*args, **kwargs)

        setattr(obj, name, spied)
        return None, {}

    def op_stand_in(self, header: dict, _args: Any) -> tuple[Any, dict]:
        """Make ``names`` of the target call back to the grader, which answers with its own
        function's result (and the new values of the ``sync`` attributes), or, with
        ``restore``, put the student's own functions back."""
        target_id = header.get("target")
        obj = self.target(target_id)
        names = [str(n) for n in header.get("names") or []]
        if header.get("restore"):
            for name in names:
                self._restore(obj, target_id, name)
            return None, {}
        sync = [str(a) for a in header.get("sync") or []]
        for name in names:
            key = (target_id, name)
            if key not in self.stood_in:
                own = getattr(obj, "__dict__", {})
                self.stood_in[key] = (name in own, own.get(name))
            if header.get("probe") == "linear":  # a known gradient, usable under jax.grad
                setattr(obj, name, linear_form(_args))
            else:
                setattr(obj, name, self._stand_in(obj, target_id, name, sync))
        _forget_traces()
        return None, {}

    def _restore(self, obj: Any, target_id: Any, name: str) -> None:
        had, value = self.stood_in.pop((target_id, name), (True, None))
        if had:
            setattr(obj, name, value)
        else:
            with contextlib.suppress(AttributeError):
                delattr(obj, name)
        _forget_traces()

    def _stand_in(self, obj: Any, target_id: Any, name: str, sync: list[str]) -> Any:
        server = self

        def stand_in(*args: Any, **kwargs: Any) -> Any:
            state = {attr: getattr(obj, attr) for attr in sync if hasattr(obj, attr)}
            try:  # data only: the grader's function never receives an object of ours
                tree, arrays = wire.encode({"args": [list(args), kwargs], "state": state})
            except (wire.Unencodable, RecursionError) as exc:
                raise TypeError(f"the grader's stand-in for `{name}` takes plain values and "
                                f"arrays only: {exc}") from None
            wire.send(server.sock, {"ok": True, "callback": name, "target": target_id,
                                    "value": tree}, arrays)
            header, arrays = wire.recv(server.sock, spill_from=server.spill_from)
            answer = wire.decode(header.get("value"), arrays)
            if not header.get("ok"):
                raise RuntimeError(str(header.get("error", "the grader's stand-in failed")))
            for attr, value in (answer.get("state") or {}).items():
                setattr(obj, attr, value)
            return answer.get("result")

        stand_in.__name__ = stand_in.__qualname__ = name
        stand_in.__doc__ = "The grader's own version, standing in while another function is judged."
        return stand_in

    def op_spied(self, header: dict, _args: Any) -> tuple[Any, dict]:
        return self.spies.get((header.get("target"), header["name"]), []), {}

    def op_reset(self, header: dict, _args: Any) -> tuple[Any, dict]:
        for target_id, name in list(self.stood_in):
            with contextlib.suppress(LookupError):
                self._restore(self.target(target_id), target_id, name)
        self.stood_in.clear()
        self.handles.clear()
        self.handle_ids.clear()
        self.spies.clear()
        seed = int(header.get("seed", 0))
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        _seed_libraries(seed)
        self.output.take()
        return None, {}

    def op_output(self, header: dict, _args: Any) -> tuple[Any, dict]:
        return self.output.take(), {}

    def op_ping(self, header: dict, _args: Any) -> tuple[Any, dict]:
        return "pong", {}

    # --- errors -------------------------------------------------------------------------
    def describe_error(self, exc: BaseException) -> dict:
        frames = []
        name = self.source.display_name if self.source else None
        lines = self.source.text.splitlines() if self.source else []
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if name and frame.f_code.co_filename == name:
                text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
                frames.append([self.source.where(lineno), frame.f_code.co_name, text[:200]])
        if isinstance(exc, SystemExit):
            message = f"the code called sys.exit({_safe_str(exc)})"
        else:
            message = _safe_str(exc)
        return {"type": type(exc).__name__, "message": message[:4000], "frames": frames[-8:],
                "refused": isinstance(exc, DescribeError)}


def _forget_traces() -> None:
    """A jitted function keeps what it traced, globals included: after a stand-in comes or
    goes, it must trace again to see the function now in place."""
    jax = sys.modules.get("jax")
    clear = getattr(jax, "clear_caches", None) if jax is not None else None
    if callable(clear):
        with contextlib.suppress(Exception):
            clear()


def _is_jax_array(obj: Any) -> bool:
    jax = sys.modules.get("jax")
    array = getattr(jax, "Array", None) if jax is not None else None
    return isinstance(array, type) and isinstance(obj, array)


def _missing_attribute(obj: Any, name: str, exc: AttributeError) -> str:
    """Python's "did you mean" is not part of str(exc): add it, it is what students need."""
    owner = "the module" if isinstance(obj, types.ModuleType) else f"`{type(obj).__name__}`"
    try:
        names = [n for n in dir(obj) if not n.startswith("__")]
    except Exception:  # noqa: BLE001 - a student __dir__ may raise
        names = []
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    text = f"{owner} has no attribute `{name}`"
    if close:
        text += " (did you mean " + " or ".join(f"`{c}`" for c in close) + "?)"
    return text if str(exc).startswith("'") or not str(exc) else f"{text}: {_safe_str(exc)}"


def _summary(value: Any) -> Any:
    """A data-only description of a spied argument (shapes, not contents)."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        summary = {"shape": [int(s) for s in value.shape], "dtype": str(value.dtype)}
        try:  # per-row sums identify which examples a minibatch holds
            if 1 <= value.ndim <= 2 and value.shape[0] <= 4096 and value.dtype.kind in "biuf":
                summary["row_sums"] = [round(float(r), 5) for r in
                                       value.reshape(value.shape[0], -1).sum(axis=1)]
        except Exception:  # noqa: BLE001 - an array-like that misbehaves just gets no sums
            pass
        return summary
    if isinstance(value, dict):
        return {str(k): _summary(v) for k, v in list(value.items())[:64]}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return type(value).__name__


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:4000]
    except BaseException:  # noqa: BLE001 - a student exception may break even str()
        return f"<{type(exc).__name__} whose message could not be shown>"


def _bound_names(stmt: Any) -> list[tuple[str, str]]:
    if isinstance(stmt, ast.Import):
        return [((a.asname or a.name.split(".")[0]), a.name if a.asname else a.name.split(".")[0])
                for a in stmt.names]
    return [((a.asname or a.name), f"{stmt.module}.{a.name}") for a in stmt.names if a.name != "*"]


def _confine(config: dict, limits: Limits) -> dict:
    """Apply every layer the sandbox asks for, in order; return the record of what held
    (JSON: it goes to results.json as ``extra_data.isolation``)."""
    box = config.get("sandbox") or {"kind": "fallback" if config.get("landlock", True) else "none"}
    record: dict = {"sandbox": box.get("kind", "none"),
                    "user": box.get("user_note") or _who(), "capabilities": "none",
                    "landlock": "off", "seccomp": "off"}
    rlimits = apply_rlimits(limits)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversize writes fail instead of killing us
    if box.get("uid") is not None:
        try:
            record["user"] = drop_user(int(box["uid"]), int(box["gid"]),
                                       bool(box.get("keep_read_search")))
        except OSError as exc:
            record["user"] = f"{_who()} (the switch to uid {box['uid']} failed: {exc})"
        set_parent_death_signal()  # a credential change cleared it
    with contextlib.suppress(OSError):
        os.chdir(config["tmpdir"])  # bubblewrap starts us in / (see sandbox.bwrap_args)
    if box.get("nproc") and os.geteuid() != 0:
        rlimits.append(apply_nproc(limits))
    record["rlimits"] = ",".join(rlimits)
    record.update(pid_namespace=bool(box.get("pid_namespace")),
                  network_namespace=bool(box.get("network_namespace")),
                  mount_namespace=bool(box.get("mount_namespace")))
    if record["sandbox"] == "none":
        record["summary"] = "rlimits only (file-system isolation turned off)"
        return record
    try:
        record["seccomp"] = seccomp_restrict(unix_connect=record["network_namespace"])
    except OSError as exc:
        record["seccomp"] = f"unavailable: {exc}"
    read = system_read_paths() + [config["grader_dir"], config["root"]]
    try:
        record["landlock"] = landlock_restrict(read, [config["tmpdir"], *DEV_WRITABLE])
    except OSError as exc:
        record["landlock"] = f"unavailable: {exc}"
    if box.get("keep_read_search") and record["user"].endswith("(dedicated)"):
        within = [w for w, on in (("the mount namespace", record["mount_namespace"]),
                                  ("landlock", record["landlock"].startswith("ABI"))) if on]
        record["capabilities"] = "dac_read_search (reads past file modes" + \
            (f", within {' and '.join(within)})" if within else ", anywhere)")
    record["summary"] = _one_line(record)
    return record


def _who() -> str:
    return "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"


def _one_line(record: dict) -> str:
    """One line for people: what of the sandbox held."""
    parts = [record["sandbox"], record["user"].split(" (")[0]]
    if not record["landlock"].startswith(("off", "unavailable")):
        parts.append("landlock " + record["landlock"].split(" (")[0])
    if not record["seccomp"].startswith(("off", "unavailable")):
        parts.append("seccomp")
    return ", ".join(parts + ["rlimits " + record["rlimits"]])


def _die_with_parent(pid_namespace: bool) -> None:
    """Ask the kernel to SIGKILL us when the grader goes away, whatever we are doing.

    Parent pid 1 means the grader is already gone, except in bubblewrap's PID namespace,
    where our parent is its init (which dies with the grader, taking us with it).
    """
    set_parent_death_signal()
    if os.getppid() == 1 and not pid_namespace:
        os._exit(1)


def main(argv: list[str]) -> None:
    fd, config = int(argv[0]), json.loads(argv[1])
    sock = socket.socket(fileno=fd)
    _die_with_parent(bool((config.get("sandbox") or {}).get("pid_namespace")))
    faulthandler.enable()  # a C-level crash leaves its trace in the captured stderr
    limits = Limits(**config.get("limits", {}))
    isolation = _confine(config, limits)
    know_own_user()  # before any hand-in or library asks who it runs as
    server = Server(sock, config)
    sys.stdout = sys.stderr = server.output
    sys.stdin = io.StringIO()
    wire.send(sock, {"ok": True, "isolation": isolation, "pid": os.getpid()}, [])
    server.serve()
    os._exit(0)


def _seed_libraries(seed: int) -> None:
    """Reseed the deep-learning libraries the hand-in imported, so that a model built in one
    test gets the same initial weights whatever ran before it. (The hand-in may have
    replaced these functions: that only affects its own process.)"""
    with contextlib.suppress(Exception):
        if "keras" in sys.modules:  # seeds Python, numpy and its backend (torch or JAX) too
            sys.modules["keras"].utils.set_random_seed(seed)
        elif "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
