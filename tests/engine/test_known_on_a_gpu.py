"""On a CUDA GPU, every known-correct submission of every pack gets full marks with the GPU
tests on, and every GPU-only weakness is caught: the premise the CPU engine tests rest on.
Skipped, with that reason, where there is no CUDA GPU."""

from __future__ import annotations

import pytest

from grader.devices import cuda_available
from grader.packs import available_packs, load_pack
from grader.runner import GradeOptions, grade

from .known import expected_failures, known, lost, ran

pytestmark = pytest.mark.gpu
CORRECT = [(pack, path) for pack in available_packs() for path in known(pack, "correct")]
GPU_WRONG = [(pack, path) for pack in available_packs()
             for path in known(pack, "wrong", "expect-fail-gpu")]


@pytest.fixture(autouse=True)
def needs_cuda():
    if not cuda_available():
        pytest.skip("needs a CUDA GPU")


@pytest.mark.parametrize("pack, path", CORRECT, ids=[f"{p}-{s.stem}" for p, s in CORRECT])
def test_correct_submission_gets_full_marks_with_the_gpu_tests(pack, path):
    results = grade(path, load_pack(pack), GradeOptions(gpu_tests="run"))
    losses = [f"{t.name}: {t.output[:500]}" for t in ran(results) if t.score < t.max_score]
    assert not losses, losses


@pytest.mark.parametrize("pack, path", GPU_WRONG, ids=[f"{p}-{s.stem}" for p, s in GPU_WRONG])
def test_gpu_only_weakness_is_caught_on_the_gpu(pack, path):
    results = grade(path, load_pack(pack), GradeOptions(gpu_tests="run"))
    assert expected_failures(path, "expect-fail-gpu") <= lost(results)
