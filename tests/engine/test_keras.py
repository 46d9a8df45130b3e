"""Keras models graded on the PyTorch stack: the description, the rebuild, compile's loss and
optimizer, and the TensorFlow shim, checked against Keras 3 itself (in this process, on its
PyTorch backend). A rebuild given the Keras model's own weights must compute its outputs; a
loss, a regularization penalty and an optimizer step must equal Keras's."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":  # pragma: no cover - another backend was preset
    pytest.skip("Keras runs on another backend in this process", allow_module_level=True)

from keras import layers as L  # noqa: E402
from keras import regularizers as R  # noqa: E402

from grader.models.keras_rebuild import (  # noqa: E402
    KerasSpecError,
    check_keras_spec,
    load_keras_weights,
    rebuild_keras,
)
from grader.sandboxed import aliases  # noqa: E402
from grader.sandboxed.models.keras_describe import DescribeError, describe_keras  # noqa: E402
from grader.train.keras_compile import CompileError, parse_compile  # noqa: E402

RNG = np.random.default_rng(0)
PROBE = RNG.random((6, 28, 28), dtype=np.float32)


def _sequential(*layers, inputs=None):
    return keras.Sequential([keras.Input(inputs), *layers] if inputs else list(layers))


ARCHITECTURES = {
    "notebook_mlp": lambda: _sequential(L.Flatten(), L.Dense(64, activation="relu"),
                                        L.Dense(64, activation="relu"),
                                        L.Dense(10, activation="softmax")),
    "flat_input_l2": lambda: _sequential(
        L.Dense(500, activation="relu", kernel_regularizer=R.l2(1e-4)),
        L.Dense(300, activation="tanh", kernel_regularizer=R.l1_l2(1e-5, 1e-4),
                bias_regularizer=R.l1(1e-3)),
        L.Dense(10, activation="softmax"), inputs=(784,)),
    "classic_cnn": lambda: _sequential(
        L.Conv2D(32, (3, 3), activation="relu"), L.Conv2D(64, 3, activation="relu"),
        L.MaxPooling2D((2, 2)), L.Dropout(0.25), L.Flatten(), L.Dense(128, activation="relu"),
        L.Dropout(0.5), L.Dense(10, activation="softmax"), inputs=(28, 28, 1)),
    "same_padding_strides": lambda: _sequential(
        L.Conv2D(8, 5, strides=2, padding="same", activation="elu"),
        L.MaxPooling2D(3, strides=2, padding="same"), L.Conv2D(6, 4, padding="same"),
        L.LeakyReLU(), L.AveragePooling2D(2), L.Flatten(), L.Dense(10), inputs=(28, 28, 1)),
    "batchnorm": lambda: _sequential(
        L.Conv2D(8, 3, use_bias=False), L.BatchNormalization(momentum=0.9),
        L.Activation("relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(32),
        L.BatchNormalization(), L.ReLU(), L.Dense(10, activation="log_softmax"),
        inputs=(28, 28, 1)),
    "reshape_from_flat": lambda: _sequential(
        L.Reshape((28, 28, 1)), L.Conv2D(4, 3, activation="sigmoid"), L.Flatten(),
        L.Dense(10, activation="softmax", kernel_initializer="he_normal",
                bias_initializer=keras.initializers.Constant(0.1)), inputs=(784,)),
}


def _randomize_batchnorm(model) -> None:
    """Moving statistics away from (0, 1), so the comparison tests them."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([RNG.random(n) + 0.5, RNG.random(n) - 0.5, RNG.random(n) - 0.5,
                               RNG.random(n) + 0.5])


def _rebuilt_outputs(described):
    rebuilt = rebuild_keras(check_keras_spec(described))
    load_keras_weights(rebuilt, described["weights"])
    rebuilt.model.eval()
    with torch.no_grad():
        return rebuilt, rebuilt.model(torch.from_numpy(PROBE).unsqueeze(1)).numpy()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_rebuild_computes_the_keras_outputs(name):
    model = ARCHITECTURES[name]()
    model.build((None, 784) if name.startswith(("flat", "reshape")) else (None, 28, 28, 1))
    _randomize_batchnorm(model)
    described = describe_keras(model, probe=PROBE)
    rebuilt, ours = _rebuilt_outputs(described)
    np.testing.assert_allclose(ours, described["outputs"], rtol=1e-4, atol=1e-5)
    assert rebuilt.spec.parameters == model.count_params()


