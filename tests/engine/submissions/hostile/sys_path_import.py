"""Attack: import the reference and the hidden tests through sys.path and importlib."""

import importlib
import importlib.util
import os
import sys

import grader
import numpy as np

REFERENCE = "@@REFERENCE@@"
TESTS = "@@TESTS@@"
PACKROOT = "@@PACKROOT@@"


def _steal():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    for folder in (os.path.dirname(REFERENCE), TESTS, PACKROOT, repo):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    importlib.invalidate_caches()
    try:
        spec = importlib.util.spec_from_file_location("stolen_reference", REFERENCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.double
    except Exception:
        pass
    for name in ("reference.mini.solution", "tests.engine.packroot.reference.mini.solution"):
        try:
            return importlib.import_module(name).double
        except Exception:
            pass
    try:
        tests = importlib.import_module("test_mini")
        if hasattr(tests, "test_double_hidden"):
            return lambda x: np.asarray(x, dtype=float) * 2.0
    except Exception:
        pass
    return None


def double(x):
    stolen = _steal()
    if stolen is None:
        return np.asarray(x)
    return stolen(x)


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
