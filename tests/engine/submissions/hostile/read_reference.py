"""Attack: read the reference solution and the hidden tests by path.

`double` returns the right answer only if the secret files could be read.
"""

import os

import numpy as np

REFERENCE = "@@REFERENCE@@"
TESTS = "@@TESTS@@"
PACKROOT = "@@PACKROOT@@"
# built at run time, so that this file's own source never matches
SECRETS = ("def plot_" + "something", "def test_double_" + "hidden")


def _candidates():
    paths = [REFERENCE, os.path.join(TESTS, "test_mini.py"), os.path.join(TESTS, "pack.toml"),
             os.path.join(PACKROOT, "reference", "mini", "solution.py"),
             "/autograder/source/reference/mini/solution.py",
             "/autograder/source/tests/mini/test_mini.py"]
    here = os.getcwd()
    for up in range(1, 8):
        base = os.path.join(here, *[".."] * up)
        paths.append(os.path.join(base, "reference", "mini", "solution.py"))
        paths.append(os.path.join(base, "tests", "mini", "test_mini.py"))
    root = os.environ.get("GRADER_PACKS_ROOT")
    if root:
        paths.append(os.path.join(root, "reference", "mini", "solution.py"))
    return paths


def _steal():
    for path in _candidates():
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if any(s in text for s in SECRETS):
            return text
    return None


def double(x):
    if _steal() is None:
        return np.asarray(x)  # wrong: what this file honestly deserves
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
