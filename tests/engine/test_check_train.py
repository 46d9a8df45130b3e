"""``grader check --train``: a student without a GPU sees the number the GPU run will see,
trained by the grader's own trainer on their CPU, with a progress bar and an honest label."""

from __future__ import annotations

import pytest

from grader.cli import main
from grader.packs import load_pack

CS155 = load_pack("cs155_set4")


@pytest.fixture
def real_mnist(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))  # the pytest subprocess finds it there


def test_train_runs_the_gpu_test_of_one_problem_on_the_cpu(real_mnist, capfd):
    solution = CS155.reference_dir / "solution.py"
    code = main(["check", str(solution), "--assignment", "cs155_set4", "--train", "2C"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "estimate of the GPU run" in out and "The GPU run decides" in out
    assert "2C: best test accuracy reaches 97.5%" in out and "5/5" in out
    assert "2D" not in out.split("Submission:")[1]  # only the problem asked for
    assert "Trained by the grader on cpu" in out
    assert "batch/s" in err and "test accuracy" in err  # the progress bar, on the terminal


def test_train_with_an_unknown_problem_says_so(real_mnist, capfd):
    solution = CS155.reference_dir / "solution.py"
    assert main(["check", str(solution), "--assignment", "cs155_set4", "--train", "9Z"]) == 2
    assert "no training test of cs155_set4 matches '9Z'" in capfd.readouterr().err


def test_train_on_a_pack_without_gpu_tests_points_to_slow(capfd):
    solution = load_pack("ift6135_a1").reference_dir / "solution.py"
    assert main(["check", str(solution), "--assignment", "ift6135_a1", "--train"]) == 2
    assert "--slow" in capfd.readouterr().err


def test_train_refuses_a_problem_that_is_no_name(capfd):
    solution = CS155.reference_dir / "solution.py"
    assert main(["check", str(solution), "--assignment", "cs155_set4", "--train", "2C or"]) == 2
    assert "give one problem's name" in capfd.readouterr().err
