"""Attack: make numpy's comparisons always succeed (as if the grader compared in here)."""

import numpy as np
import numpy.testing


def _patch():
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape,
                                                dtype=bool)
    np.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    np.testing.assert_array_equal = lambda *a, **k: None
    np.testing.assert_array_almost_equal = lambda *a, **k: None
    numpy.testing.assert_equal = lambda *a, **k: None
    return True


def double(x):
    _patch()
    return np.asarray(x)  # wrong


class Counter:
    patched_at_load = _patch()

    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
