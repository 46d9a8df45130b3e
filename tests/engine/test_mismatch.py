"""A file for another library or another assignment is told so, and only then.

The notes add to the "defines no ..." message; they never change a grade. Each has cases
that must trigger it and near misses that must not (a numpy import in a PyTorch file, a
name two assignments share).
"""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.mismatch import framework_note, other_assignment_note
from grader.packs import load_pack
from grader.sandboxed.submission import read_source
from grader.sandboxed.submission.definitions import imported_packages, prepare


@pytest.mark.parametrize(("imports", "expected", "says"), [
    (["numpy", "tensorflow"], ["torch"], "written for Keras** (it imports `tensorflow`); "
                                         "this assignment expects PyTorch"),
    (["keras"], ["torch"], "written for Keras"),
    (["torch", "torchvision"], ["keras"], "written for PyTorch"),
    (["jax", "numpy"], ["torch"], "written for JAX"),
    (["torch"], ["numpy"], "expects numpy"),
])
def test_a_file_for_another_library_is_named(imports, expected, says):
    assert says in framework_note(imports, expected)


@pytest.mark.parametrize(("imports", "expected"), [
    (["numpy", "torch"], ["numpy"]),       # numpy MLP that loads MNIST with torchvision
    (["numpy", "matplotlib"], ["jax"]),    # no deep-learning library at all: no claim
    (["torch", "tensorflow"], ["torch"]),  # uses the expected one too
    (["tensorflow"], []),                  # a pack that says nothing
    ([], ["torch"]),
])
def test_no_library_note_without_evidence(imports, expected):
    assert framework_note(imports, expected) == ""


def test_the_hand_in_of_another_assignment_is_named():
    keras_names = ["build_model", "build_weight_decay_model", "build_cnn", "NEURONS", "np"]
    note = other_assignment_note(keras_names, "cs155_set4")
    assert "another assignment" in note and load_pack("keras_a7").title in note
    assert "`build_cnn`" in note


@pytest.mark.parametrize("names", [
    ["build_model_2c", "build_model_2d", "TRAINING_2C"],  # this assignment's own names
    ["build_model_2c", "build_model"],                   # one shared-looking name is no evidence
    ["load_mnist", "one_hot", "build_model_2C"],         # two common helpers of IFT6135's
    ["build_model", "build_cnn", "NEURONS", "build_model_2c"],  # has one of its own
    ["model", "train", "np", "torch"],
    [],
])
def test_no_assignment_note_for_this_assignments_files(names):
    assert other_assignment_note(names, "cs155_set4") == ""


def test_imports_are_read_from_all_code_run_or_not():
    source = read_source_text("import numpy as np\nif False:\n    import torch.nn as nn\n"
                              "def f():\n    from tensorflow.keras import layers\n"
                              "from . import helpers\n")
    assert prepare(source).imports == ["numpy", "tensorflow", "torch"]
    assert imported_packages([]) == []


def read_source_text(text: str):
    from grader.sandboxed.submission.source import Source
    return Source(text, "solution.py")


# --- a notebook's JSON saved as .py ----------------------------------------------------------

def test_a_notebook_saved_as_py_is_read_as_the_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 2C"),
                nbformat.v4.new_code_cell("import torch\n\ndef build_model_2c():\n    return 1")]
    path = tmp_path / "solution.py"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    source = read_source(path)
    assert "def build_model_2c" in source.text and source.where(3) == "solution.py, cell 2, line 3"
    assert "is a notebook (its JSON) saved under a .py name" in source.notes[0]
    assert "Download .py" in source.notes[0]


@pytest.mark.parametrize("text", [
    '{"a": 1}\n',                                   # a dict literal: Python, not a notebook
    json.dumps({"cells": [], "metadata": {}}),      # JSON without nbformat: not a notebook
    "{\n",                                          # broken either way: read as Python
])
def test_python_that_starts_with_a_brace_stays_python(tmp_path, text):
    path = tmp_path / "solution.py"
    path.write_text(text, encoding="utf-8")
    source = read_source(path)
    assert source.text.strip() == text.strip() and not source.notes


def test_a_notebook_saved_as_py_is_graded_as_the_notebook_and_told_so(tmp_path):
    from grader.runner import GradeOptions, grade

    pack = load_pack("ift6135_a1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Problem 1"),
                nbformat.v4.new_code_cell((pack.reference_dir / "solution.py").read_text())]
    path = tmp_path / "solution.py"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    results = grade(path, pack, GradeOptions(fast=True))
    ran = [t for t in results.tests if t.status != "skipped"]
    assert ran and all(t.score == t.max_score for t in ran), results.output
    assert "is a notebook (its JSON) saved under a .py name" in results.output
