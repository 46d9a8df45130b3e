"""Reference of the engine test pack."""

import numpy as np


def double(x):
    return 2 * np.asarray(x)


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count += by
        return self.count


def plot_something():
    import matplotlib.pyplot as plt  # noqa: F401  (not needed by the graded tests)
    return "plotted"
