"""Attack: make builtins lie (abs is 0, isinstance always agrees, all/any are True)."""

import builtins

import numpy as np

_real_isinstance = builtins.isinstance


def _patch():
    builtins.abs = lambda value: 0
    builtins.isinstance = lambda obj, kind: True
    builtins.all = lambda *a: True
    builtins.any = lambda *a: True
    builtins.round = lambda *a, **k: 0


def double(x):
    _patch()
    return np.asarray(x)  # wrong


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
