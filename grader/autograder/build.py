"""Build the Gradescope autograder zip for one assignment pack.

The zip holds ``setup.sh`` and ``run_autograder`` (rendered from ``templates/``), the engine
(the ``grader`` package, ``pyproject.toml``, ``README.md``, ``LICENSE``), ``requirements.txt``
(the pinned ``requirements/cpu.txt``), the pack's tests and reference, and
``grader-autograder.toml`` naming the assignment. Nothing else: no other pack, no engine tests
or known submissions, no student template, no data, no caches. Entries are sorted and carry a
fixed timestamp, so two builds of the same tree are byte-identical.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import string
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.packs import Pack, load_pack

__all__ = [
    "DEFAULT_DATASETS",
    "TORCH_CPU_INDEX",
    "add_build_parser",
    "build_autograder",
    "render_templates",
    "zip_entries",
]

TEMPLATES = Path(__file__).with_name("templates")
ENGINE_ROOT = Path(__file__).resolve().parents[2]  # grader/, pyproject.toml, README.md, LICENSE
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Every pack so far grades on MNIST; a pack can say otherwise with ``[settings] datasets``.
DEFAULT_DATASETS = ("mnist",)
SCRIPTS = ("setup.sh", "run_autograder")
CONFIG_NAME = "grader-autograder.toml"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: builds are reproducible
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~", ".orig", ".rej")
_PACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ScriptTemplate(string.Template):
    """``${name}`` placeholders with a lower-case name; anything else is left alone.

    The scripts are bash, full of ``$VAR``, ``${VAR:-default}`` and ``$$``: the scripts keep
    upper-case names for their own variables, so neither needs escaping.
    """

    pattern = r"""
        \$(?:
          (?P<escaped>(?!))                 |
          (?P<named>(?!))                   |
          \{(?P<braced>[a-z][a-z0-9_]*)\}   |
          (?P<invalid>(?!))
        )
    """


#: What a rendered file must never contain: a placeholder left unfilled.
PLACEHOLDER = re.compile(r"\$\{[a-z][a-z0-9_]*\}")


@dataclass(frozen=True)
class Entry:
    """One file of the zip: its name there, its bytes and its Unix mode."""

    name: str
    data: bytes
    mode: int = 0o644


def pack_datasets(pack: Pack) -> tuple[str, ...]:
    """The datasets the image fetches at build time: ``[settings] datasets`` or MNIST."""
    declared = pack.settings.get("datasets")
    if declared is None:
        return DEFAULT_DATASETS
    if not isinstance(declared, list) or not all(isinstance(d, str) for d in declared):
        raise ValueError(f"{pack.tests_dir / 'pack.toml'}: [settings] datasets must be a list "
                         "of dataset names")
    return tuple(declared)


def render_templates(pack: Pack, datasets: Sequence[str] | None = None,
                     torch_index: str = TORCH_CPU_INDEX) -> dict[str, str]:
    """The rendered ``setup.sh``, ``run_autograder`` and ``grader-autograder.toml``."""
    if not _PACK_NAME.fullmatch(pack.name):
        raise ValueError(f"pack name {pack.name!r} is not a plain folder name")
    datasets = tuple(pack_datasets(pack) if datasets is None else datasets)
    values = {
        "assignment": pack.name,
        "assignment_shell": shlex.quote(pack.name),
        "grader_version": __version__,
        "torch_index": torch_index,
        "datasets": " ".join(shlex.quote(d) for d in datasets),
        "datasets_text": ", ".join(datasets) or "none",
        "assignment_toml": _toml_string(pack.name),
        "title_toml": _toml_string(pack.title),
        "datasets_toml": "[" + ", ".join(_toml_string(d) for d in datasets) + "]",
        "grader_version_toml": _toml_string(__version__),
        "torch_index_toml": _toml_string(torch_index),
    }
    rendered = {}
    for name in (*SCRIPTS, CONFIG_NAME):
        text = ScriptTemplate((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)
        leftover = PLACEHOLDER.search(text)
        if leftover:  # pragma: no cover - substitute() raises first; kept as a guard
            raise ValueError(f"{name}: unfilled placeholder {leftover.group()}")
        rendered[name] = text
    return rendered


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML basic-string escapes


def _wanted(path: Path, top: Path) -> bool:
    parts = path.relative_to(top).parts
    if any(p in _SKIPPED_DIRS or p.startswith(".") or p.endswith(".egg-info") for p in parts):
        return False
    return path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES)


def _tree(top: Path, prefix: str) -> Iterable[Entry]:
    for path in sorted(top.rglob("*")):
        if _wanted(path, top):
            name = f"{prefix}/{path.relative_to(top).as_posix()}"
            yield Entry(name, path.read_bytes(), 0o755 if path.stat().st_mode & 0o111 else 0o644)


def _requirements(folder: Path, extras: Sequence[str]) -> bytes:
    """cpu.txt, then each extra the pack names (``[pack] extras``, e.g. ``jax``)."""
    parts = [(folder / "cpu.txt").read_text(encoding="utf-8")]
    for extra in extras:
        path = folder / f"{extra}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"the pack needs {path}, which does not exist")
        parts.append(path.read_text(encoding="utf-8"))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts).encode()


def zip_entries(pack: Pack, datasets: Sequence[str] | None = None,
                torch_index: str = TORCH_CPU_INDEX) -> list[Entry]:
    """Everything the zip holds, in its order: the two scripts first, then by name."""
    engine = ENGINE_ROOT
    needed = [engine / "grader" / "__init__.py", engine / "pyproject.toml",
              engine / "README.md", engine / "LICENSE", engine / "requirements" / "cpu.txt"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise FileNotFoundError("build-autograder needs the grader's source checkout (an "
                                f"editable install); missing: {', '.join(missing)}")
    if not (pack.tests_dir / "pack.toml").is_file():
        raise FileNotFoundError(f"{pack.tests_dir / 'pack.toml'} does not exist")
    rendered = render_templates(pack, datasets, torch_index)
    scripts = [Entry(name, rendered[name].encode(), 0o755) for name in SCRIPTS]
    files = [
        Entry(CONFIG_NAME, rendered[CONFIG_NAME].encode()),
        Entry("pyproject.toml", (engine / "pyproject.toml").read_bytes()),
        Entry("README.md", (engine / "README.md").read_bytes()),
        Entry("LICENSE", (engine / "LICENSE").read_bytes()),
        Entry("requirements.txt", _requirements(engine / "requirements", pack.extras)),
        *_tree(engine / "grader", "grader"),
        *_tree(pack.tests_dir, f"tests/{pack.name}"),
    ]
    package_marker = pack.tests_dir.parent / "__init__.py"
    if package_marker.is_file():  # pytest imports the pack's tests as tests.<pack>.test_*
        files.append(Entry("tests/__init__.py", package_marker.read_bytes()))
    if pack.reference_dir.is_dir():
        files += _tree(pack.reference_dir, f"reference/{pack.name}")
    # Scripts are never executable in the engine's folder: only the two at the root are.
    files = [Entry(e.name, e.data, 0o644) for e in files]
    entries = scripts + sorted(files, key=lambda e: e.name)
    names = [e.name for e in entries]
    if len(names) != len(set(names)):  # pragma: no cover - the layout cannot produce this
        raise ValueError("duplicate names in the autograder zip")
    return entries


def build_autograder(pack: Pack, out: Path, *, datasets: Sequence[str] | None = None,
                     torch_index: str = TORCH_CPU_INDEX) -> Path:
    """Write the Gradescope autograder zip for ``pack`` to ``out``; return ``out``.

    The same tree always gives the same bytes. The zip is written next to ``out`` first and
    then moved into place, so a failed build never leaves a half-written zip.
    """
    out = Path(out)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry in zip_entries(pack, datasets, torch_index):
            info = zipfile.ZipInfo(entry.name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip applies the mode below
            info.external_attr = (0o100000 | entry.mode) << 16
            archive.writestr(info, entry.data, compresslevel=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(out)
    return out


def describe(path: Path) -> str:
    """A listing of the zip: each file's size, then the total."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    lines = [f"{info.file_size:>9}  {(info.external_attr >> 16) & 0o777:o}  {info.filename}"
             for info in infos]
    total = sum(info.file_size for info in infos)
    size = path.stat().st_size
    lines.append(f"{len(infos)} files, {_human(total)} unpacked; {path}: {_human(size)} "
                 f"({size} bytes)")
    return "\n".join(lines)


def _human(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def cmd_build_autograder(args: argparse.Namespace) -> int:
    out = build_autograder(load_pack(args.assignment), Path(args.out))
    print(describe(out))
    print("\nUpload it as the assignment's autograder on Gradescope (Ubuntu 22.04 or 24.04).")
    return 0


def add_build_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build-autograder`` to the ``grader`` command's subparsers."""
    b = subparsers.add_parser(
        "build-autograder", help="write the Gradescope autograder zip for one assignment",
        description="Write the Gradescope autograder zip for one assignment: setup.sh, "
                    "run_autograder, the grader, the pinned requirements and the pack's tests "
                    "and reference.")
    b.add_argument("--assignment", required=True, metavar="PACK",
                   help="the assignment pack (a folder under tests/)")
    b.add_argument("--out", default="autograder.zip", help="where to write the zip "
                   "(default: autograder.zip)")
    b.set_defaults(func=cmd_build_autograder)
