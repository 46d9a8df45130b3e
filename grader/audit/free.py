"""Design the handout leaves to the student: a pack's ``[audit.free]`` entries, resolved to
the reference's code.

An entry names one top-level definition or assignment (``build_cnn``, ``CNN_TRAINING``), or,
in a pack cut into sections, one of a section's (``problem2.predict``): a name the reference
binds twice (ECE1513's Problem 1 ``def predict`` and Problem 2's ``init_random_params,
predict = stax.serial(...)``) must say which, so an entry never frees a same-named function
that exact tests grade.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.audit.names import bound_names, lines_of
from grader.audit.reach import loaded
from grader.packs import Pack
from grader.sandboxed.submission.sections import parse_rules, split_sections


class FreeEntryError(ValueError):
    """An ``[audit.free]`` entry that names no single piece of the reference."""


@dataclass(frozen=True)
class Freedom:
    key: str     # the entry as written
    why: str     # the handout's words
    first: int   # the lines of the statement it names (decorators included)
    last: int

    def covers(self, line: int) -> bool:
        return self.first <= line <= self.last


def resolve(pack: Pack, reference: str) -> list[Freedom]:
    """Each of ``pack``'s free entries with the lines it covers in ``reference``."""
    if not pack.audit_free:
        return []
    body = ast.parse(reference).body
    starts = _section_starts(pack, reference)
    found = []
    for key, why in pack.audit_free.items():
        section, _, name = key.rpartition(".")
        where = f"{pack.tests_dir / 'pack.toml'}: [audit.free] {key}"
        if section and section not in starts:
            raise FreeEntryError(f"{where}: the pack has no section {section!r} (a key is a "
                                 "top-level name, or SECTION.NAME; sections: "
                                 f"{', '.join(starts) or 'none'})")
        binding = [s for s in body if name in bound_names(s)
                   and (not section or _section_of(s.lineno, starts) == section)]
        if not binding:
            raise FreeEntryError(f"{where}: the reference binds no top-level `{name}`"
                                 + (f" in section {section}" if section else ""))
        if len(binding) > 1:
            lines = ", ".join(str(s.lineno) for s in binding)
            hint = (f"; name its section ({', '.join(f'{s}.{name}' for s in starts)})"
                    if len(starts) > 1 and not section else "")
            raise FreeEntryError(f"{where}: the reference binds `{name}` at lines {lines}: "
                                 f"an entry must name one definition{hint}")
        found.append(Freedom(key, why, *lines_of(binding[0])))
    return found


def _section_starts(pack: Pack, reference: str) -> dict[str, int]:
    """Each section's first line, as the worker cuts the file (a pack without sections: one
    section, "main", from line 1)."""
    prepared = loaded(pack, reference)
    sections = split_sections(prepared.statements, reference.splitlines(),
                              prepared.module_aliases,
                              parse_rules(pack.load_options.get("sections")))
    starts: dict[str, int] = {}
    for i, section in enumerate(sections):
        first = section.statements[0].lineno if section.statements else None
        starts[section.name] = 1 if i == 0 else (first or 10**9)  # absent: covers nothing
    return starts


def _section_of(line: int, starts: dict[str, int]) -> str:
    return max((start, name) for name, start in starts.items() if start <= line)[1]
