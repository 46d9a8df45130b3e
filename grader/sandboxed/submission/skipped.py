"""The record of code the grader will not run.

Parsing, statement selection and the compile check all leave code out; they share one record
type so the student-facing note can list every omission the same way.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_SUMMARY_CHARS = 80


def first_line(lines: list[str], start: int, end: int) -> str:
    """First non-blank line of a statement or cell, cut to the summary length."""
    for lineno in range(start, min(end, len(lines)) + 1):
        text = line_at(lines, lineno)
        if text:
            break
    else:
        text = ""
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"


def line_at(lines: list[str], lineno: int) -> str:
    """Line ``lineno`` (1-based) stripped, or "" past the end."""
    return lines[lineno - 1].strip() if 1 <= lineno <= len(lines) else ""


def last_line(stmt: ast.stmt) -> int:
    """``end_lineno`` is optional on AST nodes; a missing one means a one-line statement."""
    return getattr(stmt, "end_lineno", None) or stmt.lineno


@dataclass
class Skipped:
    """One statement (or notebook cell) that will not be run, and why."""

    lineno: int
    end_lineno: int
    kind: str
    summary: str
    detail: str = ""

    @classmethod
    def span(cls, lines: list[str], start: int, end: int, kind: str, detail: str = "") -> Skipped:
        """Lines ``start``..``end`` (1-based, inclusive), summarised by their first line."""
        return cls(start, end, kind, first_line(lines, start, end), detail)

    @classmethod
    def statement(cls, stmt: ast.stmt, lines: list[str], kind: str, detail: str = "") -> Skipped:
        return cls.span(lines, stmt.lineno, last_line(stmt), kind, detail)
