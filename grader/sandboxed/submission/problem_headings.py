"""Problem headings in a course notebook, in the handout's numbering ("2C", "Problem 2, part
C", "(c)" under "Problem 2"), and the section each one starts.

Only prose is read: markdown cells, comment lines and the strings a Colab ``.py`` export keeps
markdown in. A line of code never starts a section. Nothing here runs code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Heading", "find_problem_headings", "problem_sections"]

_LEAD = r"^[\s#*_>\"'`=~\-|]*"
_WORD = r"(?:problem|prob|question|exercise|ex|q)"
_FULL = re.compile(_LEAD + rf"(?:{_WORD}\s*)?(\d+)\s*[.\-:]?\s*\(?([a-z])\)?(?![a-z0-9])")
_SPLIT = re.compile(_LEAD + rf"{_WORD}\s*(\d+)\s*[,.:\-]?\s*(?:part|{_WORD})?\s*\(?([a-z])\)?"
                    r"(?![a-z0-9])")
_PART = re.compile(_LEAD + rf"(?:(?:part|{_WORD})\s*\(?([a-z])\)?|\(([a-z])\))(?![a-z0-9])")
_MAJOR = re.compile(_LEAD + rf"(?:{_WORD}|part|section)\s*(\d+)(?![\d.]*\s*[a-z](?![a-z]))")


@dataclass(frozen=True)
class Heading:
    """A line that starts a problem or a part: where it is and what it names."""

    line: int  # combined line number where the section starts
    text: str
    major: str | None
    part: str | None


_NUMBERED = re.compile(r"^[\s\"'`]*#+\s*(\d+)[.)]?\s+[a-z]{2,}")
# "## G. PyTorch implementation": a markdown heading that is a part's letter
_LETTER = re.compile(r"^[\s\"'`]*#+\s*\(?([a-z])[.):]\s")
# "# CS155 Set 4, Problem 2: Depth vs Width": a markdown title naming the problem anywhere
_TITLE = re.compile(r"^[\s\"'`]*#.*?\b(?:problem|question|prob)\s*(\d+)(?![\d.]*\s*[a-z](?![a-z]))")


def _heading(line: int, text: str, markdown: bool) -> Heading | None:
    """What a heading-like line names; ``markdown``: a markdown cell's line (or a Colab
    export's string), where "# 2 Depth vs Width" numbers a problem."""
    lowered = text.strip().lower()
    if not lowered or len(lowered) > 200:
        return None
    for pattern in (_SPLIT, _FULL):
        found = pattern.match(lowered)
        if found:
            return Heading(line, text.strip(), found.group(1), found.group(2))
    found = _PART.match(lowered) or (_LETTER.match(lowered) if markdown else None)
    if found:
        return Heading(line, text.strip(), None, found.group(1) or found.group(2))
    found = _MAJOR.match(lowered) or (
        (_NUMBERED.match(lowered) or _TITLE.match(lowered)) if markdown else None)
    if found:
        return Heading(line, text.strip(), found.group(1), None)
    return None


def find_problem_headings(lines: Sequence[str], parsed: Sequence[ast.stmt],
                          markdown: Sequence[tuple[int, str]] = ()) -> list[Heading]:
    """Every heading-like line naming a problem or a part, in order. Only prose is read:
    comment lines, the lines of top-level strings (a Colab ``.py`` export keeps markdown
    cells as strings) and markdown cells; a line of code never starts a section."""
    prose: list[tuple[int, str, bool]] = [(n, t, True) for n, t in markdown]
    strings = {n for s in parsed if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
               and isinstance(s.value.value, str)
               for n in range(s.lineno, (s.end_lineno or s.lineno) + 1)}
    for lineno, text in enumerate(lines, 1):
        if lineno in strings:
            prose.append((lineno, text, True))
        elif text.lstrip().startswith("#"):
            prose.append((lineno, text, False))
    found = [h for n, t, md in prose if (h := _heading(n, t, md)) is not None]
    return sorted(found, key=lambda h: h.line)


def problem_sections(headings: Sequence[Heading], labels: Sequence[str]
                     ) -> dict[str, tuple[Heading, int | None]]:
    """Each label's ("2C") heading and the line where the next problem heading starts (None:
    the end of the file). A part alone ("(c)") belongs to the last problem number seen, or,
    before any, to the one label with that letter."""
    known = set(labels)
    letters: dict[str, list[str]] = {}
    for label in labels:
        letters.setdefault(label.lstrip("0123456789").lower(), []).append(label)
    found: dict[str, tuple[Heading, int | None]] = {}
    major: str | None = None
    opened: str | None = None
    for heading in headings:
        if heading.major is not None:
            major = heading.major
        label = None
        if heading.part is not None:
            if heading.major is None and major is None and len(letters.get(heading.part, [])) == 1:
                label = letters[heading.part][0]
            elif major is not None:
                label = f"{major}{heading.part.upper()}"
        if opened is not None and (heading.part is not None or heading.major is not None):
            start, _ = found[opened]
            if heading.line > start.line:
                found[opened] = (start, heading.line)
            opened = None
        if label in known and label not in found:
            found[label] = (heading, None)
            opened = label
    return found
