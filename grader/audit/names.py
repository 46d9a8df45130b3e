"""The names a top-level statement binds: what a test, a template or a pack's ``[audit.free]``
entry can call that statement by."""

from __future__ import annotations

import ast
from collections.abc import Iterator


def bound_names(statement: ast.stmt) -> set[str]:
    """``def f``/``class C``: its name; ``import a.b as c``: ``c`` (``a`` without ``as``);
    anything else: every plain name it stores (``X = ...``, ``a, b = ...``, ``for i in``)."""
    return set(_stored(statement))


def _stored(node: ast.AST) -> Iterator[str]:
    """The plain names ``node`` stores into its scope (a comprehension's or lambda's own
    variables are theirs, not the module's)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name  # its body is its own scope
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield from ((a.asname or a.name).split(".")[0] for a in node.names)
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                         ast.Lambda)):
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        yield node.id
    for child in ast.iter_child_nodes(node):
        yield from _stored(child)


def lines_of(statement: ast.stmt) -> tuple[int, int]:
    """The first (decorators included) and last line of ``statement``."""
    first = min([statement.lineno,
                 *(d.lineno for d in getattr(statement, "decorator_list", []))])
    return first, statement.end_lineno or statement.lineno


def statement_at(body: list[ast.stmt], line: int) -> ast.stmt | None:
    """The statement of ``body`` whose lines (decorators included) hold ``line``."""
    for statement in body:
        first, last = lines_of(statement)
        if first <= line <= last:
            return statement
    return None
