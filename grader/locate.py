"""Find the one file to grade inside whatever a student handed in.

Students hand in a bare ``solution.py``, a notebook, a folder or a zip. This module turns
any of those into a single ``.py``/``.ipynb`` path without ever trusting the archive:
zip entries are checked before anything is written, and symlinks never lead outside the
submission. It runs on the trusted side, before any worker starts (the worker is handed the
one file), so it stays out of :mod:`grader.sandboxed`.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SOURCE_SUFFIXES = (".py", ".ipynb")
IGNORED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__"})
MAX_DEPTH = 4
MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_ZIP_FILES = 10_000
MAX_WALK_ENTRIES = 50_000
MAX_LISTED = 20
_CHUNK = 1 << 16


@dataclass
class LocatedSubmission:
    """The file to grade, where it came from, and how to tidy up afterwards."""

    path: Path
    root: Path
    note: str
    cleanup: Callable[[], None] | None = None


class SubmissionNotFound(Exception):
    """No single gradable file could be chosen; the message says what was there instead."""

    def __init__(self, reason: str, found: Sequence[str] = (), expected: str = "") -> None:
        self.reason = reason
        self.found = list(found)
        self.expected = expected
        super().__init__(self._message())

    @property
    def status(self) -> str:
        """``missing`` when nothing to grade was handed in, ``not loadable`` when something
        was but it cannot be used (an ambiguous folder, a refused archive, another format)."""
        nothing = "does not exist" in self.reason or self.reason.startswith("no Python file")
        return "missing" if nothing else "not loadable"

    def _message(self) -> str:
        parts = [self.reason.rstrip(".") + "."]
        if self.expected:
            parts.append(f"Expected {self.expected}.")
        if self.found:
            shown = ", ".join(self.found[:MAX_LISTED])
            extra = len(self.found) - MAX_LISTED
            parts.append(f"Found: {shown}" + (f" (+{extra} more)." if extra > 0 else "."))
        elif self.expected:
            parts.append("Found no files.")
        return " ".join(parts)


def locate_submission(
    path: str | os.PathLike[str],
    filename: str = "solution.py",
    extract_to: Path | None = None,
) -> LocatedSubmission:
    """Resolve a hand-in (file, folder or zip) to the single source file to grade."""
    given = Path(path)
    if given.is_dir():
        chosen, how = _search_folder(given, filename)
        return LocatedSubmission(chosen, given, _note(chosen, given, f"folder {given.name}/", how))
    if not given.is_file():
        raise SubmissionNotFound(f"{given.name or given} does not exist", expected=filename)
    suffix = given.suffix.lower()
    if suffix in SOURCE_SUFFIXES:
        return LocatedSubmission(given, given.parent, given.name)
    if suffix == ".zip":
        return _locate_in_zip(given, filename, extract_to)
    raise SubmissionNotFound(
        f"{given.name} is not a .py file, a notebook, a folder or a .zip",
        expected=_expected(filename),
    )


def _locate_in_zip(archive: Path, filename: str, extract_to: Path | None) -> LocatedSubmission:
    """Unpack into a fresh folder (or ``extract_to``) and search it like a folder."""
    if extract_to is None:
        dest = Path(tempfile.mkdtemp(prefix="submission-"))
        cleanup: Callable[[], None] | None = _remover(dest)
    else:
        dest = Path(extract_to)
        cleanup = None
    try:
        dest.mkdir(parents=True, exist_ok=True)
        symlinks = _extract_zip(archive, dest)
        chosen, how = _search_folder(dest, filename, label=archive.name)
    except BaseException:
        if cleanup is not None:
            cleanup()
        raise
    if symlinks:
        names = ", ".join(symlinks[:MAX_LISTED])
        how.append(f"skipped {len(symlinks)} symlink entr{'y' if len(symlinks) == 1 else 'ies'}"
                   f" in the zip: {names}")
    return LocatedSubmission(chosen, dest, _note(chosen, dest, archive.name, how), cleanup)


def _remover(folder: Path) -> Callable[[], None]:
    def cleanup() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return cleanup


def _note(chosen: Path, root: Path, origin: str, how: list[str]) -> str:
    rel = chosen.relative_to(root).as_posix()
    return f"{rel} from {origin}" + (f" ({'; '.join(how)})" if how else "")


def _expected(filename: str) -> str:
    stem = Path(filename).stem
    return f"{filename}, {stem}.ipynb, or a folder/zip holding exactly one .py or .ipynb file"


# --- zip -------------------------------------------------------------------------------


def _extract_zip(archive: Path, dest: Path, max_files: int | None = None,
                 max_bytes: int | None = None) -> list[str]:
    """Extract safely; returns the symlink entries that were left out."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_zip_limits(archive, infos, max_files or MAX_ZIP_FILES,
                              max_bytes or MAX_ZIP_BYTES)
            plans = [(info, _safe_member_path(archive, info.filename)) for info in infos]
            return _write_members(archive, zf, plans, dest)
    except SubmissionNotFound:
        raise
    except Exception as exc:  # a damaged archive can fail in many ways; all are "unreadable"
        raise SubmissionNotFound(
            f"{archive.name} could not be unpacked ({type(exc).__name__}: {exc})"
        ) from None


