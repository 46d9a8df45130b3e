"""Keras A7: each known-wrong notebook loses points on exactly what it breaks (a regularizer on
the output layer only, a parameter count without biases, a TensorFlow-only layer, a lying
layer configuration, ...), correct variants (plain `import keras`, Keras 2 module paths,
logits with `from_logits=True`, batch norm, separate activation layers) get every CPU point,
and the template gets none. GPU-only expectations (a CNN below 99 %, a sweep the grader
cannot reproduce) are checked where CUDA is.

Each file grades in a worker that imports Keras and PyTorch, so the module is ``slow``; a file
is graded once and its results serve every test below."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

from grader.packs import load_pack
from grader.results import Results, validate
from grader.runner import GradeOptions, grade

from .known import expected_failures, header, known, lost, missing_hints, ran

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    importlib.util.find_spec("keras") is None,  # every test of the pack would skip
    reason="Keras is not installed: the pack's tests skip, nothing to compare")]

PACK = load_pack("keras_a7")
WRONG = known("keras_a7", "wrong", "expect-fail")
GPU_WRONG = known("keras_a7", "wrong", "expect-fail-gpu")
CORRECT = known("keras_a7", "correct")
CPU_TAGS = {"NEURONS", "PARAMETERS", "build_weight_decay_model", "SWEEP_RESULTS", "build_cnn"}
# How a failing test's feedback names what it grades.
NAMES = {"NEURONS": ("NEURONS", "LAYERS"), "PARAMETERS": ("PARAMETERS",),
         "build_weight_decay_model": ("build_weight_decay_model",),
         "SWEEP_RESULTS": ("SWEEP_RESULTS",), "build_cnn": ("build_cnn",)}


@functools.cache
def _graded(path: Path) -> Results:
    results = grade(path, PACK, GradeOptions())
    validate(results.to_json())
    return results


def _cpu(results: Results) -> list:
    return [t for t in ran(results) if not t.extra.get("gpu")]


def _losses(results: Results) -> list[str]:
    return [f"{t.name} [{t.tags[0]}]: {t.output}" for t in _cpu(results)
            if t.score < t.max_score]


def _text(stem: str, tag: str) -> str:
    path = next(p for p in WRONG if p.stem == stem)
    return "\n".join(t.output for t in ran(_graded(path))
                     if t.tags[0] == tag and t.score < t.max_score)


def test_there_are_enough_known_submissions():
    assert len(WRONG) >= 15 and len(GPU_WRONG) >= 2 and len(CORRECT) >= 4


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_submission_is_caught_on_its_function_only(path):
    expected = expected_failures(path)
    results = _graded(path)
    assert not missing_hints(path, results), "\n".join(missing_hints(path, results))
    assert lost(results) == expected, (path.name, sorted(lost(results)), _losses(results))
    for test in ran(results):
        if test.score < test.max_score:
            assert test.output and "Traceback (most recent" not in test.output, test.name
            assert any(name in test.output for name in NAMES[test.tags[0]]), \
                (test.name, test.output)


@pytest.mark.parametrize("path", CORRECT + GPU_WRONG, ids=[p.stem for p in CORRECT + GPU_WRONG])
def test_correct_on_the_cpu_gets_every_cpu_point(path):
    assert "expect: full-marks" in header(path)
    results = _graded(path)
    assert not _losses(results), _losses(results)
    assert {t.tags[0] for t in _cpu(results)} >= CPU_TAGS, results.output


def test_reference_gets_every_cpu_point():
    results = _graded(PACK.reference_dir / "solution.py")
    assert not _losses(results) and {t.tags[0] for t in _cpu(results)} >= CPU_TAGS


def test_template_gets_zero():
    results = _graded(PACK.template_dir / "solution.py")
    assert results.score == 0, [f"{t.name}: {t.score}" for t in ran(results) if t.score]
    for test in _cpu(results):
        assert "NotImplementedError" in test.output or "not filled in" in test.output, \
            (test.name, test.output)


# --- what the messages say --------------------------------------------------------------------
def test_missing_biases_are_named_without_giving_the_answer():
    text = _text("parameters_without_biases", "PARAMETERS")
    assert "without the biases" in text, text
    assert "55,050" not in text and "138" not in text, text  # the answer stays the student's


def test_a_wrong_count_is_not_answered_for_the_student():
    text = _text("neurons_miss_a_layer", "NEURONS")
    assert "fewer layers" in text, text
    assert "[64, 64, 10]" not in text and "parameters" not in text.split("\n\n", 1)[-1], text


def test_output_only_regularizer_is_named():
    text = _text("regularizer_on_output_only", "build_weight_decay_model")
    assert "output layer only" in text and "hidden" in text, text


def test_tensorflow_only_api_is_named():
    text = _text("tensorflow_only_layer", "build_cnn")
    assert "`tf.nn` is a TensorFlow-only API" in text, text


def test_a_lying_configuration_is_caught():
    text = _text("cnn_config_lies", "build_cnn")
    assert "do not fit" in text or "does not compute your model's outputs" in text, text


def test_hard_coded_factor_is_named():
    text = _text("factor_hard_coded", "build_weight_decay_model")
    assert "0.0001" in text and "2.5e-05" in text, text


# --- on a GPU -----------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("path", GPU_WRONG, ids=[p.stem for p in GPU_WRONG])
def test_gpu_only_bug_is_caught_on_a_gpu(path):
    results = _graded(path)
    assert expected_failures(path, "expect-fail-gpu") <= lost(results), \
        (sorted(lost(results)), results.output)


@pytest.mark.gpu
def test_reference_passes_on_a_gpu():
    results = _graded(PACK.reference_dir / "solution.py")
    assert results.score == sum(t.max_score for t in results.tests), results.output
