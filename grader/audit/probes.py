"""Equivalent mutants: a surviving mutant that gives the reference's own outputs on the
pack's probes.

A pack names a probe file in ``pack.toml`` (``[audit] probes = "probes.py"``, beside its
tests). Its functions ``probe_<what>(student)`` get the hand-in as tests do (a
:class:`~grader.worker.proxy.Student` over a worker with the pack's limits) and return plain
data: numbers, arrays, strings, and lists, tuples and dicts of them. A probe that raises
records the exception's type instead, so a mutant that fails the same way stays the same.

"Same outputs on the probes" is evidence, not proof: the report says which probes decided,
and a pack without probes calls no mutant equivalent unless its source is the reference's.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.packs import Pack
from grader.worker.client import SubmissionError, Worker
from grader.worker.proxy import Student
from grader.worker.remote import RemoteObject

Probe = Callable[[Student], Any]
RTOL, ATOL = 1e-6, 1e-9   # "the same" up to float round-off, not up to a tolerance of a test


class ProbeFileError(ValueError):
    """The pack's probe file is missing, does not import, or defines no probe."""


def load_probes(pack: Pack) -> dict[str, Probe]:
    """The pack's probes by name, in file order; empty where the pack names no probe file."""
    name = pack.audit_probes
    if not name:
        return {}
    path = pack.tests_dir / name
    if not path.is_file():
        raise ProbeFileError(f"{pack.tests_dir / 'pack.toml'}: [audit] probes = {name!r}: "
                             f"no such file {path}")
    spec = importlib.util.spec_from_file_location(f"audit_probes_{pack.name}", path)
    if spec is None or spec.loader is None:
        raise ProbeFileError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    probes = {key: value for key, value in vars(module).items()
              if key.startswith("probe_") and callable(value)}
    if not probes:
        raise ProbeFileError(f"{path}: defines no probe_<what>(student) function")
    return probes


def run_probes(path: Path, pack: Pack, probes: dict[str, Probe]) -> dict[str, Any]:
    """Each probe's output on the hand-in at ``path`` (graded from a private copy of its
    folder, as the runner does: the worker may read the folder it is given)."""
    if not probes:
        return {}
    with tempfile.TemporaryDirectory(prefix="grader-probes-") as tmp:
        folder = Path(tmp) / "hand-in"
        shutil.copytree(path.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
        worker = Worker(folder / path.name, folder, mode=pack.load_mode, limits=pack.limits,
                        load=pack.load_options)
        try:
            try:
                worker.start()
            except SubmissionError as exc:
                return {name: ("not loadable", exc.kind) for name in probes}
            student = Student(worker, pack.name, pack.frameworks)
            outputs = {}
            for name, probe in probes.items():
                if not worker.alive:
                    worker.start()
                else:
                    worker.request("reset", seed=0)
                try:
                    outputs[name] = _plain(probe(student))
                except SubmissionError as exc:
                    outputs[name] = ("raised", exc.kind)
                except Exception as exc:  # noqa: BLE001 - the probe's own failure is an output
                    outputs[name] = ("raised", type(exc).__name__)
            return outputs
        finally:
            worker.stop()


def first_difference(reference: dict[str, Any], mutant: dict[str, Any]) -> str | None:
    """Where the mutant's outputs first differ from the reference's ("probe_x: ..."), or
    None when every probe gave the same."""
    for name, expected in reference.items():
        why = _differs(expected, mutant.get(name), name)
        if why:
            return why
    return None


def _plain(value: Any) -> Any:
    """A probe's output as comparable data (a handle to a worker object is not)."""
    if isinstance(value, RemoteObject):
        raise TypeError("a probe must return data, not a handle to an object in the worker")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return value


def _differs(a: Any, b: Any, where: str) -> str | None:
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return f"{where}: different keys"
        return next((w for k in a if (w := _differs(a[k], b[k], f"{where}[{k!r}]"))), None)
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return f"{where}: {_short(a)} vs {_short(b)}"
        return next((w for i, (x, y) in enumerate(zip(a, b, strict=True))
                     if (w := _differs(x, y, f"{where}[{i}]"))), None)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (_numeric(a) and _numeric(b)):
            same = _safe_equal(a, b)
            return None if same else f"{where}: {_short(a)} vs {_short(b)}"
    if _numeric(a) and _numeric(b):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return f"{where}: shape {x.shape} vs {y.shape}"
        if x.dtype == bool or y.dtype == bool:
            return None if np.array_equal(x, y) else f"{where}: different booleans"
        if not np.allclose(x.astype(float), y.astype(float), rtol=RTOL, atol=ATOL,
                           equal_nan=True):
            gap = np.nanmax(np.abs(x.astype(float) - y.astype(float)), initial=0.0)
            return f"{where}: values differ by up to {gap:.3g}"
        return None
    return None if _safe_equal(a, b) else f"{where}: {_short(a)} vs {_short(b)}"


def _safe_equal(a: Any, b: Any) -> bool:
    """Equality that never raises (an array, or an object whose ``==`` misbehaves, is
    compared as well as it can be; what cannot be compared differs)."""
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _numeric(value: Any) -> bool:
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
