"""Validate a student's Keras model description and rebuild it in PyTorch (trusted side).

The description comes from the worker (:mod:`grader.sandboxed.models.keras_describe`), so it is
untrusted data: every layer is checked against a whitelist with bounds before anything is
allocated, and whatever the rebuild would not reproduce is refused with a message that names
the layer and the setting. The rebuilt model takes NCHW images and computes what the Keras
model computes on its channels-last input:

- ``Dense``, ``Conv2D`` (``valid``/``same``, TensorFlow's ``same``: an odd total padding puts
  the extra pixel on the high side), ``MaxPooling2D`` and ``AveragePooling2D`` (stride
  defaults to the pool size; ``same`` averages over real pixels only), ``Flatten`` and
  ``Reshape`` in channels-last order (weights copied from Keras give identical outputs),
  ``Dropout``, ``BatchNormalization`` (Keras's ``momentum`` is PyTorch's ``1 - momentum``),
  ``Activation``, ``ReLU`` and ``LeakyReLU``;
- initialization as the layer's Keras initializer says (Glorot uniform by default, zero
  biases), drawn from a local generator;
- weight regularizers (``L1``, ``L2``, ``L1L2`` on kernels and biases) as loss terms: Keras
  adds ``l2 * sum(w ** 2)`` to the loss, and so does :func:`penalty`.

`grader.train.keras_compile` turns ``compile``'s loss and optimizer into the loop's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from grader import ranges
from grader.feedback import MarkdownError
from grader.models.stax import TRUNCATED_STD, FlattenNHWC, WindowSum, same_pads, torch_pad

__all__ = ["ACTIVATIONS", "ALLOWED_LAYERS", "KerasSpecError", "KerasModel", "Rebuilt",
           "check_keras_spec", "fidelity_gap", "load_keras_weights", "rebuild_keras"]

Shape = tuple[int, ...]
MAX_WIDTH = 8192
MAX_KERNEL = 28
MAX_PARAMETERS = 20_000_000
MAX_REGULARIZATION = 10.0
INPUT_SHAPES = ((28, 28, 1), (28, 28), (784,))

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=1),
    "elu": nn.ELU,
    "selu": nn.SELU,
    "softplus": nn.Softplus,
    "softsign": nn.Softsign,
    "gelu": nn.GELU,  # keras.activations.gelu's default: exact, not the tanh approximation
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "relu6": nn.ReLU6,
    "hard_sigmoid": nn.Hardsigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # keras.activations.leaky_relu's default slope
}
ALLOWED_LAYERS = ("Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Reshape",
                  "Dropout", "BatchNormalization", "Activation", "ReLU", "LeakyReLU",
                  "InputLayer")
# Settings the rebuild does not reproduce: they must be left unset (None).
_MUST_BE_UNSET = ("activity_regularizer", "kernel_constraint", "bias_constraint",
                  "beta_constraint", "gamma_constraint", "beta_regularizer",
                  "gamma_regularizer", "noise_shape", "quantization_config", "lora_rank")
_DEFAULT_INITS = {"kernel_initializer": "GlorotUniform", "bias_initializer": "Zeros"}
_BN_INITS = {"beta_initializer": "Zeros", "gamma_initializer": "Ones",
             "moving_mean_initializer": "Zeros", "moving_variance_initializer": "Ones"}
# Keras initializer -> (scale, mode, distribution) of VarianceScaling.
_SCALING = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}
_PLAIN_INITS = ("Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
                "VarianceScaling")


class KerasSpecError(MarkdownError, ValueError):
    """The description cannot be rebuilt faithfully; ``message`` (Markdown) says why."""


@dataclass(frozen=True)
class Layer:
    """One validated Keras layer: its class, the settings the rebuild uses, its shapes."""

    kind: str
    name: str
    args: dict[str, Any]
    in_shape: Shape  # Keras layout (channels last), without the batch axis
    out_shape: Shape
    parameters: int  # as Keras counts them: trainable and non-trainable

    def describe(self) -> str:
        """The layer as Keras code would spell it (defaults left out), for feedback."""
        hidden = ("kernel_init", "bias_init", "trainable", "pads")
        parts = [f"{k}={_spelled(k, v)}" for k, v in self.args.items()
                 if k not in hidden and v is not None
                 and (v is not False or k == "use_bias") and not (k == "use_bias" and v)]
        if not self.args.get("trainable", True):
            parts.append("trainable=False")
        return f"{self.kind}({', '.join(parts)})"


def _spelled(key: str, value: Any) -> str:
    if key.endswith("_regularizer") and isinstance(value, tuple):
        l1, l2 = value
        if l1 and l2:
            return f"regularizers.l1_l2(l1={l1:g}, l2={l2:g})"
        return f"regularizers.l1({l1:g})" if l1 else f"regularizers.l2({l2:g})"
    return repr(value)


@dataclass(frozen=True)
class KerasModel:
    """A validated description: the layers in order and the input they take."""

    input_shape: Shape
    layers: list[Layer]

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].out_shape if self.layers else self.input_shape

    def of_kind(self, *kinds: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind in kinds]


@dataclass
class Rebuilt:
    """The PyTorch model, and for each Keras layer the module holding its weights."""

    model: nn.Sequential
    spec: KerasModel
    weighted: dict[int, nn.Module] = field(default_factory=dict)  # layer index -> module
    # the modules each Keras layer became, in order (an `InputLayer` or a linear activation
    # becomes none); `model` is these, after a leading `Flatten` for flat inputs
    parts: list[list[nn.Module]] = field(default_factory=list)
    regularized: list[tuple[torch.Tensor, float, float]] = field(default_factory=list)

    def penalty(self) -> torch.Tensor | None:
        """Keras's regularization loss: ``l1 * sum|w| + l2 * sum(w ** 2)`` per regularizer."""
        if not self.regularized:
            return None
        terms = []
        for weight, l1, l2 in self.regularized:
            if l2:
                terms.append(l2 * weight.square().sum())
            if l1:
                terms.append(l1 * weight.abs().sum())
        return torch.stack(terms).sum()


