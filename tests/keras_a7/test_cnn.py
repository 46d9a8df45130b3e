"""Problem 3.1 on the CPU: `build_cnn()` is a compiled Keras model with at least one
convolutional layer that the grader can rebuild faithfully and train with the student's
`CNN_TRAINING`. Its accuracy is checked on a GPU (test_thresholds.py)."""

from __future__ import annotations

import pytest

from grader.testing import fail

from .answers import training_dict
from .common import SETTINGS, check_fidelity, check_nonlinear, probe_images, student_model

BUILDER = SETTINGS["models"]["cnn"]


@pytest.mark.graded(points=1, function=BUILDER,
                    name="3.1: a compiled model with at least one convolutional layer")
def test_cnn_is_a_convnet(student):
    """`build_cnn()` has a Conv2D layer, is compiled with a loss and optimizer the grader
    reproduces (and an output layer that loss expects), has no layer that collapses into the
    next, and `CNN_TRAINING` gives its epochs and batch size"""
    model = student_model(student, "cnn", probe=probe_images())
    if not model.spec.of_kind("Conv2D"):
        fail(f"`{BUILDER}()` has no `Conv2D` layer; 3.1 asks for at least one convolutional "
             "layer.\n\n" + model.summary())
    model.training()  # compiled, with a loss and optimizer the grader reproduces
    check_nonlinear(model)
    check_fidelity(model)
    training_dict(student, SETTINGS["cnn"]["training"], max_epochs=SETTINGS["cnn"]["max_epochs"])
