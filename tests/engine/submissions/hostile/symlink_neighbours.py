"""Attack: read the reference and the tests through symlinks handed in next to this file
(in a zip or a folder). `double` is right only if a secret came through."""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ("ref.py", "tests_link/test_mini.py", "passwd", "reference_dir/solution.py")
# built at run time, so that this file's own source never matches
SECRETS = ("plot_" + "something", "test_double_" + "hidden")


def _steal():
    for name in NAMES:
        try:
            with open(os.path.join(HERE, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if any(s in text for s in SECRETS):
            return text
    try:
        from ref import double as stolen  # a symlinked module next to this file

        return stolen
    except Exception:
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