# --- validation ----------------------------------------------------------------------------
def _where(index: int, name: str, kind: str) -> str:
    return f"Layer {index} (`{name}`, `{kind}`)"


def _fail(where: str, message: str) -> KerasSpecError:
    return KerasSpecError(f"{where}: {message}")


def _pair(where: str, config: dict, key: str, default: Any = None) -> tuple[int, int]:
    """``config[key]`` as a window or stride: one size for both axes, or one per axis."""
    return ranges.int_pair(config.get(key, default), f"{where}: `{key}`", 1, MAX_KERNEL,
                           single=True, error=KerasSpecError)


def _activation(where: str, value: Any) -> str:
    if value is None:
        return "linear"
    if isinstance(value, str) and value in ACTIVATIONS:
        return value
    allowed = ", ".join(f"`{a}`" for a in ACTIVATIONS)
    raise _fail(where, f"activation `{value!s:.60}` is not one the grader rebuilds. "
                       f"Allowed: {allowed}.")


def _class_of(value: Any) -> tuple[str, dict]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        config = value.get("config") or {}
        return value["class_name"], config if isinstance(config, dict) else {}
    return f"{value!s:.60}", {}


def _number(where: str, config: dict, key: str, default: float, low: float, high: float,
            *, of: str = "") -> float:
    """``config[key]`` (``default`` when unset) as a number in [low, high]; ``of`` names
    the setting whose config it is (an initializer, a regularizer)."""
    place = f"{where}: `{key}` of `{of}`" if of else f"{where}: `{key}`"
    return ranges.number(config.get(key, default), place, low, high, error=KerasSpecError)


