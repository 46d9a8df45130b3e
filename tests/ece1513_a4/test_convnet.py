"""Problem 2.1: a `stax.serial` convnet in which conv+maxpool pairs with ReLU replace some of
the Dense layers, and its cross-entropy loss. Checked on the model rebuilt from its layer
list (CPU, fast); Problem 2.2's accuracy is in test_thresholds.py."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import SubmissionError, as_array, assert_allclose, assert_scalar_close, fail

from .common import problem2
from .convnet import stax_model

NONLINEAR = {"Relu", "Tanh", "Sigmoid", "Elu", "LeakyRelu", "Softplus", "Gelu", "Selu"}


def _layers(spec):
    return ", ".join(f"`{layer['type']}`" for layer in spec)


def _sequence(spec):
    """The layers in order with each `stax.parallel`'s branches inlined, first branch first:
    a residual or inception block's convolutions and pools count where they run."""
    from grader.testing import layer_sequence

    return layer_sequence(spec)


@pytest.mark.graded(points=0, function="stax.serial")
def test_convnet_is_a_stax_model(student):
    """Problem 2's `predict` is a `stax.serial` of supported layers ending in 10 outputs
    (no points by itself: the notebook gives a stax model; the next test grades the work)"""
    stax_model(student)


@pytest.mark.graded(points=1.5, function="stax.serial")
def test_convnet_has_conv_maxpool_pairs_with_relu(student):
    """at least one `Conv` followed by `Relu` and a `MaxPool`, before the Dense layers"""
    spec = _sequence(stax_model(student)[0])
    types = [layer["type"] for layer in spec]
    if "Conv" not in types:
        fail(f"Your Problem 2 model has no `stax.Conv` layer: {_layers(spec)}. Replace some "
             "of the Dense layers by `stax.Conv(...), stax.Relu, stax.MaxPool(...)`.")
    pairs = 0
    for i, kind in enumerate(types):
        if kind != "Conv":
            continue
        after = types[i + 1:]
        stop = next((j for j, t in enumerate(after) if t in ("Conv", "Dense", "Flatten")),
                    len(after))
        block = after[:stop]
        if not NONLINEAR & set(block):
            fail(f"The `Conv` at position {i} (0-based) of your model is not followed by a "
                 f"non-linearity before the next `Conv`/`Flatten`/`Dense`: {_layers(spec)}. "
                 "Add `stax.Relu` after it.")
        pairs += "MaxPool" in block
    if not pairs:
        fail(f"No `Conv` of your model is followed by a `stax.MaxPool`: {_layers(spec)}. "
             "The problem asks for conv+maxpool pairs.")
    if "Dense" not in types[types.index("Conv"):]:
        fail(f"Your model has no `stax.Dense` after its convolutions: {_layers(spec)}.")


def _params_and_batch(student, seed):
    p2 = problem2(student)
    if not p2.has("init_random_params"):
        fail("Problem 2 defines no `init_random_params` (from `stax.serial(...)`).")
    rng = np.random.default_rng(seed)
    key = np.array([0, seed], dtype=np.uint32)  # a raw PRNG key, as random.PRNGKey makes
    try:
        _, params = p2.init_random_params(key, (-1, 28, 28, 1))
    except SubmissionError as exc:
        fail(f"`init_random_params(key, (-1, 28, 28, 1))` of Problem 2 failed: {exc.message}")
    x = rng.random((6, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6)]
    return p2, params, x, y


def _rebuilt_outputs(spec, params, x):
    import torch

    from grader.testing import load_stax_params, rebuild_stax

    model = rebuild_stax(spec, (28, 28, 1), seed=0)
    load_stax_params(model, params)
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x).permute(0, 3, 1, 2)).double()


@pytest.mark.graded(points=0.5, function="loss (Problem 2)")
def test_convnet_loss_is_cross_entropy(student):
    """Problem 2's `loss` is the mean cross-entropy of the model's log-softmax output"""
    import torch

    spec, _ = stax_model(student)
    p2, params, x, y = _params_and_batch(student, seed=4)
    mine = _rebuilt_outputs(spec, params, x)
    theirs = as_array(p2.predict(params, x), name="predict(params, images)", shape=(6, 10))
    # The grader trains the model it rebuilt: it must be the student's model exactly.
    assert_allclose(theirs, mine.numpy(), name="Problem 2's predict(params, images)",
                    rtol=1e-3, atol=1e-4, expected_name="the grader's rebuild of your model",
                    context="the grader rebuilds your stax model from its layer list to train "
                            "it; the two must agree (if they do not, tell the course staff)")
    wanted = float(-(torch.from_numpy(y).double() * torch.log_softmax(mine, 1)).sum(1).mean())
    assert_scalar_close(p2.loss(params, (x, y)), wanted, name="Problem 2's loss(params, batch)",
                        rtol=1e-3, atol=1e-4,
                        context="-mean over the batch of sum(targets * log_softmax(predict("
                                "params, inputs))); if your model does not end with "
                                "`stax.LogSoftmax`, the loss must apply `stax.logsoftmax`")
