"""Problem 2.4 on the CPU: the 784-500-300-10 network, L2 weight decay on its hidden layers
that follows the `factor` argument, and a sweep of 5 factors reported as mean ± std. The
sweep itself is re-run on a GPU (test_sweep.py)."""

from __future__ import annotations

import math

import pytest

from grader.testing import GradingFailure, fail

from .answers import sweep_results
from .common import (
    SETTINGS,
    StudentModel,
    check_fidelity,
    check_nonlinear,
    probe_images,
    student_model,
)

WD = SETTINGS["weight_decay"]
BUILDER = SETTINGS["models"]["weight_decay"]
# Factors the grader builds with: inside the handout's range, unlikely to be hard-coded.
PROBE_FACTORS = (2.5e-5, 3e-4)


def _model(student, factor: float, probe: bool = False) -> StudentModel:
    model = student_model(student, "weight_decay", factor,
                          probe=probe_images() if probe else None)
    if probe:
        check_fidelity(model)
    return model


@pytest.mark.graded(points=1, function=BUILDER,
                    name="2.4: hidden layers of 500 and 300 units, 10 outputs")
def test_architecture(student):
    """`build_weight_decay_model(factor)` is 784 inputs, Dense 500, Dense 300, Dense 10, with
    an activation after each hidden layer and the output layer its loss expects"""
    model = _model(student, PROBE_FACTORS[0], probe=True)
    units = [layer.args["units"] for layer in model.spec.of_kind("Dense")]
    wanted = [*WD["hidden"], 10]
    if model.spec.of_kind("Conv2D", "MaxPooling2D", "AveragePooling2D"):
        fail(f"`{BUILDER}(...)` has convolution or pooling layers; 2.4's network is fully "
             "connected (convolutions are Problem 3).\n\n" + model.summary())
    if units != wanted:
        fail(f"`{BUILDER}(...)` has Dense layers of {units} units; 2.4 asks for hidden layers "
             f"of {WD['hidden'][0]} and {WD['hidden'][1]} units and {wanted[-1]} outputs: "
             f"{wanted}.\n\n" + model.summary())
    check_nonlinear(model)


def _l2(layer) -> tuple[float, float] | None:
    return layer.args.get("kernel_regularizer")


@pytest.mark.graded(points=1, function=BUILDER,
                    name="2.4: L2 weight decay on the hidden layers, set by `factor`")
def test_weight_decay_on_hidden_layers(student):
    """each hidden Dense layer's kernel has an L2 regularizer equal to the `factor` argument"""
    seen = {}
    for factor in PROBE_FACTORS:
        model = _model(student, factor)
        dense = model.spec.of_kind("Dense")
        hidden, output = dense[:-1], dense[-1]
        if not any(_l2(layer) for layer in hidden):
            where = (" It is on the output layer only: the handout asks for weight decay on "
                     "the hidden units." if _l2(output) else "")
            fail(f"`{BUILDER}({factor!r})`: no hidden Dense layer has a "
                 f"`kernel_regularizer`.{where} Add "
                 "`kernel_regularizer=regularizers.l2(factor)` to both hidden layers.")
        for i, layer in enumerate(hidden, 1):
            factors = _l2(layer)
            if not factors:
                fail(f"`{BUILDER}({factor!r})`: hidden Dense layer {i} ({layer.args['units']} "
                     "units) has no `kernel_regularizer`; put weight decay on every hidden "
                     "layer.")
            l1, l2 = factors
            if l1:
                fail(f"`{BUILDER}({factor!r})`: hidden layer {i} has an L1 term ({l1:g}); "
                     "weight decay is L2: `regularizers.l2(factor)`.")
            if not math.isclose(l2, factor, rel_tol=1e-6):
                same = " for every factor: use the `factor` argument" \
                    if seen and all(math.isclose(l2, v, rel_tol=1e-6) for v in seen.values()) \
                    else ""
                fail(f"`{BUILDER}({factor!r})`: hidden layer {i}'s L2 factor is {l2:g}, not "
                     f"{factor:g}{same}.")
            seen[factor] = l2


@pytest.mark.graded(points=1, function=WD["results"],
                    name="2.4: 5 factors from 1e-6 to 1e-3, mean ± std for each")
def test_sweep_is_reported(student):
    """`SWEEP_RESULTS` has 5 factors in [1e-6, 1e-3], each with a mean and std accuracy"""
    results = sweep_results(student)
    _sweeps_something(student, results)
    spread = max(results) / min(results)
    if spread < 10:
        fail(f"Your factors {', '.join(f'{f:g}' for f in results)} span less than a factor "
             "of 10; the handout asks to explore the range from 1e-6 to 1e-3.")


def _sweeps_something(student, results: dict[float, tuple[float, float]]) -> None:
    """The sweep's table counts only when it reports an experiment: beside a builder that
    builds a model, results that are not one number copied for every factor (a real sweep
    of 3 replicates never gives the same mean and spread five times)."""
    try:
        _model(student, PROBE_FACTORS[0])
    except GradingFailure as exc:
        fail(f"The sweep reports results of `{BUILDER}(factor)`, which does not build a model "
             f"the grader can read yet, so the table earns nothing: {exc.message}")
    if len(set(results.values())) == 1:
        mean, std = next(iter(results.values()))
        fail(f"`{WD['results']}` gives the same result, ({mean:g}, {std:g}), for every factor: "
             "that is not what a sweep of 3 replicates per factor measures. Report each "
             "factor's own mean and standard deviation.")