def test_penalty_is_keras_regularization_loss():
    model = ARCHITECTURES["flat_input_l2"]()
    described = describe_keras(model, probe=PROBE)
    model(PROBE.reshape(-1, 784))
    keras_penalty = float(sum(keras.ops.convert_to_numpy(v) for v in model.losses))
    rebuilt, _ = _rebuilt_outputs(described)
    assert rebuilt.penalty().item() == pytest.approx(keras_penalty, rel=1e-5)


def test_unbuilt_models_are_built_on_the_notebooks_inputs():
    images = describe_keras(ARCHITECTURES["notebook_mlp"]())
    flat = describe_keras(_sequential(L.Dense(10, activation="softmax")))
    assert images["input_shape"] == [28, 28, 1] and flat["input_shape"] == [784]


def test_a_builder_is_called_with_its_arguments():
    def build(factor):
        return _sequential(L.Flatten(), L.Dense(10, kernel_regularizer=R.l2(factor)))

    spec = check_keras_spec(describe_keras(build, 3e-4))
    assert spec.layers[1].args["kernel_regularizer"] == (0.0, pytest.approx(3e-4))


@pytest.mark.parametrize("name, init, check", [
    ("GlorotUniform", "glorot_uniform", lambda w: abs(w).max() <= math.sqrt(6 / 1284) + 1e-7),
    ("HeNormal", "he_normal", lambda w: abs(w.std() - math.sqrt(2 / 784)) < 0.003),
    ("Zeros", "zeros", lambda w: not w.any()),
])
def test_initializers_follow_keras(name, init, check):
    described = describe_keras(_sequential(L.Dense(500, kernel_initializer=init),
                                           inputs=(784,)))
    weight = rebuild_keras(check_keras_spec(described), seed=1).model[1].weight.detach()
    assert check(weight.numpy()), name


# --- refusals --------------------------------------------------------------------------------
class Doubled(L.Dense):
    def call(self, inputs):
        return 2 * super().call(inputs)


def _functional():
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, L.Dense(10)(L.Flatten()(inputs)))


@pytest.mark.parametrize("build, words", [
    (lambda: "a string", "not a Keras model"),
    (_functional, "Sequential"),
    (lambda: _sequential(L.Flatten(), Doubled(10)), "subclass"),
    (lambda: keras.Sequential(), "no layers"),
])
def test_describe_refuses_what_it_cannot_rebuild(build, words):
    with pytest.raises(DescribeError, match=words):
        describe_keras(build())


def test_a_replaced_call_is_refused():
    model = _sequential(L.Flatten(), L.Dense(10))
    model.layers[1].call = lambda inputs: inputs
    with pytest.raises(DescribeError, match="replaced"):
        describe_keras(model)


@pytest.mark.parametrize("layer, words", [
    (lambda: L.Lambda(lambda x: x), "Lambda"),
    (lambda: L.Dense(10, kernel_constraint=keras.constraints.MaxNorm(2)), "kernel_constraint"),
    (lambda: L.Dense(10, activity_regularizer=R.l2(1e-3)), "activity_regularizer"),
    (lambda: L.Dense(10, activation=lambda x: x * 2), "activation"),
    (lambda: L.Dense(10, kernel_initializer="orthogonal"), "Orthogonal"),
    (lambda: L.Dense(10, kernel_initializer=keras.initializers.RandomNormal(stddev=20.0)),
     r"Layer 2 \(`dense.*`\): `stddev` of `kernel_initializer` must be in \[0, 10\], not 20\."),
    (lambda: L.LeakyReLU(negative_slope=2.0), r"`negative_slope` must be in \[0, 1\], not 2\."),
])
def test_rebuild_refuses_unsupported_layers(layer, words):
    described = describe_keras(_sequential(L.Flatten(), layer(), inputs=(28, 28, 1)))
    with pytest.raises(KerasSpecError, match=words):
        check_keras_spec(described)


