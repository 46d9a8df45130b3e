"""Assignment packs: where a pack's tests, reference and template are, and its settings.

A pack is ``tests/<name>/`` (grading tests and ``pack.toml``), ``reference/<name>/`` and
``student_template/<name>/``. The engine knows nothing else about an assignment.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.sandboxed.limits import Limits


class PackNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    tests_dir: Path
    reference_dir: Path
    template_dir: Path
    submission_name: str = "solution.py"
    load_mode: str = "definitions"
    overall_timeout_s: float = 540.0
    test_timeout_s: float = 300.0
    limits: Limits = field(default_factory=Limits)
    settings: dict[str, Any] = field(default_factory=dict)
    # marks of the tests graded later, in the staff's batch, not at submission time
    later_marks: tuple[str, ...] = ("gpu",)
    # how the worker loads the hand-in: call_modules, import_aliases, sections
    load_options: dict[str, Any] = field(default_factory=dict)
    # requirements/<name>.txt files the grading environment needs beyond cpu.txt
    extras: tuple[str, ...] = ()
    # what a hand-in is written with (numpy, torch, jax, keras): a file for another one is
    # told so (grader.mismatch)
    frameworks: tuple[str, ...] = ()
    # ``grader audit``: the file (in tests_dir) of probes that tell equivalent mutants
    audit_probes: str | None = None
    # ``grader audit``: names whose design the handout leaves to the student and judges by
    # outcome only (a network's widths, a learning rate), each with the handout's words
    audit_free: dict[str, str] = field(default_factory=dict)

    @property
    def has_gpu_tests(self) -> bool:
        """Whether some test of the pack is marked ``gpu`` (read from its test files)."""
        return any("mark.gpu" in path.read_text(encoding="utf-8", errors="replace")
                   for path in self.tests_dir.rglob("*.py"))


def packs_root() -> Path:
    """The folder holding ``tests/``, ``reference/`` and ``student_template/``."""
    env = os.environ.get("GRADER_PACKS_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[1]


def available_packs() -> list[str]:
    tests = packs_root() / "tests"
    return sorted(p.parent.name for p in tests.glob("*/pack.toml"))


def load_pack(name: str) -> Pack:
    root = packs_root()
    config_path = root / "tests" / name / "pack.toml"
    if not config_path.is_file():
        known = ", ".join(available_packs()) or "none"
        raise PackNotFound(f"no assignment pack named {name!r} under {root} (known: {known})")
    with open(config_path, "rb") as f:
        raw = tomllib.load(f)
    meta = raw.get("pack", {})
    limits = raw.get("limits", {})
    worker_limits = {k: v for k, v in limits.items() if k in Limits.__dataclass_fields__}
    unknown = set(limits) - set(worker_limits) - {"overall_timeout_s", "test_timeout_s"}
    if unknown:
        raise ValueError(f"{config_path}: unknown [limits] keys {sorted(unknown)}")
    return Pack(
        name=name,
        title=meta.get("title", name),
        tests_dir=config_path.parent,
        reference_dir=root / "reference" / name,
        template_dir=root / "student_template" / name,
        submission_name=meta.get("submission", "solution.py"),
        load_mode=meta.get("load", "definitions"),
        overall_timeout_s=float(limits.get("overall_timeout_s", 540)),
        test_timeout_s=float(limits.get("test_timeout_s", 300)),
        limits=Limits(**worker_limits),
        settings=raw.get("settings", {}),
        load_options=_load_options(meta, config_path),
        extras=tuple(_string_list(meta.get("extras", []), f"{config_path}: [pack] extras",
                                  what="requirement files")),
        later_marks=("gpu", *_string_list(raw.get("gradescope", {}).get("defer", []),
                                          f"{config_path}: [gradescope] defer")),
        frameworks=_frameworks(meta.get("frameworks", []), config_path),
        audit_probes=_audit_probes(raw.get("audit", {}), config_path),
        audit_free=_audit_free(raw.get("audit", {}), config_path),
    )


def _audit_probes(audit: Any, where: Path) -> str | None:
    if not isinstance(audit, dict) or set(audit) - {"probes", "free"}:
        raise ValueError(f"{where}: [audit] takes only `probes = \"<file>.py\"` and a "
                         "`[audit.free]` table of `NAME = \"why\"`")
    probes = audit.get("probes")
    if probes is not None and not (isinstance(probes, str) and probes.endswith(".py")):
        raise ValueError(f"{where}: [audit] probes must name a .py file, got {probes!r}")
    return probes


def _audit_free(audit: dict, where: Path) -> dict[str, str]:
    free = audit.get("free", {})
    if not isinstance(free, dict) or not all(
            isinstance(k, str) and 1 <= len(k.split(".")) <= 2
            and all(part.isidentifier() for part in k.split("."))
            and isinstance(v, str) and v.strip() for k, v in free.items()):
        raise ValueError(f"{where}: [audit] free must map top-level names of the reference "
                         "(or \"SECTION.NAME\", quoted) to why the handout leaves them to the "
                         "student, e.g. `[audit.free]` then `build_cnn = \"3.1: any "
                         "convolutional model that reaches 99 %\"`")
    return dict(free)


FRAMEWORKS = ("numpy", "torch", "jax", "keras")


def _frameworks(value: Any, where: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not set(value) <= set(FRAMEWORKS):
        raise ValueError(f"{where}: [pack] frameworks must be a list of {list(FRAMEWORKS)}")
    return tuple(value)


def _string_list(value: Any, where: str, what: str = "test marks") -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a list of {what}, e.g. [\"slow\"]")
    return [v for v in value if v != "gpu"]


_LOAD_KEYS = ("call_modules", "import_aliases", "sections", "preload", "notebook")
WORKER_PACKAGE = "grader.sandboxed"  # all the worker may import of the grader (a pack too)


def _is_grader_outside_worker(module: str) -> bool:
    top = module.removesuffix(".*")
    return (top == "grader" or top.startswith("grader.")) and not (
        top == WORKER_PACKAGE or top.startswith(WORKER_PACKAGE + "."))


def _load_options(meta: dict[str, Any], where: Path) -> dict[str, Any]:
    """The ``[pack]`` keys that change how the worker loads a hand-in, checked here so a
    typo fails when the pack loads, not inside a worker.

    - ``call_modules``: modules whose functions a kept top-level assignment may call
      (``init_fun, predict = stax.serial(...)``), beyond the engine's pure-module list;
    - ``import_aliases``: old module paths served by current modules (see
      ``grader.sandboxed.aliases``);
    - ``sections``: where each part of a multi-problem notebook starts (see
      ``grader.sandboxed.submission.sections``);
    - ``preload``: engine modules the worker imports before the hand-in (e.g.
      ``grader.sandboxed.keras_compat``, which accepts Keras 2 spellings): modules of the
      worker's own package only, like any ``grader.`` module an alias serves;
    - ``notebook``: problems a course notebook may hand in as top-level models under
      their headings (see ``grader.sandboxed.submission.notebook_problems``).
    """
    from grader.sandboxed.submission.notebook_problems import parse_notebook_rules
    from grader.sandboxed.submission.sections import parse_rules

    options = {key: meta[key] for key in _LOAD_KEYS if key in meta}
    modules = options.get("call_modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ValueError(f"{where}: [pack] call_modules must be a list of module names")
    preload = options.get("preload", [])
    if not isinstance(preload, list) or not all(
            isinstance(m, str) and m.startswith(WORKER_PACKAGE + ".") for m in preload):
        raise ValueError(f"{where}: [pack] preload must be a list of {WORKER_PACKAGE}'s "
                         "modules (the worker imports nothing else of the grader's)")
    renames = options.get("import_aliases", {})
    if not isinstance(renames, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in renames.items()):
        raise ValueError(f"{where}: [pack] import_aliases must map module names to modules")
    trusted = [v for v in renames.values() if _is_grader_outside_worker(v.split(":")[0])]
    if trusted:
        raise ValueError(f"{where}: [pack] import_aliases may serve the grader's modules only "
                         f"from {WORKER_PACKAGE}, not {trusted}")
    try:
        parse_rules(options.get("sections"))
        parse_notebook_rules(options.get("notebook"))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return options
