"""Proxies that make remote calls read like local ones in grading tests.

``student.NN(hidden_dims=(8, 6))`` constructs the class in the worker and returns a
:class:`RemoteObject`; ``net.softmax(x)`` calls the method there and returns plain data;
``net.weights = w`` sets the attribute there. Nothing the worker returns is ever executed
on the trusted side: results are data, or handles to objects that stay in the worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from grader.feedback import code, plain
from grader.mismatch import framework_note, other_assignment_note
from grader.worker import wire
from grader.worker.client import Callable_, MissingAttribute, SubmissionError, Worker


class RemoteCallable:
    """A function, class or bound method that lives in the worker."""

    def __init__(self, worker: Worker, target: int | None, name: str, owner: str) -> None:
        self._worker, self._target, self._name, self._owner = worker, target, name, owner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._worker.request(
            "call", [list(args), kwargs], target=self._target, name=self._name,
            doing=f"running `{self._owner}{self._name}`",
        )

    def __repr__(self) -> str:
        return f"<remote {self._owner}{self._name}>"


class RemoteObject:
    """An object (say an ``NN`` instance) that lives in the worker."""

    _grader_remote = True

    def __init__(self, worker: Worker, handle: wire.Handle) -> None:
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        handle: wire.Handle = self._handle
        value = self._worker.request("get", target=handle.id, name=name,
                                     doing=f"reading `{handle.type_name}.{name}`")
        if isinstance(value, Callable_):
            return RemoteCallable(self._worker, handle.id, name, f"{handle.type_name}.")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        handle: wire.Handle = self._handle
        self._worker.request("set", value, target=handle.id, name=name,
                             doing=f"setting `{handle.type_name}.{name}`")

    def handle(self, name: str) -> Any:
        """Attribute ``name`` as a handle (even a function), to pass to ``Student.engine``."""
        handle: wire.Handle = self._handle
        return self._worker.request("get", target=handle.id, name=name, as_handle=True,
                                    doing=f"reading `{name}`")

    def has(self, name: str) -> bool:
        """Whether the remote object has attribute ``name`` (without raising)."""
        return bool(self._worker.request("has", target=self._handle.id, name=name))

    @contextlib.contextmanager
    def standing_in(self, functions: Mapping[str, Callable], sync: Sequence[str] = ()
                    ) -> Iterator[None]:
        """Within the block, calls of ``functions``' names on this object run the grader's
        functions instead (``f(args, kwargs, state) -> (result, new_state)``, see
        :mod:`grader.standins`); ``sync`` names the attributes sent along and written back
        (e.g. ``weights``)."""
        worker: Worker = self._worker
        target = self._handle.id
        names = list(functions)
        for name, function in functions.items():
            worker.stand_ins[(target, name)] = function
        try:
            worker.request("stand_in", target=target, names=names, sync=list(sync),
                           doing=f"setting up {', '.join(f'`{n}`' for n in names)}")
            yield
        finally:
            for name in names:
                worker.stand_ins.pop((target, name), None)
            if worker.alive:
                with contextlib.suppress(SubmissionError):
                    worker.request("stand_in", target=target, names=names, restore=True,
                                   doing="putting your own functions back")

    @contextlib.contextmanager
    def standing_in_linear(self, name: str, coefficients: Any) -> Iterator[None]:
        """Within the block, ``name`` on this object (a function the judged one
        differentiates, e.g. a section's ``loss``) is a linear form of its first argument with
        the given coefficients, whose gradient is exactly them (see
        :mod:`grader.worker.probes`)."""
        worker: Worker = self._worker
        target = self._handle.id
        worker.request("stand_in", coefficients, target=target, names=[name], probe="linear",
                       doing=f"setting up `{name}`")
        try:
            yield
        finally:
            if worker.alive:
                with contextlib.suppress(SubmissionError):
                    worker.request("stand_in", target=target, names=[name], restore=True,
                                   doing="putting your own functions back")

    def spy(self, method: str) -> None:
        """Record the argument shapes of every later call of ``method``."""
        self._worker.request("spy", target=self._handle.id, name=method)

    def spied(self, method: str) -> list:
        return self._worker.request("spied", target=self._handle.id, name=method)

    def __reduce__(self) -> Any:
        raise TypeError("remote objects cannot be pickled")

    def __repr__(self) -> str:
        return repr(self._handle)


class SectionNamespace(RemoteObject):
    """One section of the hand-in (``Student.section``): a name it lacks is told as the
    module's own would be (a file for another library or assignment is named as such)."""

    def __init__(self, remote: RemoteObject, missing: Callable[[str], str]) -> None:
        super().__init__(remote._worker, remote._handle)
        object.__setattr__(self, "_missing", missing)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except MissingAttribute:
            raise MissingAttribute(self._missing(name), kind="missing") from None


class Student:
    """The submission's module namespace, as seen from a grading test."""

    def __init__(self, worker: Worker, pack: str = "", frameworks: Sequence[str] = ()) -> None:
        self._worker = worker
        self._pack = pack  # what the hand-in should be: named when it is something else
        self._frameworks = tuple(frameworks)

    @property
    def worker(self) -> Worker:
        return self._worker

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        report = self._worker.load_report or {}
        if name not in report.get("names", ()):
            raise MissingAttribute(_missing_name_message(name, report, self._pack,
                                                         self._frameworks), kind="missing")
        value = self._worker.request("get", target=None, name=name, doing=f"reading `{name}`")
        if isinstance(value, Callable_):
            return RemoteCallable(self._worker, None, name, "")
        return value

    def handle(self, name: str) -> Any:
        """Module-level ``name`` as a handle (even a class or function), to pass to
        ``Student.engine``."""
        return self._worker.request("get", target=None, name=name, as_handle=True,
                                    doing=f"reading `{name}`")

    def namespace(self) -> RemoteObject:
        """The module itself as a remote object (e.g. to put stand-ins in its globals)."""
        return RemoteObject(self._worker, wire.Handle(None, "module"))  # type: ignore[arg-type]

    def section(self, name: str) -> RemoteObject:
        """One section's namespace (a pack that cuts the file in sections, see
        ``grader.submission.sections``): its functions see that section's globals."""
        handle = self._worker.request("section", name=name, doing=f"opening section {name}")
        if not isinstance(handle, RemoteObject):
            raise TypeError(f"section {name!r} came back as {type(handle).__name__}")
        report = dict(self._worker.load_report or {})
        report["names"] = list((self.sections().get(name) or {}).get("names") or [])
        return SectionNamespace(handle, lambda missing: _missing_name_message(
            missing, report, self._pack, self._frameworks))

    def sections(self) -> dict:
        """Where each section starts and the names it defines (from the load report)."""
        return dict((self._worker.load_report or {}).get("sections") or {})

    def engine(self, name: str, *args: Any, doing: str = "", **kwargs: Any) -> Any:
        """Apply a registered engine function in the worker (e.g. ``describe_model``)."""
        return self._worker.request("engine", [list(args), kwargs], name=name,
                                    doing=doing or f"applying `{name}`")

    def output(self) -> tuple[str, int]:
        """What the student printed since the last ask, and how many characters were cut."""
        return tuple(self._worker.request("output"))


def _missing_name_message(name: str, report: dict, pack: str = "",
                          frameworks: Sequence[str] = ()) -> str:
    """The load report comes from the worker: every piece of it is shown as plain text (the
    notes on another library or assignment quote only names that are identifiers)."""
    file = code(report.get("display_name", "your file"), 120)
    if report.get("syntax_error"):
        return f"{file} could not be loaded: {code(report['syntax_error'], 500)}"
    defined = [n for n in report.get("names", []) if not n.startswith("_")]
    imports = [m for m in report.get("imports", []) if str(m).isidentifier()]
    notes = [framework_note(imports, frameworks),
             other_assignment_note([n for n in defined if n.isidentifier()], pack) if pack
             else ""]
    text = "".join(f"{note}\n\n" for note in notes if note)
    # a course notebook read for its problems: what was (not) found for this one
    text += "".join(f"{plain(note, 600)}\n\n" for note in report.get("notebook_notes") or []
                    if isinstance(note, str) and name in note)
    text += f"{file} defines no {code(name, 100)}."
    if defined:
        text += " It defines: " + ", ".join(code(n, 60) for n in defined[:20]) + "."
    errors = report.get("errors") or []
    if errors:
        text += "\n\nWhile loading it:\n" + "\n".join(f"- {code(e, 400)}" for e in errors[:5])
    return text