def test_conv_refusals_name_the_layer():
    dilated = describe_keras(_sequential(L.Conv2D(4, 3, dilation_rate=2), L.Flatten(),
                                         L.Dense(10), inputs=(28, 28, 1)))
    with pytest.raises(KerasSpecError, match=r"Layer 1 .*dilated"):
        check_keras_spec(dilated)
    no_flatten = describe_keras(_sequential(L.Conv2D(4, 3), L.Dense(10), inputs=(28, 28, 1)))
    with pytest.raises(KerasSpecError, match="Flatten"):
        check_keras_spec(no_flatten)


@pytest.mark.parametrize("spec", [
    {"input_shape": [28, 28, 1], "layers": [{"class": "Dense", "config": {"units": 10**9}}]},
    {"input_shape": [3, 3], "layers": []},
    {"input_shape": [28, 28, 1], "layers": [{"class": "os.system", "config": {}}]},
    {"input_shape": [28, 28, 1], "layers": "rm -rf"},
    {"input_shape": [28, 28, 1],
     "layers": [{"class": "Dropout", "config": {"rate": float("nan")}}]},
])
def test_hostile_descriptions_are_refused(spec):
    with pytest.raises(KerasSpecError):
        check_keras_spec(spec)


# --- compile: loss and optimizer -------------------------------------------------------------
def _compiled(loss, optimizer, final="softmax"):
    model = _sequential(L.Flatten(), L.Dense(10, activation=final), inputs=(28, 28, 1))
    model.compile(loss=loss, optimizer=optimizer)
    described = describe_keras(model, probe=PROBE)
    return model, described, parse_compile(described["compile"])


@pytest.mark.parametrize("loss, final", [
    ("categorical_crossentropy", "softmax"),
    (keras.losses.CategoricalCrossentropy(from_logits=True), "linear"),
    (keras.losses.CategoricalCrossentropy(from_logits=True), "softmax"),  # a double softmax
    ("categorical_crossentropy", "sigmoid"),  # outputs rescaled to sum to 1, as Keras does
    (keras.losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax"),
    ("mse", "softmax"),
])
def test_loss_equals_keras(loss, final):
    model, described, compiled = _compiled(loss, "sgd", final)
    rebuilt, out = _rebuilt_outputs(described)
    labels = RNG.integers(0, 10, len(out))
    expected = float(keras.ops.convert_to_numpy(model.loss(np.eye(10)[labels], out)
                     if callable(model.loss) else
                     keras.losses.get(model.loss)(np.eye(10)[labels], out)).mean())
    fn = compiled.loss_fn(rebuilt.model)
    logits = torch.from_numpy(out)
    if fn is None:  # the loop trains on the logits before the final softmax
        body = rebuilt.model[:-1]
        with torch.no_grad():
            logits = body(torch.from_numpy(PROBE).unsqueeze(1))
        fn = torch.nn.functional.cross_entropy
    assert fn(logits, torch.from_numpy(labels)).item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("optimizer, exact", [
    (lambda: keras.optimizers.SGD(learning_rate=0.1), True),
    (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), True),
    (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True), True),
    (lambda: keras.optimizers.Adam(learning_rate=0.01), False),
    (lambda: keras.optimizers.RMSprop(learning_rate=0.01), False),
    (lambda: keras.optimizers.Adadelta(learning_rate=1.0), False),
    (lambda: keras.optimizers.SGD(learning_rate=0.1, clipnorm=0.5), True),
    (lambda: keras.optimizers.SGD(learning_rate=0.1, global_clipnorm=0.5), True),
    (lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, clipvalue=0.3), True),
    (lambda: keras.optimizers.SGD(learning_rate=0.1, weight_decay=0.01), True),
    (lambda: keras.optimizers.Adam(learning_rate=0.01, weight_decay=0.004, clipnorm=1.0), False),
])
def test_optimizer_steps_follow_keras(optimizer, exact):
    """Five steps with the same gradients: Keras's update rule and the mapped PyTorch one.

    Gradients are kept away from 0: Keras adds Adam's epsilon before the second moment's bias
    correction, PyTorch after, which matters only for gradients near epsilon / 0.03."""
    opt = optimizer()
    model = _sequential(L.Dense(10), inputs=(784,))
    model.compile(loss="mse", optimizer=opt)
    compiled = parse_compile(describe_keras(model)["compile"])
    start = RNG.normal(size=(784, 10)).astype(np.float32) * 0.05
    grads = [RNG.normal(size=(784, 10)) for _ in range(5)]
    grads = [(np.sign(g) * (np.abs(g) + 0.05)).astype(np.float32) for g in grads]
    variable = keras.Variable(start)
    opt.build([variable])
    weight = torch.nn.Parameter(torch.from_numpy(start.copy()))
    torch_opt = compiled.optimizer_factory()([weight])
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        weight.grad = torch.from_numpy(g)
        torch_opt.step()
    ours, theirs = weight.detach().numpy(), keras.ops.convert_to_numpy(variable)
    rtol = 1e-5 if exact else 2e-3
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-6 if exact else 1e-4)


