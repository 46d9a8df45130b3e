"""Attack: disarm the grader's own checks (grader.checks, grader.feedback, the plugin)."""

import importlib
import sys
import types

import grader.checks
import grader.checks.arrays
import grader.feedback
import numpy as np


def _noop(*args, **kwargs):
    return None


def _patch():
    grader.checks.assert_allclose = _noop
    grader.checks.assert_scalar_close = _noop
    grader.checks.arrays.assert_allclose = _noop
    grader.checks.arrays.assert_scalar_close = _noop
    grader.feedback.fail = _noop
    fake = types.ModuleType("grader.checks")
    fake.assert_allclose = fake.assert_scalar_close = _noop
    sys.modules["grader.checks"] = fake
    try:
        results = importlib.import_module("grader.results")
        plugin = importlib.import_module("grader.plugin")
        report = importlib.import_module("grader.report")
        results.validate = _noop
        plugin.failure_message = lambda *a, **k: "passed"
        report.results_from_events.__code__ = _noop.__code__
    except Exception:
        pass
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
