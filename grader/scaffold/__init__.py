"""``grader new-pack NAME --from reference.py``: start a pack from an instructor's solution.

Writes the four parts every pack has, from ``templates/``:

- ``reference/NAME/solution.py``: the solution, as given;
- ``student_template/NAME/``: ``solution.py`` with every function and method body replaced
  by ``raise NotImplementedError(...)`` (signatures, docstrings and top-level code kept),
  and the README, ``grader.toml`` and ``pytest.ini`` a student's folder needs;
- ``tests/NAME/pack.toml`` (frameworks read from the solution's imports) and one test file
  per public function (compared with the reference on inputs the author writes) or class.

Nothing is overwritten: an existing pack of that name is refused.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from grader.mismatch import LIBRARY_OF
from grader.sandboxed.submission.definitions import imported_packages

__all__ = ["ScaffoldError", "new_pack", "stub_source"]


class ScaffoldError(ValueError):
    """The pack cannot be started (a bad name, an unreadable solution, an existing pack)."""


@dataclass(frozen=True)
class Scaffold:
    """What ``new_pack`` wrote, for the command to list."""

    files: list[Path]


def _template(template: str, **values: str) -> str:
    text = resources.files("grader.scaffold").joinpath("templates", f"{template}.tmpl").read_text(
        encoding="utf-8")
    return string.Template(text).substitute(values)


def stub_source(source: str) -> str:
    """``source`` with every function's body (methods included) replaced by a
    ``raise NotImplementedError`` naming it; a docstring stays, as the student's spec."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    outer = [f for f in functions if not any(
        g is not f and g.lineno <= f.lineno and f.end_lineno <= g.end_lineno for g in functions)]
    for function in sorted(outer, key=lambda f: f.lineno, reverse=True):
        body = function.body
        keep = 1 if (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                     and isinstance(body[0].value.value, str)) else 0
        indent = " " * body[0].col_offset
        start = body[keep].lineno - 1 if keep < len(body) else body[0].end_lineno
        if keep < len(body) and body[keep].lineno == function.lineno:
            raise ScaffoldError(f"line {function.lineno}: put the body of `{function.name}` "
                                "on its own lines")
        stub = f'{indent}raise NotImplementedError("{function.name}: write it")\n'
        lines[start:function.end_lineno] = [stub]
    return "".join(lines)


def _frameworks(tree: ast.Module) -> list[str]:
    """The frameworks the solution's imports name, as the wrong-framework note reads them."""
    return sorted({LIBRARY_OF[p] for p in imported_packages(tree.body) if p in LIBRARY_OF})


def _signature(function: ast.FunctionDef) -> str:
    return f"({ast.unparse(function.args)})"


def new_pack(name: str, solution: Path, root: Path, title: str | None = None) -> Scaffold:
    """Start pack ``name`` under ``root`` from the reference ``solution``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ScaffoldError(f"{name!r}: a pack name is lowercase letters, digits and _")
    try:
        source = Path(solution).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise ScaffoldError(f"{solution}: cannot read it as Python ({exc})") from None
    targets = {"tests": root / "tests" / name, "reference": root / "reference" / name,
               "template": root / "student_template" / name}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing:
        raise ScaffoldError(f"pack {name} exists already: {', '.join(existing)}")
    public = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)
              and not n.name.startswith("_")]
    if not public:
        raise ScaffoldError(f"{solution} defines no public function or class to grade")
    values = {"pack": name, "title": title or name.replace("_", " ").title(),
              "frameworks": ", ".join(f'"{f}"' for f in _frameworks(tree))}
    files = {
        targets["reference"] / "solution.py": source,
        targets["template"] / "solution.py": stub_source(source),
        targets["template"] / "README.md": _template("README.md", **values),
        targets["template"] / "grader.toml": _template("grader.toml", **values),
        targets["template"] / "pytest.ini": _template("pytest.ini", **values),
        targets["tests"] / "pack.toml": _template("pack.toml", **values),
        targets["tests"] / "__init__.py": "",
    }
    for node in public:
        if isinstance(node, ast.FunctionDef):
            text = _template("test_function.py", **values, name=node.name,
                             signature=_signature(node))
        else:
            methods = ", ".join(f"`{m.name}`" for m in node.body
                                if isinstance(m, ast.FunctionDef) and not m.name.startswith("__"))
            text = _template("test_class.py", **values, name=node.name,
                             methods=methods or "its methods", file=f"test_{node.name.lower()}.py")
        files[targets["tests"] / f"test_{node.name.lower()}.py"] = text
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Scaffold(sorted(files))
