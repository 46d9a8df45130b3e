"""Turn a ``.py`` or ``.ipynb`` hand-in into plain Python text plus a way back to its lines.

Colab exports and notebooks carry IPython syntax (``!pip``, ``%matplotlib``, ``%%capture``)
that plain Python cannot parse. Those lines are neutralised here, and every combined line
remembers which notebook cell it came from so feedback can say "cell 4, line 2".
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_PY_BYTES = 10 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 200 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_NEWLINES = re.compile(r"\r\n|\r|\n")


class SubmissionUnreadable(Exception):
    """The file exists but cannot be turned into source text."""


@dataclass
class Source:
    """Python text to analyse, and how its lines map back to what the student wrote."""

    text: str
    display_name: str
    line_map: list[tuple[int, int]] | None = None
    magics: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # a notebook's markdown lines, each at the line of the code that follows it: where
    # problem headings are (they are not Python, so not in ``text``)
    markdown: list[tuple[int, str]] = field(default_factory=list)

    def where(self, lineno: int) -> str:
        """Human location of a combined line: file line, or notebook cell and line."""
        if not isinstance(lineno, int) or lineno < 1:
            return self.display_name
        if self.line_map is None:
            return f"{self.display_name}, line {lineno}"
        if lineno > len(self.line_map):
            return f"{self.display_name}, end of file"
        cell, line = self.line_map[lineno - 1]
        return f"{self.display_name}, cell {cell}, line {line}"


def split_lines(text: str) -> list[str]:
    """Split exactly where the Python tokenizer starts a new line (not on form feeds etc.)."""
    return _NEWLINES.split(text)


def read_source(path: Path) -> Source:
    """Read a ``.py`` or ``.ipynb`` file; every failure is a SubmissionUnreadable."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return _read_notebook(path)
    if suffix == ".py":
        return _read_python(path)
    raise SubmissionUnreadable(f"{path.name}: expected a .py or .ipynb file")


