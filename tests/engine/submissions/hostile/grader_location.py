"""Attack: find the reference and the hidden tests from the grader package's location."""

import os

import grader
import grader.packs
import numpy as np

# built at run time, so that this file's own source never matches
SECRETS = ("def plot_" + "something", "def test_double_" + "hidden")


def _steal():
    base = os.path.dirname(os.path.abspath(grader.__file__))
    paths = [
        base + "/../tests/engine/packroot/reference/mini/solution.py",
        base + "/../tests/engine/packroot/tests/mini/test_mini.py",
        base + "/../reference/mini/solution.py",  # the Gradescope layout: source/grader
        base + "/../tests/mini/test_mini.py",
    ]
    try:
        root = str(grader.packs.packs_root())
        paths += [root + "/reference/mini/solution.py", root + "/tests/mini/test_mini.py"]
        pack = grader.packs.load_pack("mini")
        paths += [str(pack.reference_dir / "solution.py"), str(pack.tests_dir / "test_mini.py")]
    except Exception:
        pass
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if any(s in text for s in SECRETS):
            return text
    try:  # look around the package, in case the layout is different
        for dirpath, dirs, files in os.walk(base + "/.."):
            dirs[:] = [d for d in dirs if not d.startswith(".")][:20]
            for name in files:
                if name in ("solution.py", "test_mini.py"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        text = f.read()
                    if any(s in text for s in SECRETS):
                        return text
    except OSError:
        pass
    return None


def double(x):
    if _steal() is None:
        return np.asarray(x)
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
