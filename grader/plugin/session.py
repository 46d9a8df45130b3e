"""Whether a pytest session grades, and what it runs when told only the assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.packs import load_pack, packs_root

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "grader", derandomize=True, database=None, deadline=None, print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
except ImportError:  # pragma: no cover - hypothesis is a dependency
    settings = None


def configure_session(config: pytest.Config) -> None:
    """Derandomized Hypothesis for a grading run; plain ``pytest --assignment NAME`` runs
    that pack's tests."""
    if settings is not None and grading_run(config):
        # derandomized, no example database, no health checks: only where a grade is made
        # (installing the grader must not change how other projects' tests run)
        settings.load_profile("grader")
    name = config.getoption("assignment")
    if name and only_default_args(config):
        config.args[:] = [str(load_pack(name).tests_dir)]


def grading_run(config: pytest.Config) -> bool:
    """Whether this pytest session grades: asked to (--assignment, --submission, the state
    file), run in a student's folder (a grader.toml), or on a pack's tests."""
    if any(config.getoption(o) for o in ("assignment", "submission", "grader_state")):
        return True
    here = Path(config.invocation_params.dir).resolve()
    if (here / "grader.toml").is_file():
        return True
    paths = [here / a.split("::")[0] for a in config.args] or [here]
    packs = (packs_root() / "tests").resolve()
    for path in paths:
        path = path.resolve()
        if path == packs or packs in path.parents or path in packs.parents:
            return True
        if any((folder / "pack.toml").is_file() for folder in [path, *path.parents]):
            return True
    return False


def only_default_args(config: pytest.Config) -> bool:
    """True when pytest was given no test paths (students running plain ``pytest``)."""
    return all(Path(a).resolve() == Path(config.invocation_params.dir).resolve()
               for a in config.args)
