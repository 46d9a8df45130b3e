"""Who handed in what: a Gradescope "Export Submissions" folder or a plain folder of hand-ins.

A Gradescope export holds one folder per submission (``submission_123456/``) and a
``submission_metadata.yml`` naming its submitters (Ruby-style keys: ``:submitters:``,
``:name:``, ``:sid:``, ``:email:``). A plain folder holds one file (``alice.py``,
``bob.ipynb``, ``carol.zip``) or one folder per student, named after the student.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA = "submission_metadata.yml"
SUBMISSION_SUFFIXES = (".py", ".ipynb", ".zip")


class RosterError(ValueError):
    """The submissions folder cannot be read as a class's hand-ins."""


@dataclass(frozen=True)
class Entry:
    """One hand-in: ``student`` is the key of every file the batch writes for it."""

    student: str
    path: Path
    name: str = ""
    email: str = ""
    submission: str = ""  # the export's folder name, or the file's name


def open_export(path: str | Path, scratch: Path) -> Path:
    """The folder to read: ``path`` itself, or Gradescope's export zip unpacked under
    ``scratch`` (down to the folder that holds ``submission_metadata.yml``)."""
    from grader.locate import SubmissionNotFound, extract_archive

    path = Path(path)
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        return path
    stat = path.stat()
    stamp = f"{path.name} {stat.st_size} {stat.st_mtime_ns}"
    marker = scratch / ".unpacked"
    if not marker.is_file() or marker.read_text() != stamp:  # unpacked once per export
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        try:
            extract_archive(path, scratch, max_files=200_000, max_bytes=20 * 2**30)
        except SubmissionNotFound as exc:
            raise RosterError(str(exc)) from None
        marker.write_text(stamp)
    found = sorted(scratch.glob(METADATA)) + sorted(scratch.glob(f"*/{METADATA}"))
    return found[0].parent if found else scratch


def discover(folder: str | Path) -> list[Entry]:
    """Every hand-in under ``folder``, sorted by student id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RosterError(f"{folder} is not a folder of submissions")
    metadata = folder / METADATA
    entries = _from_export(folder, metadata) if metadata.is_file() else _from_plain(folder)
    return sorted(_unique(entries), key=lambda e: e.student)


MAX_METADATA_BYTES = 64 * 2**20
MAX_TEXT = 200  # characters kept of a name, an email or an id


def _from_export(folder: Path, metadata: Path) -> list[Entry]:
    """The export's metadata, read as data only: no YAML aliases (a few lines of them expand
    to gigabytes), every folder inside the export, every text of a bounded length."""
    import yaml

    if metadata.stat().st_size > MAX_METADATA_BYTES:
        raise RosterError(f"{metadata}: larger than {MAX_METADATA_BYTES // 2**20} MB")
    try:
        data = _load_yaml(metadata.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise RosterError(f"{metadata}{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise RosterError(f"{metadata}: expected a mapping of submission folders")
    entries = []
    root = folder.resolve()
    for key, meta in data.items():
        path = folder / str(key)
        if not _inside(path, root):  # `../../reference/...`, an absolute path: refused
            continue
        submitters = _field(meta, "submitters") or []
        people = [p for p in submitters if isinstance(p, dict)] if isinstance(
            submitters, list) else []
        first = people[0] if people else {}
        sid = _text(_field(first, "sid"))
        email = _text(_field(first, "email"))
        names = _text("; ".join(_text(_field(p, "name")) for p in people[:10]))
        student = sid or email.split("@")[0] or str(key)
        entries.append(Entry(student=_clean_id(student), path=path, name=names, email=email,
                             submission=_text(key)))
    return entries


def _inside(path: Path, root: Path) -> bool:
    """A submission folder named by the metadata must be a direct child of the export."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved.parent == root and not path.is_symlink()


def _text(value: Any) -> str:
    """A name, id or email as printable text of bounded length (no NUL or control chars)."""
    text = "" if value is None else str(value)
    text = "".join(c for c in text[:MAX_TEXT * 4] if c.isprintable())
    return text.strip()[:MAX_TEXT]


def _load_yaml(text: str) -> Any:
    """yaml's safe loader, refusing aliases (the "billion laughs": a few lines of them expand
    to gigabytes); an export never holds one."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in an export's metadata",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)

    return yaml.load(text, Loader=NoAliases)  # noqa: S506 - a safe loader, stricter still


def _field(meta: Any, name: str) -> Any:
    """Gradescope writes ``:name:`` keys; accept plain ``name`` too."""
    if not isinstance(meta, dict):
        return None
    return meta.get(f":{name}", meta.get(name))


def _from_plain(folder: Path) -> list[Entry]:
    entries = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith((".", "_")) or child.is_symlink():
            continue
        if child.is_dir() or child.suffix.lower() in SUBMISSION_SUFFIXES:
            stem = child.name if child.is_dir() else child.stem
            entries.append(Entry(student=_clean_id(stem), path=child, submission=child.name))
    return entries


def _clean_id(text: str) -> str:
    """A student id usable as a file name: letters, digits, ``-``, ``_``, ``.``, ``@``."""
    cleaned = re.sub(r"[^\w.@-]+", "_", text).strip("._") or "student"
    return cleaned[:100]


def _unique(entries: list[Entry]) -> list[Entry]:
    """Two hand-ins with the same id (a student listed twice) keep both: ``id``, ``id~2``."""
    seen: dict[str, int] = {}
    out = []
    for entry in entries:
        count = seen[entry.student] = seen.get(entry.student, 0) + 1
        if count > 1:
            entry = Entry(f"{entry.student}~{count}", entry.path, entry.name, entry.email,
                          entry.submission)
        out.append(entry)
    return out