def _read_bytes(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise SubmissionUnreadable(
                f"{path.name} is {size // (1024 * 1024)} MB, more than the "
                f"{limit // (1024 * 1024)} MB limit"
            )
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise SubmissionUnreadable(f"{path.name} could not be read: {reason}") from None


def _decode(data: bytes, notes: list[str], name: str) -> str:
    """UTF-8 first; latin-1 never fails, so an odd encoding costs accents, not the grade."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append(f"{name} is not valid UTF-8; it was read as Latin-1.")
    return _scrub(text)


def _scrub(text: str) -> str:
    """Lone surrogates (possible in notebook JSON) cannot be parsed or printed later."""
    return text.encode("utf-8", "replace").decode("utf-8")


NOTEBOOK_AS_PY = (
    "{name} is a notebook (its JSON) saved under a .py name, not Python: it was read as the "
    "notebook it is, and the cell numbers below are the notebook's. Next time upload the "
    ".ipynb itself, or export Python with File → Download → Download .py (Colab) or "
    "File → Save and Export Notebook As → Executable Script (Jupyter).")


def _read_python(path: Path) -> Source:
    notes: list[str] = []
    data = _read_bytes(path, MAX_NOTEBOOK_BYTES if _looks_like_json(path) else MAX_PY_BYTES)
    text = _decode(data, notes, path.name)
    notebook = _notebook_json(text)
    if notebook is not None:  # a notebook renamed (or downloaded raw) as .py
        source = _combine_cells(notebook, path.name, notes)
        source.notes.insert(0, NOTEBOOK_AS_PY.format(name=path.name))
        return source
    if len(data) > MAX_PY_BYTES:  # JSON-looking but no notebook: the .py limit holds
        raise SubmissionUnreadable(f"{path.name} is {len(data) // (1024 * 1024)} MB, more "
                                   f"than the {MAX_PY_BYTES // (1024 * 1024)} MB limit")
    lines, found = neutralise_magics(split_lines(text))
    magics = [(i + 1, line) for i, line in found]
    return Source("\n".join(lines), path.name, None, magics, notes)


def _looks_like_json(path: Path) -> bool:
    """Whether a .py file starts like a JSON object (a notebook may be far larger than
    any Python file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return False
    return head.removeprefix(_BOM).lstrip().startswith(b"{")


def _notebook_json(text: str) -> list[object] | None:
    """The cells, when ``text`` is a notebook's JSON rather than Python (a JSON object with
    a list of ``cells`` and an ``nbformat`` version); else None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict) or "nbformat" not in raw or not isinstance(raw.get("cells"),
                                                                          list):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception:  # noqa: BLE001 - not a notebook: read as Python (and fail as Python)
        return None
    return list(nb.get("cells") or [])


def _read_notebook(path: Path) -> Source:
    notes: list[str] = []
    raw = _decode(_read_bytes(path, MAX_NOTEBOOK_BYTES), notes, path.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw, as_version=4, capture_validation_error={})
        cells = list(nb.get("cells") or [])
    except Exception as exc:  # nbformat and json raise many types; all mean "not a notebook"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SubmissionUnreadable(f"{path.name} is not a readable notebook: {reason}") from None
    return _combine_cells(cells, path.name, notes)


def _markdown_lines(cell: object) -> list[str]:
    """The lines of a markdown cell (none for any other cell)."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
        return []
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return [line for line in split_lines(_scrub(src)) if line.strip()] if isinstance(
        src, str) else []


def _cell_text(cell: object) -> str | None:
    """Code of a code cell, or None for markdown/raw/odd cells."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return _scrub(src) if isinstance(src, str) else ""


def _combine_cells(cells: list[object], name: str, notes: list[str]) -> Source:
    """Join code cells with one blank line between them, remembering each line's origin."""
    out: list[str] = []
    line_map: list[tuple[int, int]] = []
    magics: list[tuple[int, str]] = []
    markdown: list[tuple[int, str]] = []
    for number, cell in enumerate(cells, start=1):
        # the line the next code will have (past the blank line that joins cells)
        markdown.extend((len(out) + (2 if out else 1), line) for line in _markdown_lines(cell))
        text = _cell_text(cell)
        if text is None or not text.strip():
            continue
        lines = split_lines(text)
        if lines and lines[-1] == "":
            lines.pop()
        if out:
            prev_cell, prev_line = line_map[-1]
            out.append("")
            line_map.append((prev_cell, prev_line + 1))
        first = next(line.strip() for line in lines if line.strip())
        if first.startswith("%%"):
            magics.append((len(out) + 1, first))
            out.append(f"# removed cell: {first}")
            line_map.append((number, 1))
            continue
        cleaned, found = neutralise_magics(lines)
        magics.extend((len(out) + i + 1, line) for i, line in found)
        out.extend(cleaned)
        line_map.extend((number, i + 1) for i in range(len(cleaned)))
    text = "\n".join(out) + ("\n" if out else "")
    return Source(text, name, line_map, magics, notes, markdown)


# --- IPython magics --------------------------------------------------------------------


@dataclass
class _ScanState:
    """Where the tokenizer would be at the start of the next line."""

    depth: int = 0
    triple: str | None = None
    continued: bool = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.triple is None and not self.continued


def neutralise_magics(lines: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Replace ``!``/``%`` lines that start a statement; returns new lines and (index, line).

    Lines inside strings or brackets are left alone, so ``"%d" % x`` continuations survive.
    An indented magic becomes ``pass`` so a block holding only ``!pip install`` still parses.
    """
    out: list[str] = []
    found: list[tuple[int, str]] = []
    state = _ScanState()
    in_magic = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if in_magic or (state.at_statement_start and stripped[:1] in ("!", "%")):
            indent = line[: len(line) - len(line.lstrip())]
            if in_magic or not indent:
                out.append(f"{indent}# removed: {stripped}")
            else:
                out.append(f"{indent}pass  # removed: {stripped}")
            if not in_magic:
                found.append((index, stripped))
            in_magic = line.rstrip().endswith("\\")
            continue
        out.append(line)
        _scan(line, state)
    return out, found


def _scan(line: str, state: _ScanState) -> None:
    """Advance the bracket/string state over one line (a small stand-in for tokenize)."""
    state.continued = False
    i, n = 0, len(line)
    while i < n:
        if state.triple is not None:
            if line[i] == "\\":
                i += 2
            elif line.startswith(state.triple, i):
                i += 3
                state.triple = None
            else:
                i += 1
            continue
        c = line[i]
        if c == "#":
            return
        if c in "\"'":
            if line.startswith(c * 3, i):
                state.triple = c * 3
                i += 3
                continue
            i = _skip_short_string(line, i + 1, c)
            continue
        if c in "([{":
            state.depth += 1
        elif c in ")]}":
            state.depth = max(0, state.depth - 1)
        elif c == "\\" and i == n - 1:
            state.continued = True
        i += 1


def _skip_short_string(line: str, i: int, quote: str) -> int:
    n = len(line)
    while i < n and line[i] != quote:
        i += 2 if line[i] == "\\" else 1
    return i + 1
