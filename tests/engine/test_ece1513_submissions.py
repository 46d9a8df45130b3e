"""ECE1513 A4: each known-wrong notebook loses points on the function it breaks, correct
variants (JAX 0.2 imports, a learning-rate argument, no markdown cells, other formulas, Adam
with a schedule, a Colab notebook) get full marks on every test that runs here, and the seed
student's notebook is graded as its code deserves. GPU-only expectations are checked where
CUDA is.

Each file grades in a worker that imports JAX, so the module is ``slow``; a file is graded
once and its results serve every test below (``_graded`` is cached).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from grader.packs import load_pack
from grader.results import Results, validate
from grader.results import TestResult as GradedTest
from grader.runner import GradeOptions, grade

from .known import SUBMISSIONS, expected_failures, header, known, lost, missing_hints, ran

pytest.importorskip("jax")  # without it every test of the pack skips: nothing to compare
pytestmark = pytest.mark.slow

PACK = load_pack("ece1513_a4")
WRONG = known("ece1513_a4", "wrong", "expect-fail")
GPU_WRONG = known("ece1513_a4", "wrong", "expect-fail-gpu")
CORRECT = known("ece1513_a4", "correct")
SEED_STUDENT = SUBMISSIONS / "ece1513_a4" / "real" / "seed_student.py"
CPU_TAGS = {"predict", "loss", "update", "accuracy", "stax.serial", "loss (Problem 2)"}
# How a failing test's feedback names what it grades.
NAMES = {
    "predict": ("predict",), "loss": ("loss",), "update": ("update",),
    "accuracy": ("accuracy", "predict"), "stax.serial": ("stax", "convnet", "model"),
    "loss (Problem 2)": ("loss", "stax", "convnet"),
}


@functools.cache
def _graded(path: Path) -> Results:
    results = grade(path, PACK, GradeOptions())
    validate(results.to_json())
    return results


def _by_stem(paths: list[Path], stem: str) -> Path:
    return next(p for p in paths if p.stem == stem)


def _cpu(results: Results) -> list[GradedTest]:
    """The tests that ran and are not GPU tests (those run only where CUDA is)."""
    return [t for t in ran(results) if not t.extra.get("gpu")]


def _losses(results: Results) -> list[str]:
    return [f"{t.name} [{t.tags[0]}]: {t.output}" for t in _cpu(results)
            if t.score < t.max_score]


def _text(results: Results, tag: str) -> str:
    return "\n".join(t.output for t in ran(results) if t.tags[0] == tag and t.score < t.max_score)


def test_there_are_enough_known_submissions():
    assert len(WRONG) >= 17
    assert len(GPU_WRONG) >= 3
    assert len(CORRECT) >= 8
    assert any(p.suffix == ".ipynb" for p in CORRECT)


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_submission_is_caught_on_its_function(path):
    expected = expected_failures(path)
    results = _graded(path)
    assert not missing_hints(path, results), "\n".join(missing_hints(path, results))
    missed = expected - lost(results)
    assert not missed, (f"{path.name}: no test of {sorted(missed)} lost points; lost on "
                        f"{sorted(lost(results))}\n" + "\n".join(_losses(results)))
    for test in ran(results):
        if test.score < test.max_score:
            assert test.output and "Traceback (most recent" not in test.output, test.name
            assert any(name in test.output for name in NAMES[test.tags[0]]), \
                (test.name, test.output)


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_submission_loses_only_its_own_functions(path):
    """A bug in one function costs no points elsewhere (``update`` in particular is not
    penalized for a wrong ``loss`` or ``predict``; Problem 2's bugs stay in Problem 2)."""
    results = _graded(path)
    extra = lost(results) - expected_failures(path)
    assert not extra, (path.name, sorted(extra), _losses(results))


@pytest.mark.parametrize("path", CORRECT, ids=[p.stem for p in CORRECT])
def test_correct_variant_gets_full_marks(path):
    assert "expect: full-marks" in header(path)
    results = _graded(path)
    assert not _losses(results), _losses(results)
    assert {t.tags[0] for t in _cpu(results)} >= CPU_TAGS, \
        "some CPU tests did not run:\n" + results.output


@pytest.mark.parametrize("path", GPU_WRONG, ids=[p.stem for p in GPU_WRONG])
def test_gpu_only_bug_gets_full_marks_on_cpu(path):
    """Only the GPU tests can tell: every CPU test passes."""
    assert "expect: full-marks-cpu" in header(path)
    results = _graded(path)
    assert not _losses(results), _losses(results)
    assert {t.tags[0] for t in _cpu(results)} >= CPU_TAGS


def test_seed_student_gets_full_marks_on_cpu():
    """The seed report's notebook: its Problem 1 functions (a `print(ce)` in `loss`
    included), its `jax.experimental` imports and its convnet (no LogSoftmax, `stax.logsoftmax`
    in the loss) are right; only training can show what it misses."""
    results = _graded(SEED_STUDENT)
    assert not _losses(results), _losses(results)
    assert {t.tags[0] for t in _cpu(results)} >= CPU_TAGS, results.output


def test_template_gets_zero_with_the_hint():
    results = _graded(PACK.template_dir / "solution.py")
    assert results.score == 0, [f"{t.name}: {t.score}" for t in ran(results) if t.score]
    for test in _cpu(results):
        if test.tags[0] == "stax.serial":
            continue  # the template's Dense-only model is valid stax: it has no Conv
        assert test.score == 0, test.name
        assert "NotImplementedError" in test.output, (test.name, test.output)
    conv = [t for t in _cpu(results) if t.nodeid.endswith("conv_maxpool_pairs_with_relu")]
    assert len(conv) == 1 and conv[0].score == 0 and "no `stax.Conv`" in conv[0].output
    for test in ran(results):
        if test.extra.get("gpu") and test.tags[0] not in ("BASELINE", "stax.serial"):
            assert test.score == 0 and "not declared" in test.output, (test.name, test.output)


# --- what the messages say --------------------------------------------------------------------
def test_sign_error_message_says_the_sign_is_flipped():
    text = _text(_graded(_by_stem(WRONG, "update_sign_error")), "update")
    assert "sign" in text.lower() or "-1" in text, text


def test_hardcoded_learning_rate_message_shows_the_changed_rate():
    text = _text(_graded(_by_stem(WRONG, "update_hardcoded_lr")), "update")
    assert "learning_rate = 0.025" in text and "whatever rate it is given" in text, text
    assert "constant factor" not in text, text  # the factor 4 is the rate's doing, not a bug


def test_ambiguous_signature_message_shows_the_signature():
    text = _text(_graded(_by_stem(WRONG, "update_ambiguous_signature")), "update")
    assert "`update(params, x, y)`" in text and "learning_rate" in text, text


def test_overflow_message_points_at_logsumexp():
    results = _graded(_by_stem(WRONG, "predict_naive_log_softmax"))
    (failing,) = [t for t in _cpu(results) if t.score < t.max_score]
    assert failing.nodeid.endswith("test_predict_is_stable_for_large_logits")
    assert "logsumexp" in failing.output, failing.output


def test_100_outputs_message_asks_for_10_scores():
    text = _text(_graded(_by_stem(WRONG, "convnet_100_outputs")), "stax.serial")
    assert "10 scores" in text and "(100,)" in text, text


def test_no_conv_message_lists_the_layers():
    text = _text(_graded(_by_stem(WRONG, "convnet_no_conv")), "stax.serial")
    assert "no `stax.Conv`" in text and "`Flatten`, `Dense`, `Tanh`" in text, text


def test_missing_logsoftmax_message_suggests_stax_logsoftmax():
    text = _text(_graded(_by_stem(WRONG, "convnet_loss_without_logsoftmax")), "loss (Problem 2)")
    assert "stax.logsoftmax" in text, text


def test_custom_layer_message_names_the_layer():
    text = _text(_graded(_by_stem(WRONG, "convnet_custom_layer_pair")), "stax.serial")
    assert "scaled_relu_apply" in text and "not a layer the grader can rebuild" in text, text


def test_custom_layer_factory_message_names_the_layer():
    text = _text(_graded(_by_stem(WRONG, "convnet_custom_layer")), "stax.serial")
    assert "ScaledRelu" in text, text


# --- on a GPU -----------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("path", GPU_WRONG, ids=[p.stem for p in GPU_WRONG])
def test_gpu_only_bug_is_caught_on_a_gpu(path):
    results = _graded(path)
    assert expected_failures(path, "expect-fail-gpu") <= lost(results), \
        (sorted(lost(results)), results.output)


@pytest.mark.gpu
def test_seed_student_misses_99_percent_and_is_told_about_create_outliers():
    results = _graded(SEED_STUDENT)
    (threshold,) = [t for t in ran(results)
                    if t.nodeid.endswith("test_convnet_reaches_99_percent")]
    assert threshold.score == 0, threshold.output
    assert "create_outliers" in threshold.output, threshold.output
    expected = expected_failures(SEED_STUDENT, "expect-fail-gpu")
    assert lost(results) == expected, (sorted(lost(results)), results.output)
