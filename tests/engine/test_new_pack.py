"""`grader new-pack` starts a pack that works: its template earns nothing, its unfinished
tests fail until the author writes their inputs, and then the reference earns every point
while a wrong solution loses the function it got wrong."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from grader.cli import main
from grader.packs import load_pack
from grader.runner import GradeOptions, grade
from grader.scaffold import ScaffoldError, new_pack, stub_source

SOLUTION = '''"""A tiny assignment: two functions and a class."""

import numpy as np

SCALE = 2.0  # top-level code stays


def softmax(z):
    """Rows of z to probabilities."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def relu(x):
    return np.maximum(x, 0.0)


class Counter:
    def __init__(self, start=0):
        self.n = start

    def step(self):
        self.n += 1
        return self.n
'''


def test_the_stub_keeps_signatures_and_docstrings_and_runs_nothing():
    stub = stub_source(SOLUTION)
    tree = ast.parse(stub)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert names == ["softmax", "relu", "__init__", "step"]
    assert '"""Rows of z to probabilities."""' in stub and "SCALE = 2.0" in stub
    assert "np.exp" not in stub and "np.maximum" not in stub
    assert stub.count("raise NotImplementedError") == 4


def test_a_new_pack_grades(tmp_path, monkeypatch):
    root = tmp_path / "packs"
    solution = tmp_path / "solution.py"
    solution.write_text(SOLUTION)
    assert main(["new-pack", "tiny", "--from", str(solution), "--root", str(root)]) == 0
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(root))
    pack = load_pack("tiny")
    assert pack.frameworks == ("numpy",)
    assert {p.name for p in pack.tests_dir.iterdir()} >= {
        "pack.toml", "test_softmax.py", "test_relu.py", "test_counter.py"}

    def graded(path: Path) -> dict[str, float]:
        results = grade(path, pack, GradeOptions())
        return {t.tags[0]: t.score for t in results.tests}

    # unfinished: the author has not written inputs, so nothing passes, not even the reference
    assert set(graded(pack.reference_dir / "solution.py").values()) == {0}
    for name, inputs in (("softmax", "(rng.normal(size=(4, 5)) * 3,)"),
                         ("relu", "(rng.normal(size=(3, 6)),)")):
        test = pack.tests_dir / f"test_{name}.py"
        text = test.read_text()
        text = text.replace(f'    raise NotImplementedError("write example_inputs in tests/tiny/'
                            f'test_{name}.py")', f"    return {inputs}")
        test.write_text(text)
    (pack.tests_dir / "test_counter.py").unlink()  # the author drops what they will not grade
    assert graded(pack.reference_dir / "solution.py") == {"softmax": 1, "relu": 1}
    assert graded(pack.template_dir / "solution.py") == {"softmax": 0, "relu": 0}
    wrong = tmp_path / "wrong.py"
    wrong.write_text(SOLUTION.replace("np.maximum(x, 0.0)", "np.maximum(x, 0.01 * x)"))
    assert graded(wrong) == {"softmax": 1, "relu": 0}


def test_a_pack_is_never_overwritten_and_bad_input_is_named(tmp_path):
    solution = tmp_path / "solution.py"
    solution.write_text(SOLUTION)
    new_pack("tiny", solution, tmp_path)
    with pytest.raises(ScaffoldError, match="exists already"):
        new_pack("tiny", solution, tmp_path)
    with pytest.raises(ScaffoldError, match="lowercase"):
        new_pack("Tiny-Pack", solution, tmp_path)
    (tmp_path / "broken.py").write_text("def f(:\n")
    with pytest.raises(ScaffoldError, match="cannot read it as Python"):
        new_pack("other", tmp_path / "broken.py", tmp_path)
    shutil.rmtree(tmp_path / "tests")
