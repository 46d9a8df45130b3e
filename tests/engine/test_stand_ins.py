"""Stand-ins: the grader's functions called from inside the student's code, as data only.

``judge_apart`` judges a function with the reference's versions of what it calls in place of
the student's; these tests drive the mechanism directly: attributes kept in step, functions
put back afterwards, objects refused at the boundary, and a linear form whose gradient the
grader knows standing in under ``jax.grad`` and ``jit``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grader.checks.charged_once import judge_apart, plain_functions, twin_functions
from grader.feedback import GradingFailure, fail
from grader.sandboxed.limits import Limits
from grader.worker.client import SubmissionError, Worker
from grader.worker.proxy import Student

LIMITS = Limits(call_timeout_s=20, load_timeout_s=60, memory_mb=4096)

NET = '''
import numpy as np

class Net:
    def __init__(self):
        self.weights = {"W": np.ones((2, 2))}
        self.calls = 0

    def helper(self, x):
        return x * 100          # a bug: the right helper doubles

    def uses_helper(self, x):
        self.calls += 1
        return self.helper(x) + self.weights["W"].sum()

    def step(self, g):
        self.update(g)
        return self.weights["W"]

    def update(self, g):
        pass                    # a bug: the right update subtracts g

    def leak(self):
        return self.helper(object())
'''


class Twin:
    def __init__(self):
        self.weights = {"W": np.zeros((2, 2))}

    def helper(self, x):
        return x * 2

    def update(self, g):
        self.weights = {"W": self.weights["W"] - g}


@pytest.fixture
def start(tmp_path):
    workers = []

    def make(code: str) -> Student:
        path = tmp_path / "solution.py"
        path.write_text(code)
        worker = Worker(path, tmp_path, limits=LIMITS)
        workers.append(worker)
        worker.start()
        return Student(worker)

    yield make
    for worker in workers:
        worker.stop()


def test_a_stand_in_answers_from_the_grader_and_is_put_back(start):
    net = start(NET).Net()
    with net.standing_in(twin_functions(Twin(), ["helper"], sync=["weights"]), ["weights"]):
        assert net.uses_helper(3.0) == 3.0 * 2 + 4  # the grader's helper, the student's W
    assert net.uses_helper(3.0) == 3.0 * 100 + 4  # the student's own again
    assert net.calls == 2


def test_synced_attributes_are_written_back(start):
    net = start(NET).Net()
    with net.standing_in(twin_functions(Twin(), ["update"], sync=["weights"]), ["weights"]):
        np.testing.assert_array_equal(net.step(np.full((2, 2), 0.5)), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(net.weights["W"], np.full((2, 2), 0.5))


def test_objects_never_reach_the_grader(start):
    net = start(NET).Net()
    with net.standing_in(twin_functions(Twin(), ["helper"])), \
            pytest.raises(SubmissionError, match="stand-in for `helper`"):
        net.leak()


def test_an_error_in_the_graders_function_reaches_the_student_code_as_an_error(start):
    net = start(NET).Net()

    def broken(x):
        raise ValueError("no")

    with net.standing_in(plain_functions({"helper": broken})), \
            pytest.raises(SubmissionError, match="stand-in for `helper` could not take"):
        net.uses_helper(1.0)
    assert net.uses_helper(1.0) == 104  # and the worker is still in step


def test_judge_apart_charges_the_helper_not_the_caller(start):
    net = start(NET).Net()

    def check(value):
        if value != 3.0 * 2 + 4:
            fail(f"got {value}")

    note = judge_apart(net, twin_functions(Twin(), ["helper"]), lambda: net.uses_helper(3.0),
                       check, function="uses_helper")
    assert "`helper`" in note and "keeps its points" in note
    with pytest.raises(GradingFailure):  # a caller that is wrong itself still fails
        judge_apart(net, twin_functions(Twin(), ["helper"]), lambda: net.uses_helper(4.0),
                    check, function="uses_helper")


def test_judge_apart_accepts_a_caller_written_for_its_own_helpers(start):
    student = start(NET + '''
class Pair(Net):
    def helper(self, x):
        return (x * 2, "extra")      # its own interface: a tuple

    def uses_helper(self, x):
        value, _ = self.helper(x)    # unpacks it: right with its own helper
        return value + self.weights["W"].sum()
''')
    net = student.Pair()

    def check(value):
        if value != 10.0:
            fail(f"got {value}")

    note = judge_apart(net, twin_functions(Twin(), ["helper"]), lambda: net.uses_helper(3.0),
                       check, function="uses_helper")
    assert "judged with yours" in note


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_a_linear_form_stands_in_under_jax_grad_and_jit(start):
    student = start('''
import jax
import jax.numpy as jnp

learning_rate = 0.5

def loss(params, batch):
    return jnp.sum(params[0][0]) * 1000.0   # a wrong loss

@jax.jit
def update(params, batch):
    grads = jax.grad(loss)(params, batch)
    return [(w - learning_rate * dw, b - learning_rate * db)
            for (w, b), (dw, db) in zip(params, grads)]
''')
    target = student.namespace()
    params = [(np.ones((2, 3), np.float32), np.zeros(3, np.float32))]
    coefficients = [(np.full((2, 3), 2.0, np.float32), np.full(3, -4.0, np.float32))]
    before = student.update(params, None)  # traced with the student's own loss
    with target.standing_in_linear("loss", coefficients):
        w, b = student.update(params, None)[0]
    np.testing.assert_allclose(w, 1 - 0.5 * 2.0)
    np.testing.assert_allclose(b, 0 + 0.5 * 4.0)
    again = student.update(params, None)  # the student's loss is back, traced anew
    np.testing.assert_allclose(again[0][0], before[0][0])

