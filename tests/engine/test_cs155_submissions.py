"""CS155 Set 4: each known-wrong model or setting is caught by the right test, and correct
variants (logits or Softmax output, other optimizers, nested blocks, a Colab export) get
full marks on every test that runs here. GPU-only expectations are checked where CUDA is."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.packs import load_pack
from grader.results import Results, validate
from grader.runner import GradeOptions, grade

from .known import expected_failures, header, known, lost, missing_hints, ran

PACK = load_pack("cs155_set4")
WRONG = known("cs155_set4", "wrong", "expect-fail")
GPU_WRONG = known("cs155_set4", "wrong", "expect-fail-gpu")
CORRECT = known("cs155_set4", "correct")


def _graded(path: Path) -> Results:
    results = grade(path, PACK, GradeOptions())
    validate(results.to_json())
    return results


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_submission_is_caught_on_its_function(path):
    expected = expected_failures(path)
    results = _graded(path)
    assert not missing_hints(path, results), "\n".join(missing_hints(path, results))
    assert expected <= lost(results), (expected, lost(results), results.output)
    for test in ran(results):
        if test.score < test.max_score:
            assert test.output and "Traceback (most recent" not in test.output


CPU_CORRECT = [p for p in known("cs155_set4", "wrong") if "expect: full-marks-cpu" in header(p)]


@pytest.mark.parametrize("path", CPU_CORRECT, ids=[p.stem for p in CPU_CORRECT])
def test_gpu_only_weakness_keeps_every_cpu_point(path):
    """Models that fall short only when trained (on a GPU) are legitimate variety here."""
    results = _graded(path)
    losses = [f"{t.name}: {t.output}" for t in ran(results) if t.score < t.max_score
              and not t.extra.get("gpu")]
    assert not losses, losses


@pytest.mark.parametrize("path", CORRECT, ids=[p.stem for p in CORRECT])
def test_correct_variant_gets_full_marks(path):
    assert "expect: full-marks" in header(path)
    results = _graded(path)
    losses = [f"{t.name}: {t.output}" for t in ran(results) if t.score < t.max_score]
    assert not losses, losses


def test_messages_name_layers_and_numbers():
    results = _graded(next(p for p in WRONG if p.stem == "too_many_hidden_units_2c"))
    text = "\n".join(t.output for t in results.tests)
    assert "`Linear(784, 128)` + `Linear(128, 64)` = 192 hidden units" in text
    assert "limit 100" in text


def test_template_gets_zero():
    results = _graded(PACK.template_dir / "solution.py")
    assert results.score == 0
    for test in ran(results):  # the settings count only beside a model: they say so too
        assert "NotImplementedError" in test.output, (test.name, test.output)


@pytest.mark.gpu
@pytest.mark.parametrize("path", GPU_WRONG, ids=[p.stem for p in GPU_WRONG])
def test_model_too_weak_fails_its_threshold_on_a_gpu(path):
    results = _graded(path)
    assert expected_failures(path, "expect-fail-gpu") <= lost(results)
