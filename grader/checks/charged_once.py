"""Each bug charged once, on its own function: judge a function with the reference's helpers.

A student's ``forward`` calls their ``activation``; when ``activation('sigmoid')`` dispatches to
relu, ``forward`` and ``backward`` would look wrong too, and the one bug would cost three times.
:func:`judge_apart` judges a function with the reference's versions of the functions it calls
standing in for the student's own (inside the worker, on the student's own object, for that one
call: see :meth:`grader.worker.proxy.RemoteObject.standing_in`), then runs it once more with the
student's own helpers to say, in the feedback, which helper the remaining difference comes from.

The grader's versions come from a *twin*: a reference object built on the trusted side with the
same settings as the student's. :func:`twin_functions` turns its methods into stand-ins that
receive the student object's ``sync`` attributes (its ``weights``) and write them back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from grader.feedback import GradingFailure
from grader.worker.client import SubmissionError

__all__ = ["StandIn", "judge_apart", "plain_functions", "twin_functions"]

T = TypeVar("T")
# The worker's message when a stand-in could not take what the student's code passed it
STAND_IN_FAILED = "the grader's stand-in for"
# f(args, kwargs, state) -> (result, new state): what the worker's stand-in calls back
StandIn = Callable[[list, dict, dict], tuple[Any, dict]]


def twin_functions(twin: Any, names: Sequence[str], sync: Sequence[str] = ()
                   ) -> dict[str, StandIn]:
    """Stand-ins that call ``twin``'s methods, after giving it the student object's ``sync``
    attributes, and send those attributes back afterwards (an update changes ``weights``)."""

    def stand_in(name: str) -> StandIn:
        def call(args: list, kwargs: dict, state: dict) -> tuple[Any, dict]:
            for attr, value in state.items():
                if attr in sync:
                    setattr(twin, attr, value)
            result = getattr(twin, name)(*args, **kwargs)
            return result, {a: getattr(twin, a) for a in sync if hasattr(twin, a)}
        return call

    return {name: stand_in(name) for name in names}


def plain_functions(functions: Mapping[str, Callable[..., Any]]) -> dict[str, StandIn]:
    """Stand-ins for module-level functions (no state): ``{"predict": reference_predict}``."""

    def stand_in(function: Callable[..., Any]) -> StandIn:
        def call(args: list, kwargs: dict, state: dict) -> tuple[Any, dict]:
            return function(*args, **kwargs), {}
        return call

    return {name: stand_in(function) for name, function in functions.items()}


def judge_apart(obj: Any, helpers: Mapping[str, StandIn], run: Callable[[], T],
                check: Callable[[T], None], *, function: str, sync: Sequence[str] = (),
                attribute: bool = True) -> str:
    """Run ``function`` (``run()``) with ``helpers`` standing in on the remote ``obj`` and
    ``check`` the result: a failure there is ``function``'s own and fails the test.

    Returns a Markdown note for the feedback: empty when the student's own helpers give the
    same verdict (or ``attribute`` is off: a run that costs too much, or changes the object,
    to repeat); otherwise it names the helpers whose own versions make the difference.
    Where the object does not let functions be replaced (``__slots__``, properties), the
    function is judged with the student's own helpers, and the note says so.
    """
    stood = contextlib.ExitStack()
    try:
        stood.enter_context(obj.standing_in(helpers, sync))
    except SubmissionError:
        stood = None
    if stood is None:
        check(run())
        return (f"`{function}` was judged with your own {_names(helpers)}: the grader could "
                "not put its versions in their place on your object.")
    try:
        with stood:
            result = run()
        check(result)
    except (GradingFailure, SubmissionError) as failure:
        message = getattr(failure, "message", "")
        if STAND_IN_FAILED in message:
            # e.g. a jitted function handed the stand-in JAX tracers, which cannot leave the
            # worker: judge it with the student's own helpers
            check(run())
            return (f"`{function}` was judged with your own {_names(helpers)}: the grader's "
                    "could not run inside it (a jitted function?).")
        if not _passes(run, check):
            raise
        # Written against its own helpers' interface (a forward that returns a tuple, which
        # this function unpacks): right with them, so it keeps its points.
        return (f"`{function}` is right with your own {_names(helpers)}, not with the "
                "grader's in their place, so it was judged with yours. (With the grader's: "
                f"{_first_line(message)})")
    if not attribute or _passes(run, check):
        return ""
    culprits = []
    for name in helpers:
        others = {k: v for k, v in helpers.items() if k != name}
        with obj.standing_in(others, sync):
            if not _passes(run, check):
                culprits.append(name)
    source = (_names(culprits, "your own ") if culprits
              else f"your own {_names(helpers)} together")
    return (f"With the grader's {_names(helpers)} in place of yours, your `{function}` is right, "
            f"so it keeps its points. With your own, it is not: the difference comes from "
            f"{source}, whose tests say more.")


def _passes(run: Callable[[], T], check: Callable[[T], None]) -> bool:
    try:
        check(run())
    except (GradingFailure, SubmissionError):
        return False
    return True


def _names(names: Any, prefix: str = "") -> str:
    quoted = [f"`{n}`" for n in names]
    if len(quoted) <= 1:
        return prefix + "".join(quoted)
    return prefix + ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "it failed"
    return line[:300]
