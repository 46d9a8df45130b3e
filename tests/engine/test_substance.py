"""The substance gate: a property earns points only for a function that computes something.

Each bypass a stub could try (constants, zeros, empty containers, objects that compare equal to
everything, an answer that ignores its input) must be refused by ``require_substance``, and a
self-consistency check cannot be written without the evidence it returns.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.substance import Substance, assert_consistent, require_substance
from grader.feedback import GradingFailure

X1 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
X2 = np.array([[-1.0, 4.0, 0.5], [2.0, 2.0, -3.0]])


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Anything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def _probes(student):
    return [(student(x), softmax(x)) for x in (X1, X2)]


def test_a_real_function_passes_and_gets_a_token():
    token = require_substance("softmax", _probes(softmax))
    assert isinstance(token, Substance) and token.function == "softmax"


def test_a_float32_or_slightly_wrong_function_still_counts():
    require_substance("softmax", _probes(lambda x: softmax(x).astype(np.float32)))
    require_substance("softmax", _probes(lambda x: np.exp(x) / np.exp(x).sum(0)))  # wrong axis


@pytest.mark.parametrize("stub, words", [
    (lambda x: np.zeros_like(x), "only zeros"),
    (lambda x: np.full(x.shape, 1 / 3), "same number in every entry"),
    (lambda x: np.ones_like(x), "same number in every entry"),
    (lambda x: softmax(X1), "does not depend on"),
    (lambda x: 0, "shape"),
    (lambda x: [], "shape"),
    (lambda x: {}, "dict"),
    (lambda x: None, "None"),
    (lambda x: np.full(x.shape, Anything(0.0), dtype=object), "dtype object"),
    (lambda x: "softmax", "string"),
], ids=["zeros", "uniform", "ones", "ignores input", "scalar zero", "empty list",
        "empty dict", "None", "equal to everything", "string"])
def test_stubs_are_refused(stub, words):
    with pytest.raises(GradingFailure) as caught:
        require_substance("softmax", _probes(stub))
    assert words in caught.value.message
    assert "does not compute anything yet" in caught.value.message or words in ("dict", "None",
                                                                                 "dtype object",
                                                                                 "string")


def test_a_loss_that_ignores_the_prediction_is_refused():
    def loss(p, y):
        return -np.mean(np.sum(y * np.log(np.full_like(p, 0.1)), axis=1))

    def reference(p, y):
        return -np.mean(np.sum(y * np.log(p), axis=1))

    y = np.eye(3)[[0, 2]]
    with pytest.raises(GradingFailure, match="does not depend on the prediction"):
        require_substance("loss", [(loss(p, y), reference(p, y)) for p in (softmax(X1),
                                                                          softmax(X2))],
                          varies="the prediction")


def test_zero_gradients_are_refused_where_the_reference_has_some():
    reference = [np.ones((2, 3)), np.ones((1, 3))]
    with pytest.raises(GradingFailure, match="only zeros"):
        require_substance("backward", [(np.zeros_like(r), r) for r in reference])
    require_substance("backward", [(np.zeros((2, 3)), np.zeros((2, 3)))])  # both zero: fine


def test_a_substance_cannot_be_forged():
    with pytest.raises(TypeError):
        Substance("softmax", object())


def test_a_self_consistency_check_needs_the_evidence():
    with pytest.raises(TypeError, match="require_substance"):
        assert_consistent(1.0, 1.0, substance=None, name="loss", own_name="your loss",
                          scalar=True)
    token = require_substance("softmax", _probes(softmax))
    assert_consistent(softmax(X1 + 3), softmax(X1), substance=token, name="softmax(x + c)",
                      own_name="your softmax(x)")
    with pytest.raises(GradingFailure, match="does not match your softmax"):
        assert_consistent(softmax(X1) * 2, softmax(X1), substance=token, name="softmax(x + c)",
                          own_name="your softmax(x)")