def _initializer(where: str, key: str, value: Any) -> dict[str, Any]:
    name, config = _class_of(value)
    aliases = {"glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
               "he_uniform": "HeUniform", "he_normal": "HeNormal", "zeros": "Zeros",
               "ones": "Ones", "lecun_normal": "LecunNormal", "lecun_uniform": "LecunUniform",
               "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
               "truncated_normal": "TruncatedNormal"}
    name = aliases.get(name, name)
    if name in _SCALING:
        scale, mode, distribution = _SCALING[name]
        return {"kind": "scaling", "scale": scale, "mode": mode, "distribution": distribution}
    if name == "VarianceScaling":
        mode, distribution = config.get("mode", "fan_in"), config.get("distribution",
                                                                      "truncated_normal")
        if mode not in ("fan_in", "fan_out", "fan_avg") or distribution not in (
                "truncated_normal", "untruncated_normal", "normal", "uniform"):
            raise _fail(where, f"`{key}`: VarianceScaling with mode `{mode!s:.30}` and "
                               f"distribution `{distribution!s:.30}` is not supported.")
        return {"kind": "scaling", "mode": mode,
                "scale": _number(where, config, "scale", 1.0, 1e-6, 100.0, of=key),
                "distribution": "truncated_normal" if distribution == "normal"
                else distribution}
    if name in ("Zeros", "Ones"):
        return {"kind": "constant", "value": 0.0 if name == "Zeros" else 1.0}
    if name == "Constant":
        return {"kind": "constant",
                "value": _number(where, config, "value", 0.0, -1e3, 1e3, of=key)}
    if name in ("RandomNormal", "TruncatedNormal"):
        return {"kind": "normal", "truncated": name == "TruncatedNormal",
                "mean": _number(where, config, "mean", 0.0, -10.0, 10.0, of=key),
                "stddev": _number(where, config, "stddev", 0.05, 0.0, 10.0, of=key)}
    if name == "RandomUniform":
        low = _number(where, config, "minval", -0.05, -10.0, 10.0, of=key)
        high = _number(where, config, "maxval", 0.05, low, 10.0, of=key)
        return {"kind": "uniform", "low": low, "high": high}
    allowed = ", ".join(f"`{n}`" for n in (*_SCALING, *_PLAIN_INITS))
    raise _fail(where, f"`{key}` `{name:.60}` is not an initializer the grader rebuilds. "
                       f"Allowed: {allowed}.")


def _regularizer(where: str, key: str, value: Any) -> tuple[float, float] | None:
    """(l1, l2) factors, or None when unset."""
    if value is None:
        return None
    name, config = _class_of(value)
    name = {"l1": "L1", "l2": "L2", "l1_l2": "L1L2"}.get(name, name)
    if name not in ("L1", "L2", "L1L2"):
        raise _fail(where, f"`{key}` `{name:.60}` is not a regularizer the grader rebuilds. "
                           "Allowed: `regularizers.l2(...)`, `l1(...)` and `l1_l2(...)`.")
    l1 = (_number(where, config, "l1", 0.0, 0.0, MAX_REGULARIZATION, of=key)
          if name != "L2" else 0.0)
    l2 = (_number(where, config, "l2", 0.0, 0.0, MAX_REGULARIZATION, of=key)
          if name != "L1" else 0.0)
    return l1, l2


def _unset_settings(where: str, config: dict) -> None:
    for key in _MUST_BE_UNSET:
        if config.get(key) not in (None, False, 0):
            raise _fail(where, f"`{key}` is set; the grader's rebuild does not reproduce it, "
                               "so the model would not be trained as yours was. Leave it unset.")


def _data_format(where: str, config: dict) -> None:
    if config.get("data_format") not in (None, "channels_last"):
        raise _fail(where, "only `data_format='channels_last'` (Keras's default, the "
                           "notebook's layout) is supported.")


