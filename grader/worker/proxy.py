"""Proxies that make remote calls read like local ones in grading tests.

``student.NN(hidden_dims=(8, 6))`` constructs the class in the worker and returns a
:class:`RemoteObject`; ``net.softmax(x)`` calls the method there and returns plain data;
``net.weights = w`` sets the attribute there. Nothing the worker returns is ever executed
on the trusted side: results are data, or handles to objects that stay in the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grader.feedback import code, plain
from grader.mismatch import framework_note, other_assignment_note
from grader.sandboxed import wire
from grader.worker.client import Worker
from grader.worker.errors import Callable_, MissingAttribute
from grader.worker.remote import RemoteCallable, RemoteObject


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
        ``grader.sandboxed.submission.sections``): its functions see that section's globals."""
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
