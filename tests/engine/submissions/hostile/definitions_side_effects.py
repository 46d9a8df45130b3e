"""Attack: run I/O during "definitions only" loading: in a decorator, a default argument, a
class body, and a kept-looking numpy call. All of it tries to write into a canary folder
outside the submission and to read the reference; the graded functions are correct."""

import os

import numpy as np

CANARY = "@@CANARY@@"
REFERENCE = "@@REFERENCE@@"
MARKER = "@@MARKER@@"


def _touch(tag):
    try:
        with open(REFERENCE) as f:
            stolen = f.read()
    except OSError:
        stolen = ""
    try:
        with open(os.path.join(CANARY, f"{tag}-{MARKER}"), "w") as f:
            f.write(MARKER + stolen)
    except OSError:
        pass
    return tag


def _decorate(function):
    _touch("decorator")
    return function


@_decorate
def double(x, _where=_touch("default-argument")):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    touched = _touch("class-body")

    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count


saved = np.savetxt(os.path.join(CANARY, "savetxt-" + MARKER), np.zeros(1))
loaded = np.fromfile(REFERENCE, dtype=np.uint8)
