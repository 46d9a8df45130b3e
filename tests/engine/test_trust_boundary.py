"""The worker runs student code, so all it imports of the grader lives in one package,
:mod:`grader.sandboxed`, and that package imports nothing of the grader's outside itself.

A student's code can read every module the worker has imported, and patch it. So the rule
is stated by package: the closure of what the worker imports, every import at any depth (a
function's own imports too, which run when it is called), is computed from the source here
and must stay inside ``grader.sandboxed``, beside the standard library and the few libraries
student code runs on. Everything else is trusted and out of its reach: the reference, the
pack's tests, the rebuild and training of models, the checks, the plugin, the runner, the
packs. A real worker process is asked what it has imported too. The other way round, every
module of the package is one the worker runs, so a trusted module cannot hide there.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import grader
from grader.packs import WORKER_PACKAGE, available_packs, load_pack
from grader.sandboxed.server import ENGINE_CALLS

ROOT = Path(grader.__file__).resolve().parent.parent
LIBRARIES = frozenset({"numpy", "torch", "jax", "keras", "nbformat"})  # beyond the stdlib


def _entry_points() -> set[str]:
    """The worker's server, every engine call's module, and every grader module a pack has
    the worker preload or serve for an old import path."""
    modules = {f"{WORKER_PACKAGE}.server"}
    for name in available_packs():
        options = load_pack(name).load_options
        modules.update(options.get("preload", []))
        modules.update(target.split(":")[0].removesuffix(".*")
                       for target in options.get("import_aliases", {}).values()
                       if target.startswith("grader."))
    modules.update(module for module, _ in ENGINE_CALLS.values())
    return modules


def _package_modules() -> set[str]:
    """Every module of the worker's package, by its dotted name."""
    folder = ROOT.joinpath(*WORKER_PACKAGE.split("."))
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for p in folder.rglob("*.py")}


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


def _inside(module: str) -> bool:
    """In the worker's package, or ``grader`` itself: the parent that importing any module of
    the package runs first (it holds the version and imports nothing; the closure checks)."""
    return module in ("grader", WORKER_PACKAGE) or module.startswith(WORKER_PACKAGE + ".")


def test_the_worker_package_imports_nothing_of_the_grader_outside_itself():
    entries = _entry_points()
    assert {m for m in entries if not _inside(m)} == set(), "an entry point outside the package"
    reached = _closure(entries)
    crossing = {m: by for m, by in reached.items() if not _inside(m)}
    assert not crossing, f"the worker reaches trusted code (module <- imported by): {crossing}"
    assert f"{WORKER_PACKAGE}.submission.definitions" in reached  # the closure is followed


def test_every_module_of_the_worker_package_runs_in_the_worker():
    """The package's name tells the truth: a module the worker never imports (trusted-side
    code) belongs outside it."""
    unused = _package_modules() - set(_closure(_entry_points()))
    assert not unused, f"in {WORKER_PACKAGE} but never imported by the worker: {sorted(unused)}"


def test_the_worker_package_imports_only_the_stdlib_and_its_libraries():
    """Beside its own modules, the package imports the standard library and the libraries
    student code runs on: nothing else (not ``reference``, not ``tests``, not pytest)."""
    outside: dict[str, set[str]] = {}
    for module in sorted(_package_modules()):
        for node in ast.walk(ast.parse(_file(module).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names | LIBRARIES and not _inside(name):
                    outside.setdefault(module, set()).add(name)
    assert not outside, outside


def test_the_closure_would_see_a_crossing(tmp_path):
    """The check can fail: a worker-side module that imports the rebuild, inside a function
    (as a lazy import would), is caught."""
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "__init__.py").write_text(
        f"def later():\n    from {WORKER_PACKAGE}.submission import prepare\n"
        "    from grader.models.rebuild import rebuild\n", encoding="utf-8")
    reached = _closure({"probe"}, (tmp_path, ROOT))
    assert reached["grader.models.rebuild"] == "probe" and not _inside("grader.models.rebuild")
    assert _inside(f"{WORKER_PACKAGE}.submission")


def test_a_started_worker_has_imported_nothing_outside_its_package():
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
    assert f"{WORKER_PACKAGE}.server" in loaded
    assert not [m for m in loaded if not _inside(m)], loaded


@pytest.mark.parametrize("line", [
    'preload = ["grader.models.rebuild"]',
    'import_aliases = { "tensorflow" = "grader.models.rebuild" }',
    'import_aliases = { "old.*" = "grader.train.*" }',
])
def test_a_pack_cannot_have_the_worker_import_trusted_code(tmp_path, monkeypatch, line):
    (tmp_path / "tests" / "leaky").mkdir(parents=True)
    (tmp_path / "tests" / "leaky" / "pack.toml").write_text(f"[pack]\n{line}\n",
                                                            encoding="utf-8")
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(tmp_path))
    with pytest.raises(ValueError, match=WORKER_PACKAGE):
        load_pack("leaky")


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
