"""Code the handout gives: what the pack's template already holds, unchanged.

The audit asks whether the pack's tests catch the bugs students make in the code they write.
A function, class attribute or top-level statement that the template hands the student as it
stands in the reference (IFT6135's ``NN.__init__`` and its "do NOT modify" test data, a
notebook's data loaders) is the handout's, not the student's: its mutants measure the
handout, so the audit reports them apart and grades none of them.

Compared as code (comments, docstrings and layout aside): a def counts whole, by its
qualified name; any other statement counts when the template has the same statement in the
same scope (the module, or the same class).
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.audit.names import bound_names, lines_of


def given_ranges(reference: str, template: str) -> list[tuple[int, int]]:
    """(first line, last line) of each piece of ``reference`` that ``template`` holds
    unchanged; none when either does not parse."""
    try:
        ref_tree, tpl_tree = ast.parse(reference), ast.parse(template)
    except SyntaxError:
        return []
    found: list[tuple[int, int]] = []
    _walk(ref_tree.body, _scope(tpl_tree.body), found)
    return found


def given_in(pack_reference: Path, pack_template: Path) -> list[tuple[int, int]]:
    """:func:`given_ranges` for a pack's files; none when the template has no such file."""
    if not pack_template.is_file():
        return []
    return given_ranges(pack_reference.read_text(encoding="utf-8"),
                        pack_template.read_text(encoding="utf-8", errors="replace"))


def handout_names(pack_template: Path) -> frozenset[str] | None:
    """The module-level names the template binds (assignments, defs, classes, imports): the
    names a hand-in is asked for. None when there is no template, or it does not parse."""
    if not pack_template.is_file():
        return None
    try:
        tree = ast.parse(pack_template.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return None
    return frozenset(name for statement in tree.body for name in bound_names(statement))


def is_given(line: int, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= line <= last for first, last in ranges)


def _walk(body: list[ast.stmt], template: dict, found: list[tuple[int, int]]) -> None:
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            inner = template["classes"].get(statement.name)
            if inner is not None:
                _walk(statement.body, inner, found)
            continue
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            same = template["defs"].get(statement.name) == _code(statement)
        else:
            same = _code(statement) in template["other"]
        if same:
            found.append(lines_of(statement))


def _scope(body: list[ast.stmt]) -> dict:
    """A template scope: its defs by name, its classes' scopes by name, its other
    statements."""
    scope: dict = {"defs": {}, "classes": {}, "other": set()}
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            scope["classes"][statement.name] = _scope(statement.body)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope["defs"][statement.name] = _code(statement)
        else:
            scope["other"].add(_code(statement))
    return scope


def _code(node: ast.AST) -> str:
    """The statement as code: docstrings dropped, no positions."""
    node = _without_docstrings(ast.parse(ast.unparse(node)))
    return ast.dump(node)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree
