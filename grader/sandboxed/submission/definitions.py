"""Turn a hand-in's source into the statements the worker may run.

Colab hand-ins train models, download data and draw plots at top level. Grading must not
re-run any of that, so by default only definitions are kept (the rules live in
``keep_rules``). Nothing here executes the submission: it parses (cell by cell when a notebook
fails as a whole), selects, and compiles to catch compile-time errors before anything runs.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Literal

from grader.sandboxed.submission.keep_rules import (
    ALLOWED_MODULES,
    COLAB_ONLY_MODULES,
    DENIED_CALL_NAMES,
    SAFE_BUILTIN_CALLS,
    Selector,
)
from grader.sandboxed.submission.messages import (
    QUIET_KINDS,
    code_span,
    describe_skipped,
    syntax_message,
)
from grader.sandboxed.submission.skipped import Skipped, last_line
from grader.sandboxed.submission.source import Source, split_lines

__all__ = [  # the constants and text helpers moved out; importing them from here still works
    "ALLOWED_MODULES",
    "COLAB_ONLY_MODULES",
    "DENIED_CALL_NAMES",
    "MAX_COMPILE_RETRIES",
    "QUIET_KINDS",
    "SAFE_BUILTIN_CALLS",
    "Prepared",
    "Skipped",
    "code_span",
    "describe_skipped",
    "prepare",
    "syntax_message",
]

MAX_COMPILE_RETRIES = 100
"""Statements a notebook may lose to compile errors before it is reported as broken."""


@dataclass
class Prepared:
    """What the executor may run, what it must not, and whether the code parsed at all."""

    statements: list[ast.stmt]
    skipped: list[Skipped]
    syntax_error: str | None
    module_aliases: dict[str, str] = field(default_factory=dict)
    # the top-level packages the file imports anywhere (``torch``, ``tensorflow``...), run or
    # not: what the file is written for, when it is not what the assignment expects
    imports: list[str] = field(default_factory=list)
    # every top-level statement parsed, run or not: where a course notebook's models are
    parsed: list[ast.stmt] = field(default_factory=list)


def imported_packages(statements: list[ast.stmt]) -> list[str]:
    """The top-level package of every ``import`` and ``from ... import`` in the code."""
    found: set[str] = set()
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return sorted(found)


def prepare(
    source: Source,
    mode: Literal["definitions", "all"] = "definitions",
    *,
    extra_modules: frozenset[str] = frozenset(),
) -> Prepared:
    """Parse the source and choose the statements to run; never raises on bad student code."""
    if mode not in ("definitions", "all"):
        raise ValueError(f"mode must be 'definitions' or 'all', not {mode!r}")
    lines = split_lines(source.text)
    statements, skipped, error = _parse(source, lines)
    if error is not None:
        return Prepared([], skipped, error, {})
    selector = Selector(lines, ALLOWED_MODULES | frozenset(extra_modules))
    if mode == "all":
        kept, aliases = statements, selector.aliases_only(statements)
    else:
        kept, more, aliases = selector.select(statements)
        skipped.extend(more)
    imports = imported_packages(statements)
    kept, broken, error = _check_compiles(_hoist_futures(kept), source, lines)
    if error is not None:
        return Prepared([], [], error, {}, imports)
    skipped.extend(broken)
    skipped.sort(key=lambda s: s.lineno)
    return Prepared(kept, skipped, None, aliases, imports, statements)


# --- parsing ---------------------------------------------------------------------------


def _parse_text(text: str, filename: str) -> list[ast.stmt]:
    """Student code often triggers SyntaxWarnings; they are noise in a grading run."""
    with warnings.catch_warnings(action="ignore"):
        return ast.parse(text, filename=filename).body


def _parse(source: Source, lines: list[str]) -> tuple[list[ast.stmt], list[Skipped], str | None]:
    """Whole text first; a notebook that fails is retried cell by cell."""
    try:
        return _parse_text(source.text, source.display_name), [], None
    except Exception as exc:  # SyntaxError, ValueError, RecursionError, MemoryError, ...
        first_error = exc
    if not source.line_map:
        return [], [], syntax_message(first_error, source, lines, source.text)
    statements: list[ast.stmt] = []
    skipped: list[Skipped] = []
    for start, end in _cell_ranges(source.line_map, len(lines)):
        chunk = "\n".join(lines[start - 1:end]) + "\n"
        try:
            body = _parse_text(chunk, source.display_name)
        except Exception as exc:
            message = syntax_message(exc, source, lines, chunk, offset=start - 1)
            skipped.append(Skipped.span(lines, start, end, "syntax error", message))
            continue
        for stmt in body:
            ast.increment_lineno(stmt, start - 1)
        statements.extend(body)
    if not statements and skipped:
        return [], skipped, skipped[0].detail
    return statements, skipped, None


def _cell_ranges(line_map: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """1-based inclusive line ranges, one per cell; lines past the map form a last range."""
    ranges: list[tuple[int, int]] = []
    limit = min(len(line_map), total)
    for index in range(limit):
        if index == 0 or line_map[index][0] != line_map[index - 1][0]:
            ranges.append((index + 1, index + 1))
        else:
            ranges[-1] = (ranges[-1][0], index + 1)
    if total > limit:
        ranges.append((limit + 1, total))
    return ranges


# --- compile checks --------------------------------------------------------------------


def _hoist_futures(statements: list[ast.stmt]) -> list[ast.stmt]:
    """``from __future__`` must come first; in a notebook it may sit in any cell."""
    futures = [s for s in statements if isinstance(s, ast.ImportFrom)
               and s.module == "__future__" and s.level == 0]
    if not futures:
        return statements
    rest = [s for s in statements if s not in futures]
    head = rest[:1] if rest and rest[0] is statements[0] and _is_docstring(rest[0]) else []
    return head + futures + rest[len(head):]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
        stmt.value.value, str)


def _check_compiles(
    statements: list[ast.stmt], source: Source, lines: list[str]
) -> tuple[list[ast.stmt], list[Skipped], str | None]:
    """Catch compile-time errors (``return`` outside a function...) without running anything.

    A notebook loses only the offending statement; a ``.py`` file is reported as broken.
    """
    kept = list(statements)
    broken: list[Skipped] = []
    for _ in range(MAX_COMPILE_RETRIES):
        exc = _compile_error(kept, source.display_name)
        if exc is None:
            return kept, broken, None
        message = syntax_message(exc, source, lines, source.text)
        culprit = _statement_at(kept, getattr(exc, "lineno", None))
        if source.line_map is None or culprit is None:
            return [], [], message
        broken.append(Skipped.statement(kept.pop(culprit), lines, "syntax error", message))
    return [], [], "SyntaxError: too many compile errors to load the notebook"


def _compile_error(statements: list[ast.stmt], filename: str) -> Exception | None:
    """The error compiling would raise, or None; compiling never runs the code."""
    try:
        with warnings.catch_warnings(action="ignore"):
            compile(ast.Module(body=statements, type_ignores=[]), filename, "exec",
                    dont_inherit=True)
    except Exception as exc:  # SyntaxError, ValueError, RecursionError, MemoryError
        return exc
    return None


def _statement_at(statements: list[ast.stmt], lineno: object) -> int | None:
    """Index of the statement spanning ``lineno``; None when the error names no usable line."""
    if not isinstance(lineno, int):
        return None
    for index, stmt in enumerate(statements):
        if stmt.lineno <= lineno <= last_line(stmt):
            return index
    return None

