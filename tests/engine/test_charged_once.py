"""Each bug is charged once, on its own function.

A known submission marked ``# expect-fail-only: activation`` has one bug, and only the tests
of the functions it names may lose points: its neighbours (a ``forward`` that calls the broken
``activation``, an ``update`` that differentiates a broken ``loss``, an ``evaluate`` beside a
``forward`` that returns a tuple) are judged with the reference's versions of what they call
standing in, and keep every point. Slow and GPU tests are left out (``--fast``).
"""

from __future__ import annotations

import importlib.util

import pytest

from grader.packs import available_packs, load_pack
from grader.runner import GradeOptions, grade

from .known import expected_failures, known, lost, ran

CASES = [(pack, path) for pack in available_packs()
         for path in known(pack, "wrong", "expect-fail-only")]
EXTRAS = {"ece1513_a4": "jax", "keras_a7": "keras"}


def test_every_numeric_pack_has_charged_once_cases():
    packs = {pack for pack, _ in CASES}
    assert {"ift6135_a1", "ece1513_a4"} <= packs, packs


@pytest.mark.parametrize("pack, path", CASES, ids=[f"{p}-{s.stem}" for p, s in CASES])
def test_only_the_broken_function_loses_points(pack, path):
    extra = EXTRAS.get(pack)
    if extra and importlib.util.find_spec(extra) is None:
        pytest.skip(f"{pack} needs {extra}")
    expected = expected_failures(path, "expect-fail-only")
    results = grade(path, load_pack(pack), GradeOptions(fast=True))
    charged = lost(results)
    wrongly = [f"{t.name} [{t.tags[0]}]: {t.output}" for t in ran(results)
               if t.score < t.max_score and t.tags[0] not in expected]
    assert charged == expected, f"{path.name} lost on {sorted(charged)}:\n" + "\n\n".join(wrongly)
