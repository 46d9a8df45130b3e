"""Whether a mutant's edit can change what the grader runs.

Two questions, both answered without running student code on the trusted side:
- Does the grader load the edit at all? A pack that loads definitions only drops top-level
  training, plotting and printing; a mutant whose kept statements are the reference's is the
  same program as far as grading goes.
- Do the pack's probes reach the edited function? A *canary* copy of the mutant raises on
  entering that function: probes whose outputs do not change on the canary never ran it, so
  their "same outputs" says nothing about the edit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from grader.audit.names import bound_names, statement_at
from grader.packs import Pack
from grader.sandboxed.submission.definitions import Prepared, prepare
from grader.sandboxed.submission.source import Source

CANARY = "grader audit: the probes reach this function"


def loads_the_same(reference: str, mutant: str, pack: Pack) -> bool:
    """Whether the worker would run exactly the reference's statements for ``mutant``."""
    if pack.load_mode != "definitions":
        return False
    kept = []
    for text in (reference, mutant):
        prepared = loaded(pack, text)
        if prepared.syntax_error is not None:
            return False
        kept.append([ast.dump(statement) for statement in prepared.statements])
    return kept[0] == kept[1]


def loaded(pack: Pack, text: str) -> Prepared:
    """The statements of ``text`` the worker would run for ``pack`` (its load mode and the
    modules whose calls it lets run at load time), without running any."""
    return prepare(Source(text, pack.submission_name),
                   "all" if pack.load_mode == "all" else "definitions",
                   extra_modules=frozenset(pack.load_options.get("call_modules") or ()))


def canary(source: str, line: int) -> str | None:
    """``source`` with a ``raise`` just before the innermost statement holding ``line`` (at
    the start of the function, for an edit in a ``def`` line: a default or a decorator); None
    where that statement is module-level code."""
    tree = ast.parse(source)
    found = _innermost(tree.body, line)
    if found is None:
        return None
    block, i = found
    statement = block[i]
    alarm = ast.parse(f"raise RuntimeError({CANARY!r})").body[0]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if line < statement.body[0].lineno:  # the def line: defaults, decorators
            statement.body.insert(0, alarm)
            return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    if block is tree.body or isinstance(statement, ast.ClassDef):
        return None
    block.insert(i, alarm)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def without_binding(source: str, line: int) -> tuple[str, set[str]] | None:
    """``source`` with the module-level assignment holding ``line`` left out (a ``pass`` in
    its place), and the names it bound; None where the edit is not in such an assignment
    (to plain names: ``X = ...``, ``X: T = ...``, ``a, b = ...``)."""
    tree = ast.parse(source)
    statement = statement_at(tree.body, line)
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return None
    if any(isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred))
           for target in targets for node in ast.walk(target)):
        return None  # it changes an object, not only a name
    tree.body[tree.body.index(statement)] = ast.Pass()
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n", bound_names(statement)


def _innermost(block: list[ast.stmt], line: int) -> tuple[list[ast.stmt], int] | None:
    """The statement list and index of the innermost statement holding ``line``."""
    for i, statement in enumerate(block):
        if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
            for inner in _blocks(statement):
                found = _innermost(inner, line)
                if found is not None:
                    return found
            return block, i
    return None


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists directly inside ``statement`` (bodies, else and finally blocks,
    handlers, match cases)."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(statement, "handlers", []) or []:
        yield handler.body
    for case in getattr(statement, "cases", []) or []:
        yield case.body
