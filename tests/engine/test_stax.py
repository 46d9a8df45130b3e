"""Stax models as data: described next to JAX, validated and rebuilt in PyTorch.

The rebuilt model is checked against JAX itself: stax's own parameters are copied in and
both compute on the same random images. One deliberately wrong description shows that the
comparison can fail.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from grader.models.stax import (
    ALLOWED_LAYERS,
    MAX_PARAMETERS,
    StaxSpecError,
    check_stax_spec,
    layer_sequence,
    load_stax_params,
    rebuild_stax,
)

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
stax = pytest.importorskip("jax.example_libraries.stax")

from grader.sandboxed.models.stax_describe import DescribeError, describe_stax  # noqa: E402

NHWC = ["NHWC", "HWIO", "NHWC"]


def handout_model() -> tuple:
    return stax.serial(
        stax.Conv(32, (3, 3), strides=(1, 1)), stax.Relu, stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Conv(64, (3, 3), padding="SAME"), stax.Relu, stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Flatten, stax.Dense(100), stax.Relu, stax.Dense(10), stax.LogSoftmax)


def conv(out: int, kernel: list[int], strides: list[int], padding: object) -> dict:
    return {"type": "Conv", "out_chan": out, "filter_shape": kernel, "strides": strides,
            "padding": padding, "dimension_numbers": NHWC}


# --- describing -----------------------------------------------------------------------------
def test_describe_handout_model() -> None:
    spec = describe_stax(handout_model())
    assert spec == [
        conv(32, [3, 3], [1, 1], "VALID"), {"type": "Relu"},
        {"type": "MaxPool", "window_shape": [2, 2], "strides": [2, 2], "padding": "VALID"},
        conv(64, [3, 3], [1, 1], "SAME"), {"type": "Relu"},
        {"type": "MaxPool", "window_shape": [2, 2], "strides": [2, 2], "padding": "VALID"},
        {"type": "Flatten"}, {"type": "Dense", "out_dim": 100}, {"type": "Relu"},
        {"type": "Dense", "out_dim": 10}, {"type": "LogSoftmax"},
    ]
    assert json.loads(json.dumps(spec)) == spec  # plain JSON: lists, not tuples


def test_describe_paddings_strides_and_pool_defaults() -> None:
    spec = describe_stax(stax.serial(
        stax.Conv(8, (5, 3), strides=(2, 1), padding="same"),
        stax.Conv(4, (3, 3), padding=((1, 2), (0, 1))),
        stax.MaxPool((3, 3)),  # stax's default stride is 1, not the window
        stax.AvgPool((2, 2), strides=(2, 2), padding="SAME"),
        stax.SumPool((2, 3), strides=(1, 2), spec="NHWC"),
    ))
    assert spec == [
        conv(8, [5, 3], [2, 1], "SAME"),
        conv(4, [3, 3], [1, 1], [[1, 2], [0, 1]]),
        {"type": "MaxPool", "window_shape": [3, 3], "strides": [1, 1], "padding": "VALID"},
        {"type": "AvgPool", "window_shape": [2, 2], "strides": [2, 2], "padding": "SAME"},
        {"type": "SumPool", "window_shape": [2, 3], "strides": [1, 2], "padding": "VALID",
         "spec": "NHWC"},
    ]


def test_describe_flattens_nested_serial_and_accepts_single_layers() -> None:
    inner = stax.serial(stax.Dense(20), stax.serial(stax.Tanh, stax.Dense(5)))
    assert describe_stax(stax.serial(stax.Flatten, inner, stax.Softmax)) == [
        {"type": "Flatten"}, {"type": "Dense", "out_dim": 20}, {"type": "Tanh"},
        {"type": "Dense", "out_dim": 5}, {"type": "Softmax"},
    ]
    assert describe_stax(stax.Dense(7)) == [{"type": "Dense", "out_dim": 7}]
    assert describe_stax(stax.Relu[1]) == [{"type": "Relu"}]  # an apply_fun alone
    init, apply = stax.serial(stax.Conv(3, (2, 2)), stax.Relu)
    assert describe_stax(apply, init_fun=init)[0]["out_chan"] == 3


def test_describe_elementwise_dropout_and_identity() -> None:
    names = ["Relu", "Tanh", "Sigmoid", "Elu", "LeakyRelu", "Selu", "Gelu", "Softplus", "Exp",
             "LogSoftmax", "Softmax", "Identity", "Flatten"]
    spec = describe_stax(stax.serial(*(getattr(stax, n) for n in names),
                                     stax.Dropout(0.8), stax.Dropout(0.5, mode="test")))
    assert spec == [{"type": n} for n in names] + [
        {"type": "Dropout", "rate": 0.8, "mode": "train"},
        {"type": "Dropout", "rate": 0.5, "mode": "test"},
    ]
    same_function = stax.elementwise(jax.nn.relu)
    assert describe_stax(same_function) == [{"type": "Relu"}]


def MyScale(factor: float) -> tuple:  # noqa: N802 - named like a stax layer constructor
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return inputs * factor

    return init_fun, apply_fun


def test_describe_unknown_layers_without_raising() -> None:
    spec = describe_stax(stax.serial(
        MyScale(2.0), stax.BatchNorm(), stax.elementwise(jax.nn.leaky_relu, negative_slope=0.2),
        stax.FanOut(2), stax.parallel(MyScale(3.0), stax.ConvTranspose(4, (3, 3))),
        stax.FanInSum, stax.GeneralConv(("NHC", "HIO", "NHC"), 4, (3,)),
        stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 4, (3, 3)),
    ))
    unknown = [layer for layer in layer_sequence(spec) if layer["type"] == "unknown"]
    names = [layer["name"] for layer in unknown]
    assert names[0] == "MyScale" and spec[1]["type"] == "BatchNorm"
    assert names[1].startswith("elementwise(") and "negative_slope=0.2" in names[1]
    assert names[2:] == ["MyScale", "GeneralConvTranspose"]  # inside the branches
    assert all(len(n) <= 100 for n in names)
    # Convolutions of other dimensions are reported, for the trusted side to refuse.
    assert spec[-2]["type"] == "Conv" and spec[-2]["filter_shape"] == [3]
    assert spec[-1]["dimension_numbers"] == ["NCHW", "OIHW", "NCHW"]


def test_describe_branches_keeps_parallel_and_flattens_serial_in_branches() -> None:
    spec = describe_stax(stax.serial(
        stax.FanOut(3),
        stax.parallel(stax.serial(stax.serial(stax.Dense(4), stax.Relu), stax.Tanh),
                      stax.Identity, stax.parallel(stax.Relu)),
        stax.FanInConcat(axis=-2), stax.FanInSum))
    assert spec == [
        {"type": "FanOut", "num": 3},
        {"type": "parallel", "branches": [
            [{"type": "Dense", "out_dim": 4}, {"type": "Relu"}, {"type": "Tanh"}],
            [{"type": "Identity"}],
            [{"type": "parallel", "branches": [[{"type": "Relu"}]]}]]},
        {"type": "FanInConcat", "axis": -2}, {"type": "FanInSum"},
    ]
    assert [layer["type"] for layer in layer_sequence(spec)] == [
        "FanOut", "Dense", "Relu", "Tanh", "Identity", "Relu", "FanInConcat", "FanInSum"]
    init, _ = stax.parallel(stax.Dense(2), stax.Relu)
    _, other_apply = stax.parallel(stax.Dense(2))
    with pytest.raises(DescribeError, match="different layer calls"):
        describe_stax((init, other_apply))


@pytest.mark.parametrize("value", [42, None, "serial", nn.Linear(2, 2), lambda x: x, print])
def test_describe_refuses_what_is_no_stax_model(value: object) -> None:
    with pytest.raises(DescribeError, match=r"stax\.serial"):
        describe_stax(value)


def test_describe_needs_init_for_sizes_and_matching_pairs() -> None:
    init, apply = handout_model()
    with pytest.raises(DescribeError, match="init"):
        describe_stax(apply)  # Conv and Dense sizes live in init_fun only
    other_init, _ = stax.serial(stax.Dense(3), stax.Relu)
    with pytest.raises(DescribeError, match="same `stax.serial"):
        describe_stax((other_init, apply))
    conv_a, conv_b = stax.Conv(3, (2, 2)), stax.Conv(3, (2, 2))
    with pytest.raises(DescribeError, match="different layer calls"):
        describe_stax((conv_a[0], conv_b[1]))


# --- rebuilding: the same outputs as JAX --------------------------------------------------------
ARCHITECTURES = {
    "handout": ((28, 28, 1), handout_model),
    "same-stride-2-odd": ((27, 25, 2), lambda: stax.serial(
        stax.Conv(6, (3, 3), strides=(2, 2), padding="SAME"), stax.Elu,
        stax.Conv(5, (4, 2), strides=(2, 3), padding="SAME"), stax.Tanh,
        stax.MaxPool((3, 3), strides=(2, 2), padding="SAME"),
        stax.Flatten, stax.Dense(10), stax.LogSoftmax)),
    "pools-and-explicit-padding": ((13, 11, 3), lambda: stax.serial(
        stax.Conv(4, (3, 3), padding=((2, 0), (1, 3))), stax.Sigmoid,
        stax.AvgPool((3, 2), strides=(2, 2), padding="SAME"),
        stax.SumPool((2, 2), padding="SAME"), stax.Softmax,  # channel softmax on an image
        stax.AvgPool((2, 2)), stax.Flatten, stax.Dense(7), stax.Softmax)),
    "nested-same-lower": ((12, 12, 1), lambda: stax.serial(
        stax.serial(stax.Conv(3, (2, 2), strides=(2, 2), padding="SAME_LOWER"), stax.Relu),
        stax.serial(stax.MaxPool((2, 2), padding="SAME"), stax.Identity),
        stax.Flatten, stax.Dropout(0.7, mode="test"), stax.Dense(9), stax.Gelu)),
    "batchnorm": ((12, 10, 3), lambda: stax.serial(  # batch statistics, stax's defaults
        stax.Conv(4, (3, 3)), stax.BatchNorm(), stax.Relu, stax.Flatten, stax.Dense(6),
        stax.BatchNorm(axis=(0,)), stax.Dense(3))),
    "batchnorm-axes": ((12, 10, 3), lambda: stax.serial(  # per-row and per-(H, W) params
        stax.Conv(4, (3, 3)), stax.BatchNorm(axis=(0, 1), center=False, epsilon=1e-3),
        stax.BatchNorm(axis=(0, 3), scale=False), stax.Flatten, stax.Dense(3))),
    # GeneralConv: axes read by their letters; filter, strides and padding in the kernel
    # spec's spatial order; the layers after it see its output array by position.
    "generalconv-nchw-oihw": ((3, 12, 10), lambda: stax.serial(
        stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 5, (3, 2), strides=(2, 1), padding="SAME"),
        stax.Relu, stax.MaxPool((2, 2)), stax.Flatten, stax.Dense(4))),
    "generalconv-nhwc-oihw": ((12, 10, 3), lambda: stax.serial(
        stax.GeneralConv(("NHWC", "OIHW", "NHWC"), 5, (3, 2), padding=((1, 0), (2, 1))),
        stax.Elu, stax.GeneralConv(("NHWC", "OIHW", "NHWC"), 2, (2, 2), strides=(2, 2)),
        stax.Flatten, stax.Dense(4))),
    "generalconv-mixed-layouts": ((12, 10, 3), lambda: stax.serial(
        stax.GeneralConv(("NWCH", "WIOH", "NCWH"), 5, (3, 2), strides=(1, 2), padding="SAME"),
        stax.Tanh, stax.BatchNorm(), stax.Flatten, stax.Dense(4))),
    "residual": ((12, 12, 1), lambda: stax.serial(  # the model, on small images
        stax.Conv(16, (3, 3), padding="SAME"), stax.Relu, stax.FanOut(2),
        stax.parallel(stax.serial(stax.Conv(16, (3, 3), padding="SAME"), stax.Relu),
                      stax.Identity),
        stax.FanInSum, stax.MaxPool((2, 2)), stax.Flatten, stax.Dense(10), stax.LogSoftmax)),
    "inception-concat": ((10, 10, 2), lambda: stax.serial(
        stax.FanOut(3),
        stax.parallel(stax.Conv(3, (1, 1)),
                      stax.serial(stax.Conv(2, (3, 3), padding="SAME"), stax.Relu),
                      stax.MaxPool((3, 3), padding="SAME")),
        stax.FanInConcat(), stax.Relu, stax.Flatten, stax.Dense(3), stax.Softmax)),
    "nested-serial-in-parallel": ((9, 8, 2), lambda: stax.serial(
        stax.FanOut(2),
        stax.parallel(
            stax.serial(stax.serial(stax.Conv(3, (2, 2), padding="SAME"), stax.Relu),
                        stax.serial(stax.BatchNorm(), stax.Dropout(0.5, mode="test"))),
            stax.serial(stax.FanOut(2), stax.parallel(stax.Identity, stax.Relu),
                        stax.FanInSum, stax.Conv(3, (2, 2), padding="SAME"))),
        stax.FanInConcat(axis=2),  # along the width
        stax.BatchNorm(center=False, scale=False), stax.Flatten,  # params ((), ())
        stax.FanOut(1), stax.parallel(stax.Dense(5)), stax.FanInSum)),
    "mlp": ((8, 8, 2), lambda: stax.serial(
        stax.Flatten, stax.Dense(32), stax.Selu, stax.Dense(16), stax.LeakyRelu,
        stax.Dense(16), stax.Softplus, stax.Dense(10), stax.LogSoftmax)),
}


def random_params(init, shape: tuple[int, ...]) -> list:
    """Parameters in the structure stax's ``init_fun`` returns, all of scale 0.3.

    Only their shapes come from JAX (``eval_shape`` compiles nothing); random biases keep
    init's tiny convolution biases from hiding a layout error.
    """
    shapes = jax.eval_shape(lambda key: init(key, (-1, *shape))[1], jax.random.PRNGKey(0))
    noise = np.random.default_rng(3)
    return jax.tree.map(lambda a: (0.3 * noise.normal(size=a.shape)).astype(np.float32),
                        shapes)


def jax_and_torch(name: str, spec_edit=None) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of the stax model and of its rebuilt copy (stax's weights) on random images."""
    shape, make = ARCHITECTURES[name]
    init, apply = make()
    spec = describe_stax((init, apply))
    if spec_edit is not None:
        spec_edit(spec)
    params = random_params(init, shape)
    model = rebuild_stax(spec, shape).eval()
    load_stax_params(model, params)
    x = np.random.default_rng(7).normal(size=(5, *shape)).astype(np.float32)
    # Dropout asks for a key even in test mode; jit keeps JAX's op-by-op compiling out of it.
    run = jax.jit(lambda p, x: apply(p, x, rng=jax.random.PRNGKey(0)))
    expected = np.asarray(run(params, jnp.asarray(x)))
    with torch.no_grad():
        actual = model(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    return expected, actual


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_rebuilt_model_matches_jax(name: str) -> None:
    expected, actual = jax_and_torch(name)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_a_wrong_padding_gives_a_different_output() -> None:
    """Padding (2, 0) instead of SAME's (1, 1) keeps every shape but not the values."""
    def shift_padding(spec: list[dict]) -> None:
        assert spec[0]["padding"] == "SAME"  # (1, 1) on both axes here
        spec[0]["padding"] = [[2, 0], [2, 0]]

    expected, actual = jax_and_torch("same-stride-2-odd", shift_padding)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() > 1e-2


def test_same_padding_is_asymmetric_like_lax() -> None:
    spec = [conv(1, [2, 2], [2, 2], "SAME")]
    model = rebuild_stax(spec, (5, 5, 1))
    assert isinstance(model[0], nn.ZeroPad2d) and model[0].padding == (0, 1, 0, 1)
    assert check_stax_spec(spec, (5, 5, 1)) == [(3, 3, 1)]


def test_dropout_keeps_with_probability_rate() -> None:
    flat = [{"type": "Flatten"}]
    train = rebuild_stax(flat + [{"type": "Dropout", "rate": 0.8, "mode": "train"}])
    assert isinstance(train[1], nn.Dropout) and train[1].p == pytest.approx(0.2)
    test = rebuild_stax(flat + [{"type": "Dropout", "rate": 0.8, "mode": "test"}])
    assert isinstance(test[1], nn.Identity)


def test_load_refuses_a_params_tree_of_another_shape() -> None:
    model = rebuild_stax([{"type": "Flatten"}, {"type": "Dense", "out_dim": 3}])
    dense = (np.zeros((784, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="weighted layers"):
        load_stax_params(model, [(), dense, dense])


# --- initialization -------------------------------------------------------------------------
def test_initialization_statistics_match_stax() -> None:
    spec = [conv(128, [5, 5], [1, 1], "VALID"), {"type": "Flatten"},
            {"type": "Dense", "out_dim": 1000}]
    shape = (8, 8, 64)
    before = torch.get_rng_state()
    model = rebuild_stax(spec, shape, seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # a local generator, not the global RNG
    conv_layer, dense = model[0], model[2]
    init, _ = stax.serial(stax.Conv(128, (5, 5)), stax.Flatten, stax.Dense(1000))
    params = jax.jit(lambda key: init(key, (-1, *shape))[1])(jax.random.PRNGKey(0))
    for module, w_jax in [(conv_layer, params[0][0]), (dense, params[2][0])]:
        w = module.weight.detach().numpy()
        fan_in, fan_out = w.shape[1] * w[0, 0].size, w.shape[0] * w[0, 0].size
        expected_std = math.sqrt(2.0 / (fan_in + fan_out))
        assert w.std() == pytest.approx(expected_std, rel=0.03)
        assert float(np.std(w_jax)) == pytest.approx(expected_std, rel=0.03)
        bound = 2 * expected_std / 0.87962566103423978  # truncated at two (raw) stds
        assert np.abs(w).max() <= bound + 1e-7
        assert np.abs(w).max() > 0.95 * bound
        assert abs(w.mean()) < 0.05 * expected_std
    assert np.std(dense.bias.detach().numpy()) == pytest.approx(1e-2, rel=0.15)
    assert np.std(np.asarray(params[2][1])) == pytest.approx(1e-2, rel=0.15)
    assert 0 < np.abs(conv_layer.bias.detach().numpy()).max() < 1e-5
    again = rebuild_stax(spec, shape, seed=3)
    assert torch.equal(again[2].weight, dense.weight)
    assert not torch.equal(rebuild_stax(spec, shape, seed=4)[2].weight, dense.weight)


# --- validation -----------------------------------------------------------------------------
FLAT = {"type": "Flatten"}


@pytest.mark.parametrize(("spec", "pattern"), [
    ([{"type": "Dense", "out_dim": 10}], r"Layer 1 \(`Dense`\).*stax\.Flatten"),
    ([conv(4, [3, 3], [1, 1], "VALID"), {"type": "Dense", "out_dim": 10}],
     r"Layer 2 \(`Dense`\).*channel axis.*stax\.Flatten"),
    ([FLAT, {"type": "unknown", "name": "MyScale"}], r"Layer 2 \(`unknown`\).*`MyScale`.*"
                                                     r"stax\.Conv"),
    ([{"type": "GeneralConvTranspose"}], r"Layer 1 \(`GeneralConvTranspose`\).*not a layer"),
    ([{"type": "BatchNorm", "axis": [1, 2], "epsilon": 1e-5, "center": True, "scale": True}],
     r"Layer 1 \(`BatchNorm`\).*batch axis 0"),
    ([FLAT, {"type": "BatchNorm", "axis": [0, 1, 2], "epsilon": 1e-5, "center": True,
             "scale": True}], r"Layer 2 \(`BatchNorm`\).*\(N, D\).*use \(0,\) after"),
    ([{"type": "BatchNorm", "axis": [0], "epsilon": -1, "center": True, "scale": True}],
     r"epsilon"),
    ([{"type": "Exp"}], r"Layer 1 \(`Exp`\).*Use only"),
    ([FLAT, {"type": "Dense", "out_dim": 10**6}], r"Layer 2 .*`out_dim`.*1 to 8192"),
    ([conv(8192, [28, 28], [1, 1], "SAME"), FLAT, {"type": "Dense", "out_dim": 8192}],
     r"Layer 3 \(`Dense`\).*50,000,000 parameters"),
    ([conv(-3, [3, 3], [1, 1], "VALID")], r"Layer 1 \(`Conv`\).*`out_chan`"),
    ([conv(4, [3, 3], [1, 1], [[-1, 0], [0, 0]])], r"`padding`"),
    ([conv(4, [3, 3], [0, 1], "VALID")], r"`strides`"),
    ([conv(4, [3, 3, 3], [1, 1], "VALID")], r"`filter_shape`.*2-D"),
    ([conv(4, [29, 3], [1, 1], "VALID")], r"`filter_shape`"),
    ([conv("32", [3, 3], [1, 1], "VALID")], r"`out_chan`"),
    ([conv(True, [3, 3], [1, 1], "VALID")], r"`out_chan`"),
    ([conv(4.0, [3, 3], [1, 1], "VALID")], r"`out_chan`"),
    ([conv(4, [3, 3], [1, 1], "same")], r"`padding`"),
    ([{**conv(4, [3], [1], "VALID"), "dimension_numbers": ["NHC", "HIO", "NHC"]}],
     r"Layer 1 \(`Conv`\).*1-D convolution; the grader rebuilds 2-D"),
    ([{**conv(4, [3, 3, 3], [1, 1, 1], "VALID"),
       "dimension_numbers": ["NDHWC", "DHWIO", "NDHWC"]}], r"3-D convolution"),
    ([{**conv(4, [3, 3], [1, 1], "VALID"), "dimension_numbers": ["HNWC", "HWIO", "HNWC"]}],
     r"batch axis `N` must come first"),
    ([{**conv(4, [3, 3], [1, 1], "VALID"), "dimension_numbers": ["NHWC", "HWIO", "NHXC"]}],
     r"not valid for `lax.conv_general_dilated`"),
    ([{**conv(4, [3, 3], [1, 1], "VALID"), "dimension_numbers": "NHWC"}], r"three strings"),
    ([{**conv(4, [3, 3], [1, 1], "VALID"), "W_init": "he"}], r"unexpected field.*W_init"),
    ([{"type": "MaxPool", "window_shape": [2, 2], "strides": [2, 2],
       "padding": [[1, 1], [1, 1]]}], r"Layer 1 \(`MaxPool`\).*'VALID'"),
    ([{"type": "AvgPool", "window_shape": [2, 2], "strides": [2, 2], "padding": "VALID",
       "spec": "NCHW"}], r"`spec"),
    ([FLAT, {"type": "MaxPool", "window_shape": [2, 2], "strides": [2, 2],
             "padding": "VALID"}], r"Layer 2 .*image input"),
    ([conv(4, [5, 5], [1, 1], "VALID")] * 7, r"Layer 7 \(`Conv`\).*too small"),
    ([FLAT, {"type": "Dropout", "rate": 0.0, "mode": "train"}], r"Layer 2 \(`Dropout`\)"),
    ([FLAT, {"type": "Dropout", "rate": 0.5, "mode": "eval"}], r"mode"),
    (["Relu"], r"Layer 1 \(a `str`\)"),
    ([None], r"Layer 1"),
    ([{"type": ["Relu"]}], r"Layer 1"),
])
def test_invalid_specs_are_refused_naming_the_layer(spec: list, pattern: str) -> None:
    with pytest.raises(StaxSpecError, match=pattern) as info:
        rebuild_stax(spec)
    assert isinstance(info.value, ValueError)


RELU = {"type": "Relu"}
FAN2 = {"type": "FanOut", "num": 2}
SUM = {"type": "FanInSum"}


def parallel(*branches: list) -> dict:
    return {"type": "parallel", "branches": list(branches)}


@pytest.mark.parametrize(("spec", "pattern"), [
    ([FAN2, parallel([conv(4, [3, 3], [1, 1], "SAME")], [RELU]), SUM],
     r"Layer 3 \(`FanInSum`\).*one shape.*\(28, 28, 4\), \(28, 28, 1\)"),
    ([FAN2, parallel([conv(4, [3, 3], [1, 1], "VALID")], [conv(4, [3, 3], [1, 1], "SAME")]),
      {"type": "FanInConcat", "axis": -1}], r"`FanInConcat`.*agree on every other axis"),
    ([FAN2, {"type": "FanInConcat", "axis": 0}], r"other than the batch axis 0"),
    ([FAN2, {"type": "FanInConcat", "axis": -4}], r"other than the batch axis 0"),
    ([FAN2, {"type": "FanInConcat", "axis": 4}], r"`axis`"),
    ([{"type": "FanOut", "num": 3}, parallel([RELU], [RELU]), SUM],
     r"Layer 2 \(`parallel`\).*2 branches but gets 3 inputs"),
    ([FAN2, parallel([RELU], [{"type": "Dense", "out_dim": 3}]), SUM],
     r"Layer 2, branch 2, layer 1 \(`Dense`\).*stax\.Flatten"),
    ([FAN2, parallel([RELU], [RELU])], r"Layer 2 \(`parallel`\).*ends with 2 branches"),
    ([FAN2, RELU], r"Layer 2 \(`Relu`\).*gets 2 branches"),
    ([SUM], r"Layer 1 \(`FanInSum`\).*put `stax.FanOut\(n\)` before it"),
    ([FAN2, parallel([RELU, FAN2], [RELU]), SUM], r"branch 1 ends with 2 branches"),
    ([FAN2, FAN2], r"Layer 2 \(`FanOut`\).*gets 2 branches"),
    ([{"type": "FanOut", "num": 17}], r"`num`.*1 to 16"),
    ([FAN2, parallel([RELU], [])], r"1 to 16 branches, each"),
    ([FAN2, parallel([RELU], "Relu")], r"1 to 16 branches, each"),
    ([{"type": "FanOut", "num": 16}, parallel(*[[{"type": "Identity"}]] * 16),
      {"type": "FanInConcat", "axis": -1}] * 4, r"Layer 12 .*more than 16,777,216 numbers"),
])
def test_invalid_branches_are_refused_naming_the_layer(spec: list, pattern: str) -> None:
    with pytest.raises(StaxSpecError, match=pattern):
        rebuild_stax(spec)


def test_nesting_and_layer_counts_include_branches() -> None:
    deep: list = [RELU]
    for _ in range(9):
        deep = [{"type": "FanOut", "num": 1}, parallel(deep), SUM]
    with pytest.raises(StaxSpecError, match="nests `stax.parallel` more than 8"):
        check_stax_spec(deep)
    wide = [FAN2, parallel([RELU] * 60, [RELU] * 60), SUM]
    with pytest.raises(StaxSpecError, match="more than 100 layers"):
        check_stax_spec(wide)


def test_generalconv_on_the_packs_images_reads_them_like_jax() -> None:
    """The pack feeds (N, 28, 28, 1) arrays: an NCHW conv reads 28 channels of 28 x 1."""
    init, apply = stax.serial(
        stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 8, (3, 3), padding="SAME"), stax.Relu,
        stax.Flatten, stax.Dense(10))
    spec = describe_stax((init, apply))
    shapes = check_stax_spec(spec, (28, 28, 1))
    jax_shape = init(jax.random.PRNGKey(0), (-1, 28, 28, 1))[0]
    assert shapes[0] == (8, 28, 1) and shapes[-1] == tuple(jax_shape[1:])
    valid = [{**spec[0], "padding": "VALID"}]
    with pytest.raises(StaxSpecError, match=r"\(8, 26, -1\).*too small"):
        check_stax_spec(valid, (28, 28, 1))  # JAX gives a width of -1 too


def test_describe_then_refuse_a_1d_generalconv() -> None:
    spec = describe_stax(stax.serial(stax.GeneralConv(("NHC", "HIO", "NHC"), 4, (3,)),
                                     stax.Flatten, stax.Dense(10)))
    with pytest.raises(StaxSpecError, match=r"Layer 1 \(`Conv`\).*1-D convolution"):
        check_stax_spec(spec, (28, 28, 1))


def test_load_refuses_params_of_other_branches() -> None:
    spec = [FAN2, parallel([RELU], [RELU]), SUM, {"type": "Flatten"},
            {"type": "Dense", "out_dim": 3}]
    model = rebuild_stax(spec)
    dense = (np.zeros((784, 3)), np.zeros(3))
    load_stax_params(model, [(), ((), ()), (), (), dense])
    with pytest.raises(ValueError, match="3 branches, the model 2"):
        load_stax_params(model, [(), ((), (), ()), (), (), dense])


@pytest.mark.parametrize("spec", [None, {}, {"type": "Relu"}, "Relu", [], 3])
def test_non_list_specs_are_refused(spec: object) -> None:
    with pytest.raises(StaxSpecError, match="stax.serial"):
        check_stax_spec(spec)


def test_too_many_layers_and_allowed_names() -> None:
    with pytest.raises(StaxSpecError, match="at most"):
        check_stax_spec([{"type": "Relu"}] * 1000)
    assert "Conv" in ALLOWED_LAYERS and "Exp" not in ALLOWED_LAYERS
    assert MAX_PARAMETERS == 50_000_000


def test_shapes_are_reported_per_layer() -> None:
    shapes = check_stax_spec(describe_stax(handout_model()))
    assert shapes[0] == (26, 26, 32) and shapes[3] == (13, 13, 64)
    assert shapes[6] == (2304,) and shapes[-1] == (10,)