def extract_archive(archive: Path, dest: Path, max_files: int, max_bytes: int) -> list[str]:
    """Unpack a zip under ``dest`` with the same defences as a hand-in (no absolute or ``..``
    paths, no symlinks) and the given caps; raises SubmissionNotFound when it cannot."""
    return _extract_zip(archive, dest, max_files, max_bytes)


def _check_zip_limits(archive: Path, infos: list[zipfile.ZipInfo], max_files: int,
                      max_bytes: int) -> None:
    if len(infos) > max_files:
        raise SubmissionNotFound(
            f"{archive.name} holds {len(infos)} entries, more than the limit of {max_files}"
        )
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise SubmissionNotFound(
            f"{archive.name} would unpack to {declared // (1024 * 1024)} MB, "
            f"more than the limit of {max_bytes // (1024 * 1024)} MB"
        )


def _safe_member_path(archive: Path, name: str) -> PurePosixPath | None:
    """Reject absolute or parent-relative names outright: such an archive is not a hand-in."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":" and clean[0].isalpha()):
        raise SubmissionNotFound(f"{archive.name} contains an absolute path: {name!r}")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SubmissionNotFound(
            f"{archive.name} contains a path that leaves the archive: {name!r}"
        )
    return PurePosixPath(*parts) if parts else None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _write_members(
    archive: Path,
    zf: zipfile.ZipFile,
    plans: list[tuple[zipfile.ZipInfo, PurePosixPath | None]],
    dest: Path,
) -> list[str]:
    root = dest.resolve()
    symlinks: list[str] = []
    written = 0
    for info, rel in plans:
        if rel is None:
            continue
        if _is_symlink(info):
            symlinks.append(info.filename)
            continue
        target = dest.joinpath(*rel.parts)
        if not _inside(target.resolve(), root):
            raise SubmissionNotFound(f"{archive.name} entry {info.filename!r} leaves the archive")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > MAX_ZIP_BYTES:
                    raise SubmissionNotFound(
                        f"{archive.name} unpacks to more than "
                        f"{MAX_ZIP_BYTES // (1024 * 1024)} MB"
                    )
                out.write(chunk)
    return symlinks


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


# --- folder search ---------------------------------------------------------------------


def _search_folder(
    folder: Path, filename: str, label: str | None = None
) -> tuple[Path, list[str]]:
    """Pick the file to grade; returns it plus notes on how it was chosen."""
    where = label or f"folder {folder.name}/"
    files = _walk(folder)
    sources = [f for f in files if f.suffix.lower() in SOURCE_SUFFIXES]
    stem = Path(filename).stem
    for wanted in dict.fromkeys([filename, f"{stem}.ipynb"]):
        hit = _by_name(folder, sources, wanted, where, filename)
        if hit is not None:
            return hit, []
    py = [f for f in sources if f.suffix.lower() == ".py"]
    nb = [f for f in sources if f.suffix.lower() == ".ipynb"]
    if len(py) == 1 and not nb:
        return py[0], [f"no {filename}; it is the only .py file"]
    if len(nb) == 1 and not py:
        return nb[0], [f"no {filename}; it is the only notebook"]
    if sources:
        raise SubmissionNotFound(
            f"cannot tell which file to grade in {where}: no {filename} and "
            f"{len(py)} .py / {len(nb)} .ipynb files",
            found=_names(folder, sources),
            expected=_expected(filename),
        )
    raise SubmissionNotFound(
        f"no Python file or notebook in {where}",
        found=_names(folder, files),
        expected=_expected(filename),
    )


def _by_name(
    folder: Path, sources: list[Path], wanted: str, where: str, filename: str
) -> Path | None:
    """Exact name wins over a case-insensitive match; the shallowest copy wins over deeper."""
    exact = [f for f in sources if f.name == wanted]
    matches = exact or [f for f in sources if f.name.lower() == wanted.lower()]
    if not matches:
        return None
    depth = min(len(f.relative_to(folder).parts) for f in matches)
    top = [f for f in matches if len(f.relative_to(folder).parts) == depth]
    if len(top) > 1:
        raise SubmissionNotFound(
            f"{where} holds {len(top)} files named {wanted} at the same level",
            found=_names(folder, top),
            expected=f"exactly one {filename}",
        )
    return top[0]


def _names(folder: Path, paths: list[Path]) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in paths)


def _hidden_or_junk(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_DIRS


def _walk(folder: Path) -> list[Path]:
    """Visible files up to MAX_DEPTH folders down; symlinks only when they stay inside."""
    root = folder.resolve()
    found: list[Path] = []
    pending: list[tuple[Path, int]] = [(folder, 0)]
    seen = 0
    while pending:
        current, depth = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_WALK_ENTRIES:
                return found
            if _hidden_or_junk(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if entry.is_file() and _inside(path.resolve(), root):
                        found.append(path)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        pending.append((path, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    found.append(path)
            except (OSError, RuntimeError):
                continue
    return sorted(found)