def _needs_image(where: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise _fail(where, f"it needs images of shape (height, width, channels), but its "
                           f"input has shape {shape}.")


def _padded(where: str, config: dict, size: int, window: int, stride: int
            ) -> tuple[int, tuple[int, int]]:
    padding = config.get("padding", "valid")
    if padding == "valid":
        if size < window:
            raise _fail(where, f"its window of {window} does not fit an input of {size} "
                               "pixels (use `padding='same'`, or fewer pooling layers).")
        return (size - window) // stride + 1, (0, 0)
    if padding == "same":
        return -(-size // stride), same_pads(size, window, stride)
    raise _fail(where, f"`padding` must be `'valid'` or `'same'`, not {ranges.shown(padding)}.")


def _weighted_args(where: str, config: dict) -> dict[str, Any]:
    args: dict[str, Any] = {"activation": _activation(where, config.get("activation")),
                            "use_bias": bool(config.get("use_bias", True))}
    for key, default in _DEFAULT_INITS.items():
        args[key.replace("_initializer", "_init")] = _initializer(
            where, key, config.get(key, default))
    args["kernel_regularizer"] = _regularizer(where, "kernel_regularizer",
                                              config.get("kernel_regularizer"))
    args["bias_regularizer"] = _regularizer(where, "bias_regularizer",
                                            config.get("bias_regularizer"))
    return args


def _dense(where: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    units = ranges.integer(config.get("units"), f"{where}: `units`", 1, MAX_WIDTH,
                           error=KerasSpecError)
    if len(shape) != 1:
        raise _fail(where, f"its input has shape {shape}: Keras's `Dense` would act on the "
                           "last axis only. Put a `Flatten()` before it.")
    args = {"units": units, **_weighted_args(where, config)}
    return args, (units,), shape[0] * units + (units if args["use_bias"] else 0)


def _conv(where: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    _needs_image(where, shape)
    _data_format(where, config)
    filters = ranges.integer(config.get("filters"), f"{where}: `filters`", 1, MAX_WIDTH,
                             error=KerasSpecError)
    kernel = _pair(where, config, "kernel_size")
    strides = _pair(where, config, "strides", 1)
    if _pair(where, config, "dilation_rate", 1) != (1, 1) or config.get("groups", 1) != 1:
        raise _fail(where, "dilated or grouped convolutions are not supported.")
    rows, row_pad = _padded(where, config, shape[0], kernel[0], strides[0])
    cols, col_pad = _padded(where, config, shape[1], kernel[1], strides[1])
    args = {"filters": filters, "kernel_size": kernel, "strides": strides,
            "padding": config.get("padding", "valid"), "pads": (row_pad, col_pad),
            **_weighted_args(where, config)}
    count = kernel[0] * kernel[1] * shape[2] * filters + (filters if args["use_bias"] else 0)
    return args, (rows, cols, filters), count


def _pool(where: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    _needs_image(where, shape)
    _data_format(where, config)
    window = _pair(where, config, "pool_size", 2)
    strides = _pair(where, config, "strides", window) if config.get("strides") is not None \
        else window
    rows, row_pad = _padded(where, config, shape[0], window[0], strides[0])
    cols, col_pad = _padded(where, config, shape[1], window[1], strides[1])
    return ({"pool_size": window, "strides": strides, "padding": config.get("padding", "valid"),
             "pads": (row_pad, col_pad)},
            (rows, cols, shape[2]), 0)


def _reshape(where: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    target = config.get("target_shape")
    if (not isinstance(target, list | tuple) or not 1 <= len(target) <= 3
            or not all(ranges.is_integer_in(t, 1, 10**6) for t in target)):
        raise _fail(where, "`target_shape` must be 1 to 3 whole numbers from 1 to 1000000, "
                           f"not {ranges.shown(target)}.")
    if math.prod(target) != math.prod(shape):
        raise _fail(where, f"it cannot reshape {shape} ({math.prod(shape)} values) to "
                           f"{tuple(target)}.")
    return {"target_shape": tuple(target)}, tuple(target), 0


def _batch_norm(where: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
    if axis not in (-1, len(shape)) or len(shape) == 2:
        raise _fail(where, f"only normalization over the channels (`axis=-1`) is supported, "
                           f"not `axis={axis!r:.20}` on inputs of shape {shape}.")
    center, scale = bool(config.get("center", True)), bool(config.get("scale", True))
    if center != scale:
        raise _fail(where, "`center` and `scale` must be both on (the default) or both off.")
    for key, default in _BN_INITS.items():
        if _class_of(config.get(key, default))[0] not in (default, default.lower()):
            raise _fail(where, f"`{key}` must be left at its default, `{default}`.")
    if config.get("renorm") or config.get("synchronized"):
        raise _fail(where, "batch renormalization and synchronized batch norm are not "
                           "supported.")
    args = {"momentum": _number(where, config, "momentum", 0.99, 0.0, 1.0),
            "epsilon": _number(where, config, "epsilon", 1e-3, 1e-12, 1.0), "affine": center}
    channels = shape[-1]
    return args, shape, channels * (4 if center else 2)


def _elementwise(where: str, kind: str, config: dict, shape: Shape) -> tuple[dict, Shape, int]:
    if kind == "Dropout":
        return {"rate": _number(where, config, "rate", 0.5, 0.0, 0.99)}, shape, 0
    if kind == "Activation":
        return {"activation": _activation(where, config.get("activation"))}, shape, 0
    if kind == "ReLU":
        if config.get("max_value") is not None or config.get("threshold", 0.0) not in (0, 0.0):
            raise _fail(where, "`max_value` and `threshold` are not supported.")
        return {"negative_slope": _number(where, config, "negative_slope", 0.0, 0.0, 1.0)}, \
            shape, 0
    if kind == "LeakyReLU":
        slope = config.get("negative_slope", config.get("alpha", 0.3))
        return {"negative_slope": ranges.number(slope, f"{where}: `negative_slope`", 0.0, 1.0,
                                                error=KerasSpecError)}, shape, 0
    if kind == "Flatten":
        _data_format(where, config)
        return {}, (math.prod(shape),), 0
    return {}, shape, 0  # InputLayer


def _layer(index: int, entry: Any, shape: Shape) -> Layer:
    if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) \
            or not isinstance(entry.get("config", {}), dict):
        raise KerasSpecError(f"Layer {index}: not a layer description.")
    kind, config = entry["class"], entry.get("config") or {}
    name = str(config.get("name", kind))[:60]
    where = _where(index, name, kind)
    if kind not in ALLOWED_LAYERS:
        allowed = ", ".join(f"`{k}`" for k in ALLOWED_LAYERS if k != "InputLayer")
        raise _fail(where, f"`{kind:.60}` is not a layer the grader rebuilds. Allowed: "
                           f"{allowed}.")
    _unset_settings(where, config)
    if kind == "Dense":
        args, out, count = _dense(where, config, shape)
    elif kind == "Conv2D":
        args, out, count = _conv(where, config, shape)
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        args, out, count = _pool(where, config, shape)
    elif kind == "Reshape":
        args, out, count = _reshape(where, config, shape)
    elif kind == "BatchNormalization":
        args, out, count = _batch_norm(where, config, shape)
    else:
        args, out, count = _elementwise(where, kind, config, shape)
    args["trainable"] = config.get("trainable", True) is not False
    return Layer(kind, name, args, shape, out, count)


def check_keras_spec(spec: Any) -> KerasModel:
    """Validate the worker's description; raises ``KerasSpecError`` naming the layer."""
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise KerasSpecError("The model description is not a layer list.")
    raw_shape = spec.get("input_shape")
    shape = tuple(raw_shape) if isinstance(raw_shape, list | tuple) else ()
    if shape not in INPUT_SHAPES:
        allowed = ", ".join(str(s) for s in INPUT_SHAPES)
        raise KerasSpecError(f"The model takes inputs of shape {shape or raw_shape!r:.60}; "
                             f"MNIST images fit only {allowed}.")
    layers: list[Layer] = []
    for index, entry in enumerate(spec["layers"], 1):
        layer = _layer(index, entry, shape)
        layers.append(layer)
        shape = layer.out_shape
    model = KerasModel(input_shape=tuple(spec["input_shape"]), layers=layers)
    if model.parameters > MAX_PARAMETERS:
        raise KerasSpecError(f"The model has {model.parameters:,} parameters; at most "
                             f"{MAX_PARAMETERS:,} are supported.")
    return model


# --- initialization ------------------------------------------------------------------------
def _fans(shape: Shape) -> tuple[int, int]:
    """Keras's fans for a kernel in Keras layout: (in, out) or (kh, kw, in, out)."""
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _draw(init: dict, shape: Shape, generator: torch.Generator) -> torch.Tensor:
    """Values in Keras layout, drawn as Keras's initializer would (not the same numbers)."""
    out = torch.empty(shape)
    kind = init["kind"]
    if kind == "constant":
        return out.fill_(init["value"])
    if kind == "uniform":
        return out.uniform_(init["low"], init["high"], generator=generator)
    if kind == "normal":
        mean, std = init["mean"], init["stddev"]
        if init["truncated"]:
            return nn.init.trunc_normal_(out, mean, std, mean - 2 * std, mean + 2 * std,
                                         generator=generator)
        return out.normal_(mean, std, generator=generator)
    fan_in, fan_out = _fans(shape) if len(shape) > 1 else (shape[0], shape[0])
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init["mode"]]
    variance = init["scale"] / max(1.0, n)
    if init["distribution"] == "uniform":
        limit = math.sqrt(3.0 * variance)
        return out.uniform_(-limit, limit, generator=generator)
    if init["distribution"] == "untruncated_normal":
        return out.normal_(0.0, math.sqrt(variance), generator=generator)
    std = math.sqrt(variance) / TRUNCATED_STD
    return nn.init.trunc_normal_(out, 0.0, std, -2 * std, 2 * std, generator=generator)


# --- the PyTorch modules -------------------------------------------------------------------
def _to_keras(x: torch.Tensor, shape: Shape) -> torch.Tensor:
    if len(shape) == 3:
        return x.permute(0, 2, 3, 1)
    return x.reshape(len(x), *shape)


def _to_torch(x: torch.Tensor, shape: Shape) -> torch.Tensor:
    if len(shape) == 3:
        return x.permute(0, 3, 1, 2).contiguous()
    if len(shape) == 2:
        return x.unsqueeze(1)
    return x


class KerasReshape(nn.Module):
    """``Reshape`` in Keras's channels-last order, between NCHW (or flat) tensors."""

    def __init__(self, in_shape: Shape, target: Shape) -> None:
        super().__init__()
        self.in_shape, self.target = in_shape, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _to_keras(x, self.in_shape).reshape(len(x), *self.target)
        return _to_torch(y, self.target)

    def extra_repr(self) -> str:
        return f"{self.in_shape} -> {self.target}"


def _weighted(layer: Layer, generator: torch.Generator) -> nn.Module:
    a = layer.args
    if layer.kind == "Dense":
        module: nn.Module = nn.Linear(layer.in_shape[0], a["units"], bias=a["use_bias"],
                                      device="meta")
        kernel_shape: Shape = (layer.in_shape[0], a["units"])
    else:
        module = nn.Conv2d(layer.in_shape[2], a["filters"], a["kernel_size"], a["strides"],
                           bias=a["use_bias"], device="meta")
        kernel_shape = (*a["kernel_size"], layer.in_shape[2], a["filters"])
    module = module.to_empty(device="cpu")  # torch's own init never runs: Keras's does
    with torch.no_grad():
        _set_kernel(module, _draw(a["kernel_init"], kernel_shape, generator))
        if module.bias is not None:
            module.bias.copy_(_draw(a["bias_init"], (module.bias.shape[0],), generator))
    return module


def _set_kernel(module: nn.Module, kernel: torch.Tensor) -> None:
    """A kernel in Keras layout, (in, out) or (kh, kw, in, out), into torch's layout."""
    if isinstance(module, nn.Linear):
        module.weight.copy_(kernel.T)
    else:
        module.weight.copy_(kernel.permute(3, 2, 0, 1))


def _modules(layer: Layer, generator: torch.Generator) -> tuple[list[nn.Module], nn.Module | None]:
    """The modules for one layer, and the one holding its weights (if any)."""
    a, kind = layer.args, layer.kind
    if kind in ("Dense", "Conv2D"):
        core = _weighted(layer, generator)
        pre: list[nn.Module] = []
        if kind == "Conv2D" and any(map(any, a["pads"])):
            pre = [nn.ZeroPad2d(torch_pad(a["pads"]))]
        return [*pre, core, ACTIVATIONS[a["activation"]]()], core
    if kind == "MaxPooling2D":
        pool = nn.MaxPool2d(a["pool_size"], a["strides"])
        padded = any(map(any, a["pads"]))
        pre = [nn.ConstantPad2d(torch_pad(a["pads"]), -math.inf)] if padded else []
        return [*pre, pool], None
    if kind == "AveragePooling2D":
        return [WindowSum(a["pool_size"], a["strides"], a["pads"], average=True)], None
    if kind == "BatchNormalization":
        cls = nn.BatchNorm2d if len(layer.in_shape) == 3 else nn.BatchNorm1d
        norm = cls(layer.in_shape[-1], eps=a["epsilon"], momentum=1.0 - a["momentum"],
                   affine=a["affine"])
        return [norm], norm
    if kind == "Flatten":
        return [FlattenNHWC()], None
    if kind == "Reshape":
        return [KerasReshape(layer.in_shape, a["target_shape"])], None
    if kind == "Dropout":
        return [nn.Dropout(a["rate"])], None
    if kind == "Activation":
        return [ACTIVATIONS[a["activation"]]()], None
    if kind in ("ReLU", "LeakyReLU"):
        slope = a["negative_slope"]
        return [nn.LeakyReLU(slope) if slope else nn.ReLU()], None
    return [], None  # InputLayer


def rebuild_keras(spec: Any, *, seed: int = 0) -> Rebuilt:
    """A PyTorch model for the (validated) description, initialized as Keras would from
    ``seed``. It takes NCHW images ``(N, 1, 28, 28)``, whatever input the Keras model takes."""
    model_spec = spec if isinstance(spec, KerasModel) else check_keras_spec(spec)
    generator = torch.Generator().manual_seed(seed)
    modules: list[nn.Module] = [nn.Flatten()] if len(model_spec.input_shape) == 1 else []
    weighted: dict[int, nn.Module] = {}
    regularized: list[tuple[torch.Tensor, float, float]] = []
    per_layer: list[list[nn.Module]] = []
    for index, layer in enumerate(model_spec.layers):
        parts, holder = _modules(layer, generator)
        per_layer.append([m for m in parts if not isinstance(m, nn.Identity)])
        modules += per_layer[-1]
        if holder is not None:
            weighted[index] = holder
            if not layer.args["trainable"]:
                holder.requires_grad_(False)
            for key, tensor in (("kernel_regularizer", getattr(holder, "weight", None)),
                                ("bias_regularizer", getattr(holder, "bias", None))):
                factors = layer.args.get(key)
                if factors and tensor is not None and any(factors):
                    regularized.append((tensor, *factors))
    return Rebuilt(nn.Sequential(*modules), model_spec, weighted, per_layer, regularized)


# --- the student's weights -----------------------------------------------------------------
def _expected_shapes(layer: Layer, module: nn.Module) -> list[Shape]:
    if layer.kind == "BatchNormalization":
        channels = (layer.in_shape[-1],)
        return [channels] * (4 if layer.args["affine"] else 2)
    if isinstance(module, nn.Linear):
        kernel: Shape = (module.in_features, module.out_features)
    else:
        kernel = (*module.kernel_size, module.in_channels, module.out_channels)
    return [kernel] + ([(kernel[-1],)] if module.bias is not None else [])


def load_keras_weights(rebuilt: Rebuilt, weights: Any) -> None:
    """Copy Keras ``layer.get_weights()`` lists (one per layer) into the rebuilt model."""
    layers = rebuilt.spec.layers
    if not isinstance(weights, list) or len(weights) != len(layers):
        raise KerasSpecError("The weights sent do not match the model's layers.")
    with torch.no_grad():
        for index, module in rebuilt.weighted.items():
            layer, arrays = layers[index], weights[index]
            expected = _expected_shapes(layer, module)
            got = [tuple(np.shape(a)) for a in arrays] if isinstance(arrays, list) else None
            if got != expected:
                raise KerasSpecError(f"Layer {index + 1} (`{layer.name}`): weights of shapes "
                                     f"{got} do not fit {expected}.")
            tensors = [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in arrays]
            if isinstance(module, nn.Linear | nn.Conv2d):
                _set_kernel(module, tensors[0])
                if module.bias is not None:
                    module.bias.copy_(tensors[1])
            else:
                _load_norm(module, tensors)


def _load_norm(module: nn.Module, tensors: list[torch.Tensor]) -> None:
    if module.affine:
        module.weight.copy_(tensors[0])
        module.bias.copy_(tensors[1])
        tensors = tensors[2:]
    module.running_mean.copy_(tensors[0])
    module.running_var.copy_(tensors[1])


# The rebuild must compute the student's outputs from the student's weights this closely.
FIDELITY_ATOL, FIDELITY_RTOL = 1e-4, 1e-3


def _pads_unlike_tensorflow(spec: KerasModel) -> bool:
    """Keras 3 on PyTorch counts an odd extra pad in ``AveragePooling2D(padding='same')``
    averages, TensorFlow (where the student trained) does not; the rebuild follows
    TensorFlow, so its outputs differ there by design."""
    return any(layer.kind == "AveragePooling2D" and any(lo != hi for lo, hi in layer.args["pads"])
               for layer in spec.layers)


def fidelity_gap(spec: KerasModel, described: Any, images: Any) -> str | None:
    """Whether a fresh rebuild of ``spec``, given the weights the student's own Keras model
    reported (``describe_keras(..., probe=images)``), computes that model's outputs on
    ``images`` (``(n, 28, 28)`` or NCHW). This ties a description to a real model: a forged
    one would have to compute them too.

    Returns "" when it does, None when the model's own outputs and weights were not sent
    (nothing to compare: the caller refuses), else what differs, for the student.
    """
    if _pads_unlike_tensorflow(spec):
        return ""
    outputs = described.get("outputs") if isinstance(described, dict) else None
    if not isinstance(outputs, list | tuple | np.ndarray) or "weights" not in described:
        return None
    rebuilt = rebuild_keras(spec)
    try:
        load_keras_weights(rebuilt, described["weights"])
    except KerasSpecError as exc:
        return exc.message
    rebuilt.model.eval()
    pixels = torch.as_tensor(np.asarray(images, dtype=np.float32))
    with torch.no_grad():
        ours = rebuilt.model(pixels.reshape(len(pixels), 1, 28, 28)).numpy()
    theirs = np.asarray(outputs, dtype=np.float32)
    if theirs.shape != ours.shape or not np.all(np.isfinite(theirs)):
        return (f"the model's own outputs have shape {theirs.shape} (or are not finite); the "
                f"rebuilt model gives {ours.shape}")
    bad = np.abs(ours - theirs) > FIDELITY_ATOL + FIDELITY_RTOL * np.abs(theirs)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return (f"image {i}, output {j}: yours {theirs[i, j]:.6g}, rebuilt {ours[i, j]:.6g}")
    return ""


def layer_lines(model: KerasModel, *, parameters: bool = True) -> Iterator[str]:
    """One line per layer for feedback: class, settings, output shape and (unless the count
    is what a question asks) its parameters."""
    for i, layer in enumerate(model.layers, 1):
        yield (f"{i}. `{layer.describe()}` → output {layer.out_shape}"
               + (f", {layer.parameters:,} parameters" if parameters else ""))

