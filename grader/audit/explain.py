"""Why a mutant survived, where the pack itself says so: no test grades the edited function,
only tests worth 0 points do, or the tests that would judge it further were left out (by
--fast: the slow and GPU ones). A survivor none of these explain, and that the tests do run
(``run._unreached``), is a gap in the pack's tests.

The edited function is matched to the ``function`` each graded test names (``NN.train_loop``
to "train_loop", ``loss`` to "loss (Problem 2)") and to the names it says it ``uses``;
module-level code to the names it binds (``BASELINE = {...}`` to "BASELINE").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.audit.names import bound_names, statement_at


@dataclass
class Graded:
    """The points the reference's run gave a function's tests: those that ran and those
    left out (deferred or skipped), with the left-out tests' names."""

    ran: float = 0.0
    left_out: float = 0.0
    left_out_tests: list[str] = field(default_factory=list)


def edited_names(function: str, source: str, line: int) -> set[str]:
    """The names a test could grade the edit under."""
    if function != "<module>":  # "NN.train_loop": itself, "train_loop", and its class "NN"
        parts = function.split(".")
        return {function, parts[-1], *(".".join(parts[:i]) for i in range(1, len(parts)))}
    statement = statement_at(ast.parse(source).body, line)
    return bound_names(statement) if statement is not None else set()


def explain(names: set[str], graded: dict[str, Graded]) -> str:
    """Why an edit to ``names`` can survive the tests that ran, or "" (a gap)."""
    found = _grading(names, graded)
    shown = ", ".join(f"`{n}`" for n in sorted(names)) or "this code"
    if not found:
        return f"no test of the pack grades {shown}"
    tests = left_out_tests(names, graded)
    if tests:
        return (f"the tests that ran pass it; {shown} is judged further by tests that were "
                "left out (" + "; ".join(tests[:3]) + ("; ..." if len(tests) > 3 else "")
                + ")")
    if sum(g.ran for g in found) == 0:
        return f"{shown} is graded by tests worth 0 points only"
    return ""


def left_out_tests(names: set[str], graded: dict[str, Graded]) -> list[str]:
    """The tests worth points that grade ``names`` but did not run (left to a GPU or to
    --slow): a survivor they grade is undecided by this run."""
    return [t for g in _grading(names, graded) if g.left_out > 0 for t in g.left_out_tests]


def _grading(names: set[str], graded: dict[str, Graded]) -> list[Graded]:
    return [g for tag, g in graded.items()
            if any(tag == n or tag.startswith(n + " ") for n in names)]
