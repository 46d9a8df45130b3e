"""Attack: crash the interpreter (variant @@VARIANT@@): C stack overflow through deep
recursion, a NULL read through ctypes, in a method or at import."""

import ctypes
import sys

import numpy as np

VARIANT = "@@VARIANT@@"


def _down(n):
    return _down(n + 1) + 1


def _crash():
    if VARIANT.startswith("deep_recursion"):
        sys.setrecursionlimit(10**6)
        return _down(0)
    return ctypes.string_at(0)


def double(x):
    if VARIANT.endswith("in_method"):
        _crash()
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count


class Boom:
    if VARIANT.endswith("at_import"):
        _crash()
