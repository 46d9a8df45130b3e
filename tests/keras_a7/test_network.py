"""Problem 2.1: the report's layer, neuron and parameter counts for the notebook's network,
checked against the model ``build_model()`` returns, rebuilt here from its layers."""

from __future__ import annotations

import pytest

from grader.testing import GradingFailure, fail

from .answers import declared, whole, whole_list
from .common import SETTINGS, check_fidelity, probe_images, student_model

ANSWERS = SETTINGS["answers"]
# A failed question says what is wrong, not the answer (the counts are what 2.1 asks for),
# unless the pack says otherwise.
REVEAL = bool(ANSWERS.get("reveal", False))


def _notebook(student, answer: str):
    """The notebook's network, tied to the student's own model; a failure names the 2.1
    answer (``answer``) that is checked against it."""
    try:
        model = student_model(student, "notebook", probe=probe_images())
        check_fidelity(model)
    except GradingFailure as exc:
        fail(f"`{answer}` is checked against the network `build_model()` returns, and the "
             f"grader could not read that network: {exc.message}")
    return model


@pytest.mark.graded(points=1, function=ANSWERS["neurons"],
                    name="2.1: the number of layers and the neurons in each")
def test_layers_and_neurons(student):
    """`LAYERS` and `NEURONS` describe the notebook's network"""
    model = _notebook(student, ANSWERS["neurons"])
    units = [layer.args["units"] for layer in model.spec.of_kind("Dense")]
    inputs = model.spec.input_shape[0] if len(model.spec.input_shape) == 1 else 784
    layers = whole(declared(student, ANSWERS["layers"], "2.1: how many layers"),
                   ANSWERS["layers"])
    neurons = whole_list(declared(student, ANSWERS["neurons"], "2.1: neurons per layer"),
                         ANSWERS["neurons"])
    accepted = (units, [inputs, *units])
    if neurons not in accepted:
        if REVEAL:
            why = (f"the network has layers of {units} neurons ({accepted[1]} counting the "
                   f"{inputs} inputs as a layer)")
        elif len(neurons) not in (len(units), len(units) + 1):
            few = len(neurons) < len(units)
            why = (f"it lists {'fewer' if few else 'more'} layers than the network has (count "
                   "every Dense layer: the hidden ones and the output one; the inputs may come "
                   "first)")
        else:
            why = ("a layer's size is not its number of neurons: the `units` of each Dense "
                   "layer, in order (the inputs, if you count them, are the pixels)")
        fail(f"`{ANSWERS['neurons']}` = {neurons} does not describe the notebook's network "
             f"(`build_model()`): {why}.\n\n" + model.summary(parameters=False))
    if layers != len(neurons):
        fail(f"`{ANSWERS['layers']}` = {layers}, but your `{ANSWERS['neurons']}` lists "
             f"{len(neurons)} layers: count the same layers in both (the "
             f"{'input, ' if len(neurons) > len(units) else ''}hidden and output layers).")


@pytest.mark.graded(points=1, function=ANSWERS["parameters"],
                    name="2.1: the total number of parameters")
def test_total_parameters(student):
    """`PARAMETERS` is the network's number of weights and biases"""
    model = _notebook(student, ANSWERS["parameters"])
    reported = whole(declared(student, ANSWERS["parameters"], "2.1: total parameters"),
                     ANSWERS["parameters"])
    total = model.spec.parameters
    if reported == total:
        return
    biases = sum(layer.args["units"] for layer in model.spec.of_kind("Dense")
                 if layer.args["use_bias"])
    hint = ""
    if reported == total - biases:
        hint = " That is the count without the biases: each neuron has one."
    elif reported in (total + 784, total + 784 * 2):
        hint = " The inputs are not parameters."
    elif reported < total:
        hint = " It is too small."
    else:
        hint = " It is too large."
    said = f", but the network has {total:,} parameters" if REVEAL else \
        " is not the network's number of parameters"
    fail(f"`{ANSWERS['parameters']}` = {reported:,}{said}.{hint} Per layer: weights "
         f"(inputs × neurons) plus one bias per neuron.\n\n"
         + model.summary(parameters=REVEAL))
