"""Where each part of a multi-problem notebook starts, so each part keeps its own globals.

A course notebook often redefines names from one problem to the next: ECE1513's Problem 2
defines ``predict``, ``loss``, ``update`` and ``learning_rate`` again, for a convnet. Run as
one module, Problem 1's ``update`` would then call Problem 2's ``loss`` through its globals,
which the student's notebook never did (its cells ran in order). So a pack may cut the
hand-in into sections: each section runs in a copy of the namespace the previous one left,
and a function sees the globals of the section that defined it.

A section starts at the earliest of its markers:

- ``heading``: a regular expression matched against each source line (case-insensitive);
  Colab exports a markdown heading such as ``# **Problem 2**`` as a string or a comment;
- ``calls``: dotted names of functions; the first top-level statement calling one of them
  (through any import alias, e.g. ``stax.serial`` for ``jax.example_libraries.stax.serial``).

Nothing here runs code; it reads the statements ``prepare`` kept and the source lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Section", "SectionRule", "dotted_name", "parse_rules", "split_sections"]


@dataclass(frozen=True)
class SectionRule:
    """How to find where section ``name`` starts."""

    name: str
    heading: str | None = None
    calls: tuple[str, ...] = ()


@dataclass
class Section:
    """A run of kept statements, and why it starts where it does (for feedback)."""

    name: str
    statements: list[ast.stmt]
    start_line: int | None  # None: the first section, or a section whose markers were absent
    found_by: str


def parse_rules(raw: object) -> list[SectionRule]:
    """Validate ``[[pack.sections]]`` entries; the first section has no markers."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise ValueError("[[pack.sections]] must be a list of tables with a `name`")
    rules = []
    for i, entry in enumerate(raw):
        unknown = set(entry) - {"name", "heading", "calls"}
        if unknown or not isinstance(entry.get("name"), str):
            raise ValueError(f"[[pack.sections]] entry {i}: needs `name`; "
                             f"unknown keys {sorted(unknown)}")
        heading = entry.get("heading")
        if heading is not None:
            re.compile(heading)
        calls = entry.get("calls", [])
        if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
            raise ValueError(f"[[pack.sections]] {entry['name']}: `calls` must list names")
        if i == 0 and (heading or calls):
            raise ValueError("the first section starts at the top: give it no markers")
        rules.append(SectionRule(entry["name"], heading, tuple(calls)))
    return rules


def split_sections(statements: Sequence[ast.stmt], lines: Sequence[str],
                   aliases: Mapping[str, str], rules: Sequence[SectionRule]) -> list[Section]:
    """Cut ``statements`` (in source order) into one section per rule.

    A later section never starts before an earlier one; one whose markers are absent is
    empty (its namespace is then the previous section's, unchanged).
    """
    if not rules:
        return [Section("main", list(statements), None, "the whole file")]
    starts: list[tuple[int, int | None, str]] = [(0, None, "the top of the file")]
    floor = 0
    for rule in rules[1:]:
        index, line, how = _first_marker(statements, lines, aliases, rule, floor)
        if index is None:
            index, line, how = len(statements), None, "not found"
        starts.append((index, line, how))
        floor = index
    sections = []
    for i, rule in enumerate(rules):
        begin, line, how = starts[i]
        end = starts[i + 1][0] if i + 1 < len(starts) else len(statements)
        sections.append(Section(rule.name, list(statements[begin:end]), line, how))
    return sections


def _first_marker(statements: Sequence[ast.stmt], lines: Sequence[str],
                  aliases: Mapping[str, str], rule: SectionRule,
                  floor: int) -> tuple[int | None, int | None, str]:
    found: list[tuple[int, int, str]] = []
    if rule.heading:
        pattern = re.compile(rule.heading, re.IGNORECASE)
        after = statements[floor].lineno if floor < len(statements) else len(lines) + 1
        for lineno, text in enumerate(lines, 1):
            if lineno >= after and pattern.search(text):
                index = _first_ending_at_or_after(statements, lineno, floor)
                if index is not None:
                    found.append((index, lineno, f"the heading at line {lineno}"))
                break
    if rule.calls:
        for index in range(floor, len(statements)):
            called = _calls(statements[index], aliases, rule.calls)
            if called:
                line = statements[index].lineno
                found.append((index, line, f"the first `{called}` call, at line {line}"))
                break
    if not found:
        return None, None, "not found"
    return min(found)


def _first_ending_at_or_after(statements: Sequence[ast.stmt], lineno: int,
                              floor: int) -> int | None:
    """The statement holding ``lineno`` (a docstring heading) or the first one after it."""
    for index in range(floor, len(statements)):
        end = getattr(statements[index], "end_lineno", None) or statements[index].lineno
        if end >= lineno:
            return index
    return None


def _calls(stmt: ast.stmt, aliases: Mapping[str, str], wanted: Sequence[str]) -> str | None:
    """The first call in ``stmt`` (outside function bodies) to one of ``wanted``."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            dotted = dotted_name(node.func, aliases)
            if dotted is not None and dotted in wanted:
                return _spelled(node.func)
        stack.extend(ast.iter_child_nodes(node))
    return None


def dotted_name(func: ast.expr, aliases: Mapping[str, str]) -> str | None:
    """``nn.Sequential`` as ``torch.nn.Sequential``: a called name through its import alias."""
    attrs: list[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        attrs.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = aliases.get(node.id, node.id)
    return ".".join([root, *attrs])


def _spelled(func: ast.expr) -> str:
    try:
        return ast.unparse(func)
    except Exception:  # noqa: BLE001 - only for the message
        return "call"
