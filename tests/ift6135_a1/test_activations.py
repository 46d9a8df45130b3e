"""relu, sigmoid, tanh (values and derivatives) and the `activation` selector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing import assert_allclose

from .common import ACTIVATIONS, judged, reference_net, reference_twin, splits, student_net

matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-30, 30, allow_nan=False, width=64),
)
LARGE = np.array([[-1000.0, -710.0, -100.0, -30.0, -1e-3, 0.5],
                  [1e-3, 30.0, 100.0, 710.0, 1000.0, -0.5]])
TOL = {"rtol": 1e-5, "atol": 1e-7}


def _net(student, rng, activation="relu"):
    return student_net(student, hidden_dims=(4,), activation=activation, data=splits(rng))


def _away_from_kink(x: np.ndarray) -> np.ndarray:
    """ReLU's derivative at exactly 0 may be taken as 0 or 1: both are accepted. Tiny inputs
    are moved too: a float32 solution legitimately rounds 1e-300 to 0."""
    return np.where(np.abs(x) < 1e-3, 0.25, x)


@pytest.mark.graded(points=1, function="relu")
@settings(max_examples=30)
@given(x=matrices)
def test_relu_values(student, rng, x):
    """relu(x) = max(0, x), elementwise"""
    got = _net(student, rng).relu(x)
    assert_allclose(got, np.maximum(x, 0), name="relu(x)", **TOL)


@pytest.mark.graded(points=1, function="relu")
@settings(max_examples=30)
@given(x=matrices)
def test_relu_grad(student, rng, x):
    """relu(x, grad=True) is 0 below zero and 1 above"""
    x = _away_from_kink(x)
    got = _net(student, rng).relu(x, grad=True)
    assert_allclose(got, (x > 0).astype(float), name="relu(x, grad=True)", **TOL)


@pytest.mark.graded(points=1, function="sigmoid")
@settings(max_examples=30)
@given(x=matrices)
def test_sigmoid_values_and_grad(student, rng, x):
    """sigmoid(x) and its derivative s(1 - s) agree with the reference"""
    ref = reference_net((4,))
    net = _net(student, rng)
    assert_allclose(net.sigmoid(x), ref.sigmoid(x), name="sigmoid(x)", **TOL)
    assert_allclose(net.sigmoid(x, grad=True), ref.sigmoid(x, grad=True),
                    name="sigmoid(x, grad=True)", **TOL)


@pytest.mark.graded(points=1, function="tanh")
@settings(max_examples=30)
@given(x=matrices)
def test_tanh_values_and_grad(student, rng, x):
    """tanh(x) and its derivative 1 - tanh(x)^2 agree with the reference"""
    net = _net(student, rng)
    assert_allclose(net.tanh(x), np.tanh(x), name="tanh(x)", **TOL)
    assert_allclose(net.tanh(x, grad=True), 1 - np.tanh(x) ** 2, name="tanh(x, grad=True)",
                    **TOL)


@pytest.mark.graded(points=1, function="sigmoid", visibility="after_published")
def test_sigmoid_large_inputs(student, rng):
    """sigmoid stays finite and exact at |x| up to 1000 (no overflow)"""
    ref = reference_net((4,))
    net = _net(student, rng)
    context = "on inputs with |x| up to 1000; `np.exp(x)` overflows for x > 709"
    assert_allclose(net.sigmoid(LARGE), ref.sigmoid(LARGE), name="sigmoid(x)",
                    context=context, **TOL)
    assert_allclose(net.sigmoid(LARGE, grad=True), ref.sigmoid(LARGE, grad=True),
                    name="sigmoid(x, grad=True)", context=context, **TOL)


@pytest.mark.graded(points=1, function="tanh", visibility="after_published")
def test_tanh_large_inputs(student, rng):
    """tanh stays finite and exact at |x| up to 1000 (no overflow)"""
    net = _net(student, rng)
    context = "on inputs with |x| up to 1000; `np.exp(x)` overflows for x > 709"
    assert_allclose(net.tanh(LARGE), np.tanh(LARGE), name="tanh(x)", context=context, **TOL)
    assert_allclose(net.tanh(LARGE, grad=True), 1 - np.tanh(LARGE) ** 2,
                    name="tanh(x, grad=True)", context=context, **TOL)


@pytest.mark.graded(points=1, function="relu", visibility="after_published")
def test_relu_large_inputs(student, rng):
    """relu and its derivative at |x| up to 1000"""
    net = _net(student, rng)
    assert_allclose(net.relu(LARGE), np.maximum(LARGE, 0), name="relu(x)", **TOL)
    assert_allclose(net.relu(LARGE, grad=True), (LARGE > 0).astype(float),
                    name="relu(x, grad=True)", **TOL)


@pytest.mark.graded(points=1, function="activation")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_selects_by_name(student, rng, name, feedback):
    """activation(x) and activation(x, grad=True) use the function named by `activation`"""
    x = _away_from_kink(rng.normal(0, 3, (5, 7)))
    ref = reference_net((4,), activation=name)
    net = _net(student, rng, activation=name)
    context = f"with `NN(activation={name!r})`"

    def check(result):
        values, grads = result
        assert_allclose(values, ref.activation(x), name="activation(x)", context=context,
                        **TOL)
        assert_allclose(grads, ref.activation(x, grad=True), name="activation(x, grad=True)",
                        context=context, **TOL)

    # relu, sigmoid and tanh have their own tests: activation is judged on its dispatch
    judged(net, reference_twin(hidden_dims=(4,), activation=name), ("relu", "sigmoid", "tanh"),
           lambda: (net.activation(x), net.activation(x, grad=True)), check,
           function="activation", feedback=feedback)
