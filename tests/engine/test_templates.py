"""Every pack's student template folder holds what a student needs, and works as handed out:
copied elsewhere, `grader check` grades it and plain `pytest` runs the public tests there."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib

import pytest

from grader.packs import available_packs, load_pack

PACKS = available_packs()
EXTRAS = {"ece1513_a4": "jax", "keras_a7": "keras"}


@pytest.mark.parametrize("pack", PACKS)
def test_the_template_folder_is_complete(pack):
    folder = load_pack(pack).template_dir
    names = {p.name for p in folder.iterdir()}
    assert {"README.md", "grader.toml", "pytest.ini", load_pack(pack).submission_name} <= names
    assert tomllib.loads((folder / "grader.toml").read_text())["assignment"] == pack
    ini = (folder / "pytest.ini").read_text()
    assert f"--assignment={pack}" in ini and "--public-only" in ini
    readme = (folder / "README.md").read_text()
    assert "grader check" in readme
    if load_pack(pack).has_gpu_tests:  # how to see the GPU-graded numbers on a laptop
        assert "grader check --train" in readme


@pytest.mark.parametrize("pack", PACKS)
def test_grader_check_and_pytest_work_in_a_copy(pack, tmp_path):
    extra = EXTRAS.get(pack)
    if extra and importlib.util.find_spec(extra) is None:
        pytest.skip(f"{pack} needs {extra}")
    copy = tmp_path / "my-homework"
    shutil.copytree(load_pack(pack).template_dir, copy)
    check = subprocess.run([sys.executable, "-m", "grader", "check"], cwd=copy,
                           capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stderr[-2000:]
    assert "Total: 0 /" in check.stdout  # the untouched template earns nothing
    run = subprocess.run([sys.executable, "-m", "pytest"], cwd=copy, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-2000:]  # tests ran, and failed: not 5 (none)
    assert "failed" in run.stdout and "grade" in run.stdout
