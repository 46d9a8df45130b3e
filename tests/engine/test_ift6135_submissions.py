"""Every known-wrong submission loses points on the function it breaks; every correct
variant gets full marks. These files are the engine's proof that its tests can fail and
that legitimate variety is not punished.

Each file says what to expect in its first lines: ``# expect-fail: backward[, loss]`` or
``# expect: full-marks``. Slow and GPU tests are left out (``--fast``); they appear in the
results as not run, and are excluded from "full marks" here.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from grader.data import DatasetError, find_dataset
from grader.packs import load_pack
from grader.results import Results, validate
from grader.runner import GradeOptions, grade

from .known import SUBMISSIONS, expected_failures, header, known, lost, missing_hints, ran

HERE = SUBMISSIONS / "ift6135_a1"
WRONG = known("ift6135_a1", "wrong", "expect-fail")
SLOW_WRONG = known("ift6135_a1", "wrong", "expect-fail-slow")
CORRECT = known("ift6135_a1", "correct")
PACK = load_pack("ift6135_a1")


def _graded(path: Path) -> Results:
    results = grade(path, PACK, GradeOptions(fast=True))
    validate(results.to_json())
    return results


def test_there_are_enough_known_submissions():
    assert len(WRONG) >= 25
    assert len(CORRECT) >= 8


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_submission_is_caught_on_its_function(path):
    expected = expected_failures(path)
    results = _graded(path)
    assert not missing_hints(path, results), "\n".join(missing_hints(path, results))
    missed = expected - lost(results)
    assert not missed, (
        f"{path.name}: no test of {sorted(missed)} lost points; lost on {sorted(lost(results))}\n"
        + results.output)
    assert results.score < results.max_score
    for test in ran(results):
        if test.score < test.max_score:
            assert test.output and test.output != "Failed.", f"{test.name}: no feedback"


@pytest.mark.slow
@pytest.mark.parametrize("path", SLOW_WRONG, ids=[p.stem for p in SLOW_WRONG])
def test_wrong_submission_only_the_real_data_test_can_catch(path):
    """Bugs that small data cannot show: every fast test passes, the MNIST threshold fails."""
    try:
        find_dataset("mnist", download=False)
    except DatasetError as exc:
        pytest.skip(f"needs MNIST ({exc})")
    expected = expected_failures(path, "expect-fail-slow")
    results = grade(path, PACK, GradeOptions())
    validate(results.to_json())
    failing = {t.nodeid.split("::")[-1]: t for t in results.tests if t.score < t.max_score}
    assert list(failing) == ["test_mnist_validation_accuracy"], \
        {n: t.output for n, t in failing.items()}
    assert {t.tags[0] for t in failing.values()} == expected
    assert "below the required 97.0%" in failing["test_mnist_validation_accuracy"].output


@pytest.mark.parametrize("path", CORRECT, ids=[p.stem for p in CORRECT])
def test_correct_variant_gets_full_marks(path):
    assert "expect: full-marks" in header(path)
    results = _graded(path)
    losses = [f"{t.name} [{t.tags[0]}]: {t.output}" for t in ran(results)
              if t.score < t.max_score]
    assert not losses, f"{path.name} lost points:\n" + "\n\n".join(losses)
    assert len(ran(results)) == len(results.tests) - 1  # only the slow test left out


def test_zip_of_a_folder_submission_gets_full_marks(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "submission"), "zip",
                                  HERE / "correct" / "folder_submission")
    results = _graded(Path(archive))
    assert not lost(results), lost(results)
    assert "zip" in results.extra_data["submission"]


def test_reference_gets_full_marks():
    results = _graded(PACK.reference_dir / "solution.py")
    losses = [f"{t.name}: {t.output}" for t in ran(results) if t.score < t.max_score]
    assert not losses, losses


def test_template_gets_zero_with_a_hint_everywhere():
    results = _graded(PACK.template_dir / "solution.py")
    assert results.score == 0
    for test in ran(results):
        assert "NotImplementedError" in test.output, (test.name, test.output)


REFERENCE_TEXT = (PACK.reference_dir / "solution.py").read_text()
ALL = {"__init__", "initialize_weights", "relu", "sigmoid", "tanh", "activation", "softmax",
       "forward", "backward", "update", "loss", "train_loop", "evaluate"}
HOSTILE = {
    # name: (source, functions that must lose points, functions that must keep full marks,
    #        text the feedback must hold)
    "loops forever in evaluate": (
        REFERENCE_TEXT.replace('        X_test, y_test = self.test\n',
                               '        while True:\n            pass\n'),
        {"evaluate"}, ALL - {"evaluate"}, "did not finish within"),
    "sys.exit at import": (
        REFERENCE_TEXT + "\nclass Quit:\n    import sys\n    sys.exit(0)\n", set(), ALL, ""),
    "os._exit at import": (
        REFERENCE_TEXT + "\nclass Die:\n    import os\n    os._exit(0)\n", ALL, set(),
        "could not be loaded"),
    "50 GB in relu": (
        REFERENCE_TEXT.replace("        x = np.asarray(x)\n        if grad:\n            return (x",
                               "        x = np.asarray(x) + np.zeros(50 * 10**9 // 8)[:1]\n"
                               "        if grad:\n            return (x"),
        {"relu"}, {"sigmoid", "tanh", "softmax", "loss", "update", "initialize_weights"},
        "MemoryError"),
    "100 MB printed": (
        REFERENCE_TEXT.replace('        z = x - np.max(x, axis=-1, keepdims=True)\n',
                               '        print("x" * 100_000_000)\n'
                               '        z = x - np.max(x, axis=-1, keepdims=True)\n'),
        set(), ALL, ""),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_reference_variants_still_get_valid_results(tmp_path, name):
    source, must_lose, must_keep, words = HOSTILE[name]
    assert source != REFERENCE_TEXT
    path = tmp_path / "solution.py"
    path.write_text(source)
    results = _graded(path)
    assert len(results.tests) == len(_graded_names())
    assert must_lose <= lost(results), lost(results)
    assert not (must_keep & lost(results)), [t.output for t in ran(results)
                                              if t.tags[0] in must_keep]
    assert words in "\n".join(t.output for t in results.tests) + results.output


@functools.cache
def _graded_names() -> list[str]:
    return [t.name for t in _graded(PACK.reference_dir / "solution.py").tests]


def test_regrading_gives_the_same_grade_and_feedback():
    path = HERE / "wrong" / "backward_sum_not_mean.py"
    first, second = _graded(path), _graded(path)
    assert [(t.name, t.score, t.output) for t in first.tests] == \
        [(t.name, t.score, t.output) for t in second.tests]
