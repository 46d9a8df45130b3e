"""The audit, CI-sized, of every real pack: its tests against a small fixed sample of mutants of
its reference (``grader audit PACK --sample 4``, --fast). The reference keeps full marks, no
sampled mutant breaks the grader or runs out of time, and none survives unexplained: each is
killed, or equivalent (not loaded, not read, or the reference's own outputs on the pack's
probes), or a variant the pack's ``[audit.free]`` allows, or survives for a reason the pack
states (no test grades the edited code, or only tests --fast leaves out judge it further:
those are counted as survivors all the same). The whole audit of each pack is
``bench/audit_packs.py`` (docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util

import pytest

from grader.audit.report import render_markdown
from grader.audit.run import ERROR, KILLED, TIMED_OUT, audit_pack
from grader.packs import load_pack

SAMPLE, SEED = 4, 0
NEEDS = {"ift6135_a1": None, "cs155_set4": None, "ece1513_a4": "jax", "keras_a7": "keras"}


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_a_sample_of_the_references_mutants_is_caught(name):
    library = NEEDS[name]
    if library and importlib.util.find_spec(library) is None:
        pytest.skip(f"not run: the {name} pack grades with {library}, which is not installed")
    audit = audit_pack(load_pack(name), sample_size=SAMPLE, seed=SEED, jobs=2, fast=True)
    assert audit.baseline.full_marks, audit.baseline.lost
    assert audit.probes, f"{name} names no probes: no survivor could be told equivalent"
    assert audit.sampled == SAMPLE
    assert not [o for o in audit.outcomes if o.status in (ERROR, TIMED_OUT)], \
        [(o.mutant.id, o.status, o.message) for o in audit.outcomes]
    assert not audit.gaps, render_markdown(audit)
    assert audit.count(KILLED) >= 1
