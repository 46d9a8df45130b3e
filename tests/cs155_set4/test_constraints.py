"""The handout's constraints, checked on the rebuilt model (CPU, fast, one test each)."""

from __future__ import annotations

import pytest

from grader.testing import (
    check_hidden_layers,
    check_hidden_units,
    check_output_shape,
    check_parameters,
    check_required_layers,
)

from .common import PROBLEMS, cases, explained, not_a_stub, rebuilt, settings


@pytest.mark.parametrize("problem", cases(points=1))
def test_only_allowed_layers(student, problem):
    """the model is a Sequential (PyTorch or Keras) of the layers the problem allows"""
    rebuilt(student, problem)


@pytest.mark.parametrize("problem", cases(points=2, needs="max_hidden_units"))
def test_hidden_units(student, problem):
    """the hidden units stay within the problem's limit"""
    spec, _ = rebuilt(student, problem)
    with explained(spec):
        check_hidden_units(spec, PROBLEMS[problem]["max_hidden_units"])


@pytest.mark.parametrize("problem", cases(points=1, needs="min_hidden_layers"))
def test_hidden_layers(student, problem):
    """the model has the required number of hidden layers"""
    spec, _ = rebuilt(student, problem)
    with explained(spec):
        check_hidden_layers(spec, PROBLEMS[problem]["min_hidden_layers"])


@pytest.mark.parametrize("problem", cases(points=2, needs="max_parameters"))
def test_parameter_count(student, problem):
    """the model has fewer than 1,000,000 parameters"""
    spec, model = rebuilt(student, problem)
    with explained(spec):
        check_parameters(model, spec, PROBLEMS[problem]["max_parameters"] + 1)


@pytest.mark.parametrize("problem", cases(points=1, needs="required"))
def test_required_layers(student, problem):
    """the model has at least one Dropout and one BatchNorm2d layer"""
    spec, _ = rebuilt(student, problem)
    with explained(spec):
        check_required_layers(spec, PROBLEMS[problem]["required"])


@pytest.mark.parametrize("problem", cases(points=1))
def test_output_shape(student, problem):
    """the model maps a (N, 1, 28, 28) batch to (N, 10)"""
    spec, model = rebuilt(student, problem)
    with explained(spec):
        check_output_shape(model)


@pytest.mark.parametrize("problem", cases(points=1, tag="training"))
def test_training_settings(student, problem):
    """the training settings are within the handout's rules"""
    not_a_stub(student, problem)  # settings count only beside a model
    settings(student, problem)
