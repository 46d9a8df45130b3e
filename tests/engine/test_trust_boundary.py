"""The worker runs student code: nothing it imports may be trusted code (the reference, the
pack's tests, the rebuild and training of models, the checks, the runner, the packs).

A student's code can read every module the worker has imported, and patch it. So the
closure of what the worker imports, every import at any depth (a function's own imports
too, which run when it is called), is computed from the source here and must stay on the
worker's side of the line; and a real worker process is asked what it has imported.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import grader
from grader.packs import available_packs, load_pack
from grader.worker.server import ENGINE_CALLS

ROOT = Path(grader.__file__).resolve().parent.parent
TRUSTED = ("grader.models.rebuild", "grader.models.constraints", "grader.models.stax",
           "grader.models.keras_rebuild", "grader.models.keras_as_torch", "grader.train",
           "grader.checks", "grader.plugin", "grader.runner", "grader.packs", "grader.batch",
           "grader.autograder", "grader.cli", "grader.report", "grader.results",
           "grader.canary", "grader.selftest", "grader.data", "grader.audit",
           "grader.scaffold", "grader.testing", "grader.ranges", "reference", "tests")


def _entry_points() -> set[str]:
    """The worker's server, every module a pack preloads and every engine call's module."""
    modules = {"grader.worker.server"}
    for name in available_packs():
        modules.update(load_pack(name).load_options.get("preload", []))
    modules.update(module for module, _ in ENGINE_CALLS.values())
    return modules


def _file(module: str, roots: tuple[Path, ...] = (ROOT,)) -> Path | None:
    for root in roots:
        base = root.joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
    return None


def _named(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """The dotted names an import statement in ``package`` may bind (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        prefix = ".".join(parts[:len(parts) - node.level + 1])
        base = f"{prefix}.{base}" if base else prefix
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _imports(module: str, roots: tuple[Path, ...] = (ROOT,)) -> set[str]:
    """Every project module ``module`` imports anywhere in its source (and their packages)."""
    path = _file(module, roots)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            named.update(_named(node, package))
    found = set()
    for name in named:
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                     if _file(".".join(parts[:i]), roots) is not None)
    return found


def _closure(start: set[str], roots: tuple[Path, ...] = (ROOT,)) -> dict[str, str]:
    """Each reachable project module -> the module that first imports it."""
    reached: dict[str, str] = {m: "(entry)" for m in start}
    stack = list(start)
    while stack:
        module = stack.pop()
        for name in _imports(module, roots):
            if name not in reached:
                reached[name] = module
                stack.append(name)
    return reached


def _is_trusted(module: str) -> bool:
    return any(module == t or module.startswith(t + ".") for t in TRUSTED)


def test_the_worker_imports_no_trusted_code_at_any_depth():
    reached = _closure(_entry_points())
    crossing = {m: by for m, by in reached.items() if _is_trusted(m)}
    assert not crossing, f"the worker reaches trusted code (module <- imported by): {crossing}"
    assert "grader.submission.definitions" in reached  # the closure is really followed


def test_the_closure_would_see_a_crossing(tmp_path):
    """The check can fail: a worker-side module that imports the rebuild, inside a function
    (as a lazy import would), is caught."""
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "__init__.py").write_text(
        "def later():\n    from grader.submission import prepare\n"
        "    from grader.models.rebuild import rebuild\n", encoding="utf-8")
    reached = _closure({"probe"}, (tmp_path, ROOT))
    assert reached["grader.models.rebuild"] == "probe" and _is_trusted("grader.models.rebuild")


def test_a_started_worker_has_imported_no_trusted_module():
    """The same line, measured: what a process holds after importing the worker's side."""
    entries = sorted(_entry_points())
    code = ("import importlib, json, sys\n"
            f"for name in {entries!r}:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ImportError as exc:  # an optional library (Keras) not installed here\n"
            "        if (exc.name or '').startswith('grader'):\n"
            "            raise\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('grader', 'reference', 'tests'))))\n")
    env = {**os.environ, "KERAS_BACKEND": "torch"}  # as the worker runs Keras
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=180, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert "grader.worker.server" in loaded
    assert not [m for m in loaded if _is_trusted(m)], loaded


def _module_imports(module: str) -> set[str]:
    """The project modules ``module`` imports, anywhere in it (a function's own imports and
    ``if TYPE_CHECKING:`` blocks included); its own parent packages are not counted."""
    path = _file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_named(node, package))
    return {m for m in found if _file(m) is not None and m != module
            and not module.startswith(m + ".")}


def test_no_import_circles_between_engine_modules():
    """Each engine module can be read, and imported, on its own: no two modules import
    each other, however long the circle, lazily or not."""
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(
        ".__init__") for p in (ROOT / "grader").rglob("*.py"))
    graph = {m: _module_imports(m) for m in modules}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(graph.get(module, ())):
            if state.get(name) == 1:
                circles.append(path[path.index(name):] + [name])
            elif name not in state:
                walk(name, [*path, name])
        state[module] = 2

    for module in modules:
        if module not in state:
            walk(module, [module])
    assert not circles, circles
