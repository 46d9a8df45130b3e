"""Objects that live in the worker, as the trusted side holds them: a handle and the worker
to ask. Every attribute read, call or write is one request; nothing of the student's object
is ever in this process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from grader.sandboxed import wire
from grader.worker.errors import Callable_, SubmissionError

__all__ = ["RemoteCallable", "RemoteObject"]


class RemoteCallable:
    """A function, class or bound method that lives in the worker."""

    def __init__(self, worker: Any, target: int | None, name: str, owner: str) -> None:
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

    def __init__(self, worker: Any, handle: wire.Handle) -> None:
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
        :mod:`grader.checks.charged_once`); ``sync`` names the attributes sent along and
        written back (e.g. ``weights``)."""
        worker: Any = self._worker
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
        :mod:`grader.sandboxed.probes`)."""
        worker: Any = self._worker
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
