"""Nothing earns points that does not implement the function.

Every pack's untouched template, and every stub in ``submissions/<pack>/wrong/`` marked
``# expect: zero`` (constants, zeros, empty containers, objects equal to everything, models
that cannot see the image, losses that ignore the prediction, ...), must score exactly 0 on
every test that runs. A test that pays a stub is a test that cannot fail: this module is where
that is caught, for every pack at once.
"""

from __future__ import annotations

import importlib.util

import pytest

from grader.packs import available_packs, load_pack
from grader.results import validate
from grader.runner import GradeOptions, grade

from .known import known, ran

PACKS = available_packs()
STUBS = [(pack, path) for pack in PACKS for path in known(pack, "wrong", "expect")
         if "# expect: zero" in path.read_text(encoding="utf-8")[:200]]
EXTRAS = {"ece1513_a4": "jax", "keras_a7": "keras"}


def _needs(pack: str) -> None:
    extra = EXTRAS.get(pack)
    if extra and importlib.util.find_spec(extra) is None:
        pytest.skip(f"{pack} needs {extra}, which is not installed here")


def _paid(results) -> list[str]:
    return [f"{t.name} [{t.tags[0]}]: {t.score:g}/{t.max_score:g}" for t in ran(results)
            if t.score > 0]


def test_every_pack_has_at_least_three_stubs():
    counts = {pack: sum(1 for p, _ in STUBS if p == pack) for pack in PACKS}
    assert all(n >= 3 for n in counts.values()), counts


@pytest.mark.parametrize("pack, path", STUBS, ids=[f"{p}-{s.stem}" for p, s in STUBS])
def test_stub_scores_exactly_zero(pack, path):
    _needs(pack)
    results = grade(path, load_pack(pack), GradeOptions(fast=True))
    validate(results.to_json())
    assert results.score == 0, f"{path.name} was paid for:\n" + "\n".join(_paid(results))
    assert ran(results), "no test ran"


@pytest.mark.parametrize("pack", PACKS)
def test_untouched_template_scores_exactly_zero(pack):
    _needs(pack)
    spec = load_pack(pack)
    results = grade(spec.template_dir / spec.submission_name, spec, GradeOptions(fast=True))
    validate(results.to_json())
    assert results.score == 0, "the template was paid for:\n" + "\n".join(_paid(results))
