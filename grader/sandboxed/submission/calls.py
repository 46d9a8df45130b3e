"""Questions about the hand-in's code that the trusted side asks the worker as data.

- ``describe_signature``: a function's parameters, so a test can call ``update(params,
  batch, learning_rate)`` as written when that is unambiguous (jitted functions included).
- ``top_level_calls``: the literal arguments of the file's top-level calls to a function
  (``mnist(create_outliers=True)``), including calls that definitions-mode loading skipped,
  since they show how the student's own run was set up.

Both run in the worker (engine functions, see ``grader.sandboxed.server.ENGINE_CALLS``).
"""

from __future__ import annotations

import ast
import inspect
import warnings
from pathlib import Path
from typing import Any

from grader.sandboxed.errors import DescribeError
from grader.sandboxed.submission.source import read_source

__all__ = ["describe_signature", "top_level_calls"]

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "*args",
    inspect.Parameter.KEYWORD_ONLY: "keyword",
    inspect.Parameter.VAR_KEYWORD: "**kwargs",
}


def describe_signature(fn: Any) -> list[dict]:
    """``[{"name", "kind": positional|keyword|*args|**kwargs, "default": bool, "value"}]``;
    ``value`` is the default when it is a plain bool, number, string or None."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise DescribeError(f"its parameters cannot be read ({exc})") from None
    out = []
    for p in signature.parameters.values():
        entry = {"name": p.name, "kind": _KINDS[p.kind],
                 "default": p.default is not inspect.Parameter.empty}
        if type(p.default) in (bool, int, float, str, type(None)) and entry["default"]:
            entry["value"] = p.default
        out.append(entry)
    return out


def top_level_calls(module: Any, name: str) -> list[dict]:
    """Each top-level call of ``name(...)`` (or ``anything.name(...)``) in the file, in
    order, with literal arguments.

    An argument that is not a literal is given as ``{"expr": source text}``.
    """
    path = getattr(module, "__file__", None)
    if not path:
        return []
    source = read_source(Path(path))
    with warnings.catch_warnings(action="ignore"):
        try:
            tree = ast.parse(source.text)
        except SyntaxError:
            return []
    found = []
    for stmt in tree.body:
        for node in _calls_outside_functions(stmt):
            called = _called(node.func)
            if called == name or called.endswith("." + name):
                found.append({
                    "line": node.lineno, "where": source.where(node.lineno),
                    "args": [_literal(a) for a in node.args],
                    "kwargs": {k.arg: _literal(k.value) for k in node.keywords if k.arg},
                })
    return found


def _calls_outside_functions(stmt: ast.stmt) -> list[ast.Call]:
    calls, stack = [], [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def _called(func: ast.expr) -> str:
    """``serial`` or ``stax.serial``: the dotted name a call uses ("" for anything else)."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    return ".".join([func.id, *parts]) if isinstance(func, ast.Name) else ""


def _literal(node: ast.expr) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {"expr": ast.unparse(node)[:200]}
    return value if isinstance(value, bool | int | float | str | type(None)) else {
        "expr": ast.unparse(node)[:200]}