@pytest.mark.parametrize("loss, optimizer, words", [
    ("categorical_crossentropy", lambda: keras.optimizers.SGD(use_ema=True), "use_ema"),
    ("categorical_crossentropy", lambda: keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)), "schedule"),
    ("categorical_crossentropy", lambda: keras.optimizers.Lion(), "Lion"),
    ("categorical_crossentropy", lambda: keras.optimizers.SGD(0.0),
     r"Optimizer `SGD`: `learning_rate` must be in \(0, 10\], not 0\."),
    ("categorical_crossentropy", lambda: keras.optimizers.Adam(clipnorm=-1.0),
     r"Optimizer `Adam`: `clipnorm` must be in \(0, 1000000\], not -1\."),
    ("hinge", lambda: "sgd", "hinge"),
    (lambda y, p: keras.ops.mean(p), lambda: "sgd", "not a loss"),
])
def test_compile_refusals(loss, optimizer, words):
    model = _sequential(L.Dense(10), inputs=(784,))
    model.compile(loss=loss, optimizer=optimizer())
    with pytest.raises(CompileError, match=words):
        parse_compile(describe_keras(model)["compile"])


def test_an_uncompiled_model_is_named():
    with pytest.raises(CompileError, match="not compiled"):
        parse_compile(describe_keras(_sequential(L.Dense(10), inputs=(784,)))["compile"])


# --- the TensorFlow shim ---------------------------------------------------------------------
@pytest.fixture
def tensorflow_aliases():
    finder = aliases.install({"tensorflow": "grader.sandboxed.tensorflow_shim",
                              "tensorflow.keras.*": "keras.*",
                              "keras.layers.core": "keras.layers"})
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "tensorflow" or n.startswith("tensorflow.")]:
            del sys.modules[name]


def test_tensorflow_imports_reach_keras(tensorflow_aliases):
    import tensorflow as tf
    from keras.layers.core import Dropout  # Keras 2's path
    from tensorflow.keras.layers import Dense
    from tensorflow.keras.optimizers import SGD

    assert tf.keras is keras and Dense is keras.layers.Dense and SGD is keras.optimizers.SGD
    assert Dropout is keras.layers.Dropout
    model = keras.Sequential([keras.Input((784,)), Dense(10)])
    assert describe_keras(model)["layers"][0]["class"] == "Dense"  # Keras still works


def test_tensorflow_only_apis_say_so(tensorflow_aliases):
    import tensorflow as tf

    with pytest.raises(AttributeError, match="TensorFlow-only"):
        tf.nn.relu  # noqa: B018
    tf.random.set_seed(0)  # has a Keras equivalent


def test_keras2_learning_rate_spelling_is_accepted():
    import grader.sandboxed.keras_compat  # noqa: F401 - the pack preloads it in the worker

    assert float(keras.optimizers.SGD(lr=0.25).learning_rate) == pytest.approx(0.25)
    assert float(keras.optimizers.Adam(lr=0.002).learning_rate) == pytest.approx(0.002)
    assert float(keras.optimizers.SGD(learning_rate=0.3).learning_rate) == pytest.approx(0.3)
