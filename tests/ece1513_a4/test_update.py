"""Problem 1.3, `update(params, batch)`: one step of mini-batch SGD,
``w - learning_rate * dw`` and ``b - learning_rate * db``, with Problem 1's `learning_rate`.

The gradient is computed here (torch autograd in float64), never by the submission. When
the step is wrong, a finite-difference gradient of the student's own `loss` tells apart a
wrong update rule from a correct rule applied to a wrong loss (which `loss`'s and
`predict`'s tests then report).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.checks import as_array, assert_allclose
from grader.feedback import fail
from grader.worker.client import SubmissionError

from .common import batch, problem1, random_params, reference_gradient

RATE_NAMES = re.compile(r"^(lr|learning_?rate|step_?size|eta|alpha|rate)$", re.I)


def _caller(student):
    """How to call the student's update: ``update(params, batch)`` or, when the extra
    parameter is unambiguously a learning rate, ``update(params, batch, learning_rate)``."""
    p1 = problem1(student)
    try:
        signature = student.engine("describe_signature", p1.handle("update"),
                                   doing="reading the parameters of `update`")
    except SubmissionError as exc:
        fail(f"`update` could not be inspected: {exc.message}")
    required = [p for p in signature if p["kind"] == "positional" and not p["default"]]
    names = [p["name"] for p in signature]
    if len(required) == 2:
        return lambda params, data, lr: p1.update(params, data)
    if len(required) == 3 and RATE_NAMES.match(required[2]["name"]):
        return lambda params, data, lr: p1.update(params, data, lr)
    fail(f"`update({', '.join(names)})`: the notebook calls `update(params, batch)` (one "
         "batch, the learning rate from the global `learning_rate`). A third parameter is "
         "accepted when its name says it is the learning rate (`lr`, `learning_rate`, "
         "`step_size`); change the signature back.")


def _step(student, sizes, seed):
    rng = np.random.default_rng(seed)
    params = random_params(rng, sizes)
    data = batch(rng, 8, sizes[0])
    lr = float(problem1(student).learning_rate)
    new = _caller(student)(params, data, lr)
    if not isinstance(new, list | tuple) or len(new) != len(params):
        fail(f"`update` must return the new parameters as a list of {len(params)} (w, b) "
             f"pairs, like `params`; it returned {type(new).__name__}"
             + (f" of length {len(new)}" if isinstance(new, list | tuple) else "") + ".")
    taken = []
    for i, (pair, old) in enumerate(zip(new, params, strict=True)):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            fail(f"`update(...)[{i}]` must be a (w, b) pair, not {type(pair).__name__}.")
        for name, value, before in (("w", pair[0], old[0]), ("b", pair[1], old[1])):
            got = as_array(value, name=f"update(...)[{i}] {name}", shape=before.shape)
            taken.append((f"layer {i} {name}", before.astype(np.float64) - got, before))
    return params, data, lr, taken


def _own_loss_gradient(student, params, data):
    """The central-difference gradient of the student's loss, entry by entry (small nets:
    about 200 calls of `loss`)."""
    p1 = problem1(student)
    grads = []
    for i, (w, b) in enumerate(params):
        pair = []
        for j, array in enumerate((w, b)):
            g = np.zeros(array.shape)
            for index in np.ndindex(array.shape):
                values = []
                for sign in (1, -1):
                    moved = [tuple(a.copy() for a in p) for p in params]
                    moved[i][j][index] += sign * 1e-2
                    values.append(float(np.asarray(p1.loss(moved, data))))
                g[index] = (values[0] - values[1]) / 2e-2
            pair.append(g)
        grads.append(pair)
    return grads


def _check(student, sizes, seed, diagnose):
    params, data, lr, taken = _step(student, sizes, seed)
    wanted = [lr * g for pair in reference_gradient(params, data) for g in pair]
    expected = dict(zip([t[0] for t in taken], wanted, strict=True))
    mismatch = [name for (name, step, _), want in zip(taken, wanted, strict=True)
                if not np.allclose(step, want, rtol=2e-3, atol=2e-6)]
    if mismatch and diagnose:
        own = [lr * g for pair in _own_loss_gradient(student, params, data) for g in pair]
        if all(np.allclose(step, g, rtol=5e-2, atol=5e-4)
               for (_, step, _), g in zip(taken, own, strict=True)):
            return  # a correct step on a wrong loss: loss/predict lose the points
    for name, step, _ in taken:
        assert_allclose(step, expected[name], name=f"the step of {name} (before - after)",
                        rtol=2e-3, atol=2e-6,
                        context=f"one `update` with `learning_rate = {lr:g}` must move every "
                                "parameter by learning_rate * (gradient of the mean "
                                "cross-entropy); it must read the global `learning_rate` "
                                "each time, not a number written into `update`",
                        factors={"the batch size (8)": 8, "-1": -1})


@pytest.mark.graded(points=0.375, function="update")  # x2 sizes
@pytest.mark.parametrize("sizes", [[6, 5, 10], [9, 4, 3, 10]], ids=["one_hidden", "two_hidden"])
def test_update_is_one_sgd_step(student, sizes):
    """every w and b moves by -learning_rate times the gradient of the loss"""
    _check(student, sizes, seed=sum(sizes), diagnose=True)


@pytest.mark.graded(points=0.25, function="update")
def test_update_uses_learning_rate(student):
    """the step follows the global `learning_rate` when it changes"""
    p1 = problem1(student)
    original = float(p1.learning_rate)
    p1.learning_rate = original / 4 if original > 0 else 0.05
    try:  # new shapes: a jitted update is traced again and reads the new learning_rate
        _check(student, [11, 7, 10], seed=3, diagnose=True)
    finally:
        p1.learning_rate = original
