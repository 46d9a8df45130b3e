"""Validate a student's ``stax`` layer list and rebuild the model in PyTorch (trusted side).

The list comes from the worker (:mod:`grader.sandboxed.models.stax_describe`), so it is
untrusted data: every entry is checked against a whitelist with sane bounds before anything is
allocated.
The rebuilt model takes NCHW images and computes what the stax model computes on NHWC ones:

- ``Conv`` and 2-D ``GeneralConv``: any dimension numbers ``lax.conv_general_dilated`` accepts
  with the batch axis first. Layers after it see its output array as stax does, by position:
  a ``('NCHW', ...)`` convolution fed the grader's ``(N, 28, 28, 1)`` images reads 28
  channels of 28 x 1 pixels, exactly like JAX. ``filter_shape``, ``strides`` and ``padding``
  follow the kernel spec's order of the two spatial letters, as in ``lax``. ``VALID``,
  ``SAME`` and ``SAME_LOWER`` are padded as ``lax.padtype_to_pads`` pads (an odd total puts
  the extra row on the high side for ``SAME``), or explicit ``(low, high)`` pairs.
- pooling: stax's default stride is 1, not the window. ``MaxPool`` pads with -inf, ``SumPool``
  with 0, and ``AvgPool`` divides each window's sum by its number of real (unpadded) pixels,
  as stax's ``_normalize_by_window_size`` does. Stax itself accepts only string paddings here.
- ``FanOut(n)``, ``parallel(*layers)`` and ``FanInSum``/``FanInConcat(axis)``: a branching
  model. ``parallel`` appears as ``{"type": "parallel", "branches": [[layer, ...], ...]}``; the
  values between ``FanOut`` and a fan-in are lists, one per branch, as in stax.
- ``Flatten`` flattens in NHWC order, so weights copied from JAX give identical outputs.
- ``Softmax`` and ``LogSoftmax`` act on stax's last axis: the channels, dimension 1 in NCHW.
- ``Dropout(rate)``: stax's ``rate`` is the probability of *keeping* a unit.
- ``Gelu`` is ``jax.nn.gelu``'s default, the tanh approximation.
- initialization as stax's defaults: ``glorot_normal`` (a normal truncated at two standard
  deviations, rescaled so the variance is 2 / (fan_in + fan_out)) for weights,
  ``normal(1e-6)`` for convolution biases and ``normal(1e-2)`` for dense ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from grader import ranges
from grader.feedback import MarkdownError

__all__ = ["ALLOWED_LAYERS", "MAX_PARAMETERS", "StaxSpecError", "check_stax_spec", "layer_sequence",
           "load_stax_params", "rebuild_stax"]

ELEMENTWISE: dict[str, Callable[[], nn.Module]] = {
    "Relu": nn.ReLU,
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
    "Elu": nn.ELU,
    "LeakyRelu": lambda: nn.LeakyReLU(0.01),
    "Softplus": nn.Softplus,
    "Gelu": lambda: nn.GELU(approximate="tanh"),
    "Selu": nn.SELU,
    "LogSoftmax": lambda: nn.LogSoftmax(dim=1),
    "Softmax": lambda: nn.Softmax(dim=1),
    "Identity": nn.Identity,
}
POOLS = ("MaxPool", "AvgPool", "SumPool")
FAN_INS = ("FanInSum", "FanInConcat")
ALLOWED_LAYERS = ("Conv", "Dense", *POOLS, "Flatten", "Dropout", "BatchNorm", "FanOut",
                  "parallel", *FAN_INS, *ELEMENTWISE)
FIELDS: dict[str, frozenset[str]] = {
    "Conv": frozenset({"out_chan", "filter_shape", "strides", "padding", "dimension_numbers"}),
    "Dense": frozenset({"out_dim"}),
    **{pool: frozenset({"window_shape", "strides", "padding", "spec"}) for pool in POOLS},
    "Dropout": frozenset({"rate", "mode"}),
    "BatchNorm": frozenset({"axis", "epsilon", "center", "scale"}),
    "FanOut": frozenset({"num"}),
    "parallel": frozenset({"branches"}),
    "FanInConcat": frozenset({"axis"}),
}
MAX_WIDTH = 8192
MAX_KERNEL = 28
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 100  # all of them, those inside parallel branches included
MAX_BRANCHES = 16
MAX_DEPTH = 8  # parallel inside parallel
MAX_VALUE_SIZE = 1 << 24  # numbers per image in one layer's output: bounds FanInConcat's growth
DEFAULT_DIMENSION_NUMBERS = ["NHWC", "HWIO", "NHWC"]
_PAD_NAMES = ("VALID", "SAME", "SAME_LOWER")
# The standard deviation of a unit normal truncated to [-2, 2]; jax.nn.initializers divides
# by it so that the truncated draw has the variance asked for.
TRUNCATED_STD = 0.87962566103423978  # std of a unit normal truncated at ±2

Shape = tuple[int, ...]
Value = Shape | list[Shape]  # one array, or one per branch between FanOut and a fan-in
Where = int | str  # "3", or "3, branch 2, layer 1" inside a parallel
Pads = tuple[tuple[int, int], tuple[int, int]]


class StaxSpecError(MarkdownError, ValueError):
    """A layer list the grader refuses; ``str(err)`` is Markdown naming the layer."""


# --- validation ------------------------------------------------------------------------------
def _place(where: Where, layer: Any) -> str:
    """Which layer of the student's model a refusal is about."""
    kind = layer.get("type") if isinstance(layer, dict) else None
    shown = f"`{kind}`" if isinstance(kind, str) else f"a `{type(layer).__name__}`"
    return f"Layer {where} ({shown[:120]}) of your `stax.serial(...)` model"


def _fail(where: Where, layer: Any, message: str) -> StaxSpecError:
    return StaxSpecError(f"{_place(where, layer)}: {message}")


def _whole(where: Where, layer: dict, key: str, low: int, high: int) -> int:
    return ranges.integer(layer.get(key), f"{_place(where, layer)}: `{key}`", low, high,
                          error=StaxSpecError)


def _pair(where: Where, layer: dict, key: str, default: Sequence[int] | None = None
          ) -> tuple[int, int]:
    """A window or stride: stax takes one size per axis, never one for both."""
    return ranges.int_pair(layer.get(key, default), f"{_place(where, layer)}: `{key}`", 1,
                           MAX_KERNEL, error=StaxSpecError)


def same_pads(size: int, window: int, stride: int, lower: bool = False) -> tuple[int, int]:
    """``lax.padtype_to_pads`` for ``SAME`` (extra pixel high) or ``SAME_LOWER`` (low)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def _pads(where: Where, layer: dict, size: Shape, window: tuple[int, int],
          strides: tuple[int, int], *, explicit: bool) -> Pads:
    padding = layer.get("padding", "VALID")
    if padding == "VALID":
        return (0, 0), (0, 0)
    if padding in ("SAME", "SAME_LOWER"):
        lower = padding == "SAME_LOWER"
        rows = same_pads(size[0], window[0], strides[0], lower)
        return rows, same_pads(size[1], window[1], strides[1], lower)
    if explicit and (isinstance(padding, list | tuple) and len(padding) == 2
                     and all(isinstance(p, list | tuple) and len(p) == 2 for p in padding)
                     and all(ranges.is_integer_in(v, 0, MAX_KERNEL) for p in padding for v in p)):
        return (padding[0][0], padding[0][1]), (padding[1][0], padding[1][1])
    allowed = "`'VALID'`, `'SAME'` or `'SAME_LOWER'`"
    if explicit:
        allowed += f", or two `(low, high)` pairs of whole numbers from 0 to {MAX_KERNEL}"
    raise _fail(where, layer, f"`padding` must be {allowed}, not {ranges.shown(padding)}.")


def _out_size(size: int, window: int, stride: int, pad: tuple[int, int]) -> int:
    return (size + pad[0] + pad[1] - window) // stride + 1


def _check_fields(where: Where, layer: dict) -> None:
    extra = set(layer) - {"type"} - FIELDS.get(layer["type"], frozenset())
    if extra:
        names = ", ".join(sorted(f"`{k!s:.40}`" for k in extra))
        raise _fail(where, layer, f"unexpected field(s) {names}.")


def _check_type(where: Where, layer: Any) -> str:
    kind = layer.get("type") if isinstance(layer, dict) else None
    if isinstance(kind, str) and kind in ALLOWED_LAYERS:
        return kind
    allowed = ", ".join(f"`stax.{t}`" for t in ALLOWED_LAYERS)
    name = layer.get("name") if isinstance(layer, dict) else None
    what = f"`{name!s:.100}` is" if isinstance(name, str) and name else "this is"
    raise _fail(where, layer, f"{what} not a layer the grader can rebuild. Use only {allowed} "
                              "(`stax.GeneralConv` too, for 2-D images).")


def _needs_image(where: Where, layer: dict, shape: Shape) -> None:
    if len(shape) != 3:
        raise _fail(where, layer, f"it needs an image input (height, width, channels) but "
                                  f"gets shape {shape}: put it before `stax.Flatten`.")


TORCH_AXES = (0, 3, 1, 2)  # the stax axis each dimension of a rebuilt 4-D tensor holds
NHWC_TO_NCHW = {axis: TORCH_AXES.index(axis) for axis in range(4)}  # and the inverse


@dataclass(frozen=True)
class ConvLayout:
    """A 2-D ``GeneralConv``'s dimension numbers, as permutations of the rebuilt tensors.

    ``spatial`` holds the two spatial letters in the kernel spec's order: ``lax`` orders
    ``filter_shape``, ``strides`` and ``padding`` that way, and so does the rebuilt conv.
    """

    lhs: str
    rhs: str
    out: str

    @property
    def spatial(self) -> str:
        return "".join(c for c in self.rhs if c not in "OI")

    def input_dims(self) -> tuple[int, ...]:
        """Permutes a rebuilt input tensor to (N, C, *spatial)."""
        return tuple(NHWC_TO_NCHW[self.lhs.index(c)] for c in "NC" + self.spatial)

    def output_dims(self) -> tuple[int, ...]:
        """Permutes the (N, C, *spatial) result to the rebuilt layout of ``out``'s array."""
        order = "NC" + self.spatial
        return tuple(order.index(self.out[axis]) for axis in TORCH_AXES)

    def kernel_dims(self) -> tuple[int, ...]:
        """Permutes stax's kernel (laid out as ``rhs``) to torch's (O, I, *spatial)."""
        return tuple(self.rhs.index(c) for c in "OI" + self.spatial)


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a validated convolution needs, in its kernel's spatial order."""

    layout: ConvLayout
    channels: int
    out_chan: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: Pads
    out_shape: Shape

    @property
    def parameters(self) -> int:
        return self.kernel[0] * self.kernel[1] * self.channels * self.out_chan + self.out_chan


def _conv_layout(where: Where, layer: dict) -> ConvLayout:
    """The dimension numbers of a 2-D convolution with the batch axis first, or a refusal."""
    numbers = layer.get("dimension_numbers", DEFAULT_DIMENSION_NUMBERS)
    shown = f"`{numbers!r:.80}`"
    if not (isinstance(numbers, list | tuple) and len(numbers) == 3
            and all(isinstance(n, str) for n in numbers)):
        raise _fail(where, layer, f"dimension numbers {shown} must be three strings, like "
                                  "`('NHWC', 'HWIO', 'NHWC')`.")
    lhs, rhs, out = numbers
    lengths = {len(lhs), len(rhs), len(out)}
    if lengths != {4}:
        what = f"a {lengths.pop() - 2}-D convolution" if len(lengths) == 1 and 3 <= min(
            lengths) <= 8 else "not a 2-D convolution"
        raise _fail(where, layer, f"dimension numbers {shown} make {what}; the grader rebuilds "
                                  "2-D convolutions of images only (four letters each, like "
                                  "`('NHWC', 'HWIO', 'NHWC')`).")
    spatial = set(rhs) - {"O", "I"}
    if (len(set(lhs)) != 4 or len(set(rhs)) != 4 or len(set(out)) != 4 or len(spatial) != 2
            or not {"O", "I"} <= set(rhs) or set(lhs) != spatial | {"N", "C"}
            or set(out) != set(lhs)):
        raise _fail(where, layer, f"dimension numbers {shown} are not valid for "
                                  "`lax.conv_general_dilated`: the input and output specs "
                                  "hold `N`, `C` and the kernel's two spatial letters, the "
                                  "kernel spec `O`, `I` and those two letters, each once.")
    if lhs[0] != "N" or out[0] != "N":
        raise _fail(where, layer, f"dimension numbers {shown}: the batch axis `N` must come "
                                  "first in the input and output specs, since the grader "
                                  "feeds the model batches of images with the batch first.")
    return ConvLayout(lhs, rhs, out)


def conv_geometry(where: Where, layer: dict, shape: Shape) -> ConvGeometry:
    """Validate a ``Conv``/``GeneralConv`` on a batch of arrays shaped ``shape`` (batch
    left out), reading each axis by its letter in the input spec, as ``lax`` does."""
    layout = _conv_layout(where, layer)
    _needs_image(where, layer, shape)
    out_chan = _whole(where, layer, "out_chan", 1, MAX_WIDTH)
    kernel = _pair(where, layer, "filter_shape")
    strides = _pair(where, layer, "strides", (1, 1))
    array = (0, *shape)
    sizes = tuple(array[layout.lhs.index(c)] for c in layout.spatial)
    pads = _pads(where, layer, sizes, kernel, strides, explicit=True)
    outs = {c: _out_size(sizes[i], kernel[i], strides[i], pads[i])
            for i, c in enumerate(layout.spatial)}
    outs["C"] = out_chan
    return ConvGeometry(layout, array[layout.lhs.index("C")], out_chan, kernel, strides, pads,
                        tuple(outs[c] for c in layout.out[1:]))


def _pool_shape(where: Where, layer: dict, shape: Shape) -> Shape:
    _needs_image(where, layer, shape)
    spec = layer.get("spec")
    if spec is not None and not (isinstance(spec, str) and len(spec) == 4
                                 and spec.find("N") == 0 and spec.find("C") == 3):
        raise _fail(where, layer, f"`spec={spec!r:.40}` is not supported: the grader's images "
                                  "are NHWC, stax's default (leave `spec` out).")
    window = _pair(where, layer, "window_shape")
    strides = _pair(where, layer, "strides", (1, 1))
    pads = _pads(where, layer, shape, window, strides, explicit=False)
    size = tuple(_out_size(shape[i], window[i], strides[i], pads[i]) for i in (0, 1))
    return (*size, shape[2])


def _dense_shape(where: Where, layer: dict, shape: Shape) -> tuple[Shape, int]:
    if len(shape) != 1:
        raise _fail(where, layer, f"its input has shape {shape}, and `stax.Dense` on an image "
                                  "acts on the channel axis only. Add `stax.Flatten` before "
                                  "the first `stax.Dense`.")
    out = _whole(where, layer, "out_dim", 1, MAX_WIDTH)
    return (out,), shape[0] * out + out


def _check_dropout(where: Where, layer: dict) -> None:
    ranges.positive(layer.get("rate"), f"{_place(where, layer)}: `rate` (stax's probability "
                    "of keeping a unit)", 1.0, error=StaxSpecError)
    mode = layer.get("mode", "train")
    if mode not in ("train", "test"):
        raise _fail(where, layer, f"`mode` must be 'train' or 'test', not "
                                  f"{ranges.shown(mode)}.")


def _batch_norm_shape(where: Where, layer: dict, shape: Shape) -> tuple[Shape, int]:
    """``stax.BatchNorm``: axes of the batch-first input (NHWC images, or (N, D)) that
    include the batch axis 0, as stax's ``init_fun`` needs; its parameter count."""
    axes, rank = layer.get("axis"), len(shape) + 1
    layout = "(N, H, W, C)" if rank == 4 else "(N, D)"
    if (not isinstance(axes, list) or not axes or not all(ranges.is_integer(a) for a in axes)
            or len(set(axes)) != len(axes) or not all(0 <= a < rank for a in axes)
            or 0 not in axes):
        raise _fail(where, layer, f"`stax.BatchNorm(axis=...)` here normalises an input laid "
                                  f"out {layout}: the axes must be distinct, among 0..{rank - 1} "
                                  f"and include the batch axis 0 (stax's default is (0, 1, 2) "
                                  "for images, use (0,) after `Flatten`), not "
                                  f"{ranges.shown(axes)}.")
    ranges.number(layer.get("epsilon"), f"{_place(where, layer)}: `epsilon`", 0.0, 1.0,
                  high_open=True, error=StaxSpecError)
    if not all(isinstance(layer.get(k), bool) for k in ("center", "scale")):
        raise _fail(where, layer, "`stax.BatchNorm` needs `center` and `scale` that are True "
                                  "or False.")
    kept = math.prod(d for i, d in enumerate(shape, start=1) if i not in axes)
    return shape, kept * (int(layer["center"]) + int(layer["scale"]))


def _single(where: Where, layer: dict, value: Value) -> Shape:
    if isinstance(value, list):
        raise _fail(where, layer, f"it gets {len(value)} branches (from `stax.FanOut` or "
                                  "`stax.parallel`) but takes one input: join them first with "
                                  "`stax.FanInSum` or `stax.FanInConcat`.")
    return value


def _branches(where: Where, layer: dict, value: Value) -> list[Shape]:
    if not isinstance(value, list):
        raise _fail(where, layer, f"it takes the branches of a `stax.FanOut(n)` (or of a "
                                  f"`stax.parallel`) but gets one input of shape {value}: put "
                                  "`stax.FanOut(n)` before it.")
    return value


def _fan_in(where: Where, layer: dict, inputs: list[Shape]) -> Shape:
    """``FanInSum`` (all shapes equal: stax would broadcast or fail) or ``FanInConcat``."""
    shown = ", ".join(str(s) for s in inputs)
    if layer["type"] == "FanInSum":
        if any(s != inputs[0] for s in inputs):
            raise _fail(where, layer, f"`stax.FanInSum` adds its inputs, which must have one "
                                      f"shape, but they have shapes {shown}.")
        return inputs[0]
    axis, rank = layer.get("axis", -1), len(inputs[0]) + 1
    if not ranges.is_integer(axis) or not -rank <= axis < rank or axis % rank == 0:
        raise _fail(where, layer, f"`axis` must be a whole number from {1 - rank} to "
                                  f"{rank - 1} other than the batch axis 0, not "
                                  f"{ranges.shown(axis)} (stax's default -1 joins channels).")
    at = axis % rank - 1
    if (any(len(s) != len(inputs[0]) for s in inputs)
            or len({s[:at] + s[at + 1:] for s in inputs}) != 1):
        raise _fail(where, layer, f"`stax.FanInConcat(axis={axis})` joins inputs that agree "
                                  f"on every other axis, but they have shapes {shown}.")
    return (*inputs[0][:at], sum(s[at] for s in inputs), *inputs[0][at + 1:])


def _parallel(where: Where, layer: dict, inputs: list[Shape], depth: int,
              budget: list[int]) -> list[Shape]:
    """Each branch validated on its own input; one output per branch."""
    branches = layer.get("branches")
    if (not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES
            or not all(isinstance(b, list) and b for b in branches)):
        raise _fail(where, layer, f"`stax.parallel(...)` needs 1 to {MAX_BRANCHES} branches, "
                                  "each a layer or a `stax.serial(...)` of layers.")
    if len(branches) != len(inputs):
        raise _fail(where, layer, f"it has {len(branches)} branches but gets {len(inputs)} "
                                  "inputs, and stax would silently drop the extra ones: give "
                                  "the `stax.FanOut(n)` before it as many as there are "
                                  "branches.")
    outputs = []
    for number, (branch, shape) in enumerate(zip(branches, inputs, strict=True), start=1):
        out = _check_layers(branch, shape, f"{where}, branch {number}, layer ", depth + 1,
                            budget)[-1]
        if isinstance(out, list):
            raise _fail(where, layer, f"branch {number} ends with {len(out)} branches of its "
                                      "own: join them inside it with `stax.FanInSum` or "
                                      "`stax.FanInConcat`.")
        outputs.append(out)
    return outputs


def _layer_value(where: Where, layer: dict, value: Value, depth: int,
                 budget: list[int]) -> tuple[Value, int]:
    """The output of one validated layer (one shape, or one per branch) and its parameter
    count; ``parallel`` adds its branches' parameters to ``budget`` itself."""
    kind = layer["type"]
    if kind in FAN_INS:
        return _fan_in(where, layer, _branches(where, layer, value)), 0
    if kind == "parallel":
        return _parallel(where, layer, _branches(where, layer, value), depth, budget), 0
    shape = _single(where, layer, value)
    if kind == "FanOut":
        return [shape] * _whole(where, layer, "num", 1, MAX_BRANCHES), 0
    if kind == "Conv":
        geometry = conv_geometry(where, layer, shape)
        return geometry.out_shape, geometry.parameters
    if kind in POOLS:
        return _pool_shape(where, layer, shape), 0
    if kind == "Dense":
        return _dense_shape(where, layer, shape)
    if kind == "Flatten":
        return (math.prod(shape),), 0
    if kind == "Dropout":
        _check_dropout(where, layer)
    if kind == "BatchNorm":
        return _batch_norm_shape(where, layer, shape)
    return shape, 0


def _count_layers(layers: list, depth: int, seen: list[int]) -> None:
    """Refuse too many layers (those in branches included) or too deep a nesting of
    ``parallel``, before any layer is looked at: the walk stops at the first excess."""
    for layer in layers:
        seen[0] += 1
        if seen[0] > MAX_LAYERS:
            raise StaxSpecError(f"Your model has more than {MAX_LAYERS} layers (counting those "
                                f"inside `stax.parallel`); the grader rebuilds models of at "
                                f"most {MAX_LAYERS}.")
        branches = layer.get("branches") if isinstance(layer, dict) else None
        if layer_type(layer) != "parallel" or not isinstance(branches, list):
            continue
        if depth >= MAX_DEPTH:
            raise StaxSpecError(f"Your model nests `stax.parallel` more than {MAX_DEPTH} "
                                "levels deep; the grader rebuilds models of at most "
                                f"{MAX_DEPTH}.")
        for branch in branches[:MAX_BRANCHES + 1]:
            if isinstance(branch, list):
                _count_layers(branch, depth + 1, seen)


def layer_type(layer: Any) -> Any:
    return layer.get("type") if isinstance(layer, dict) else None


def _check_layers(layers: list, value: Value, prefix: str, depth: int,
                  budget: list[int]) -> list[Value]:
    """Validate a list of layers (the model's, or a branch's) fed ``value``; each output."""
    values: list[Value] = []
    for number, layer in enumerate(layers, start=1):
        where = f"{prefix}{number}"
        _check_type(where, layer)
        _check_fields(where, layer)
        value, count = _layer_value(where, layer, value, depth, budget)
        budget[0] += count
        for shape in value if isinstance(value, list) else [value]:
            if any(d < 1 for d in shape):
                raise _fail(where, layer, f"its output shape would be {shape}: the input is "
                                          "too small for this window, so nothing is left.")
            if math.prod(shape) > MAX_VALUE_SIZE:
                raise _fail(where, layer, f"its output shape {shape} holds more than "
                                          f"{MAX_VALUE_SIZE:,} numbers per image.")
        if budget[0] > MAX_PARAMETERS:
            raise _fail(where, layer, f"the model passes {MAX_PARAMETERS:,} parameters here "
                                      f"({budget[0]:,} so far).")
        values.append(value)
    return values


def check_stax_spec(spec: Any, input_shape: Sequence[int] = (28, 28, 1)) -> list[Value]:
    """Validate an untrusted layer list; return each layer's output shape (HWC or flat, in
    stax's axis order), a list of shapes where the model has branches.

    The final output size is not checked here: the caller knows how many classes it wants.
    """
    if not isinstance(spec, list) or not spec:
        raise StaxSpecError("Your model's layer list is empty or unreadable: build the model "
                            "with `stax.serial(layer, layer, ...)`.")
    _count_layers(spec, 0, [0])
    values = _check_layers(spec, tuple(input_shape), "", 0, [0])
    if isinstance(values[-1], list):
        raise _fail(len(spec), spec[-1], f"the model ends with {len(values[-1])} branches; "
                                         "join them with `stax.FanInSum` or "
                                         "`stax.FanInConcat`.")
    return values


def layer_sequence(spec: list[dict]) -> list[dict]:
    """A validated model's layers in order, each ``parallel`` replaced by its branches'
    layers (first branch first): what a check on the kinds of layers used reads."""
    flat: list[dict] = []
    for layer in spec:
        if layer_type(layer) == "parallel":
            for branch in layer["branches"]:
                flat += layer_sequence(branch)
        else:
            flat.append(layer)
    return flat


# --- the PyTorch modules ---------------------------------------------------------------------
def torch_pad(pads: Pads) -> tuple[int, int, int, int]:
    """``((top, bottom), (left, right))`` in ``F.pad``'s order for the last two dimensions."""
    (top, bottom), (left, right) = pads
    return left, right, top, bottom


class WindowSum(nn.Module):
    """Stax's ``SumPool`` (``average=False``) or ``AvgPool`` on NCHW input.

    The sum is exact (``divisor_override=1``); the average divides it by the number of
    unpadded pixels in each window, the way stax's ``AvgPool`` does for any padding.
    """

    def __init__(self, window: tuple[int, int], strides: tuple[int, int], pads: Pads,
                 average: bool) -> None:
        super().__init__()
        self.window, self.strides, self.average = window, strides, average
        self.pad = torch_pad(pads)

    def _sum(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(x, self.pad), self.window, self.strides, divisor_override=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = self._sum(x)
        return total / self._sum(torch.ones_like(x[:1, :1])) if self.average else total

    def extra_repr(self) -> str:
        return f"window={self.window}, strides={self.strides}, pad={self.pad}, " \
               f"average={self.average}"


class StaxBatchNorm(nn.Module):
    """Stax's ``BatchNorm``: every call standardises with the statistics of the batch it is
    given (stax keeps no running averages, in training or at test time), the variance as
    ``jax.nn.standardize`` computes it (mean of squares minus squared mean, clipped at 0),
    then scales by ``weight`` (stax's gamma) and shifts by ``bias`` (beta). Images are NCHW
    here; ``axes`` are NHWC axes, as the student wrote them."""

    def __init__(self, axes: Sequence[int], shape: Shape, epsilon: float, center: bool,
                 scale: bool) -> None:
        super().__init__()
        self.epsilon = float(epsilon)
        self.image = len(shape) == 3
        full = (1, *shape)  # the batch-first stax layout
        self.stax_shape = tuple(d for i, d in enumerate(full) if i not in axes)
        self.nhwc_broadcast = [1 if i in axes else d for i, d in enumerate(full)]
        self.dims = tuple(sorted(NHWC_TO_NCHW[a] if self.image else a for a in axes))
        broadcast = self._to_nchw(np.ones(self.nhwc_broadcast, dtype=np.float32)).shape
        self.weight = nn.Parameter(torch.ones(broadcast)) if scale else None
        self.bias = nn.Parameter(torch.zeros(broadcast)) if center else None

    def _to_nchw(self, array: np.ndarray) -> np.ndarray:
        return array.transpose(0, 3, 1, 2) if self.image else array

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=self.dims, keepdim=True)
        variance = ((x * x).mean(dim=self.dims, keepdim=True) - mean * mean).clamp_min(0)
        z = (x - mean) * torch.rsqrt(variance + self.epsilon)
        if self.weight is not None:
            z = z * self.weight
        return z + self.bias if self.bias is not None else z

    def load(self, beta: Any, gamma: Any) -> None:
        """Stax's (beta, gamma), shaped like the axes not normalised (NHWC order); an empty
        tuple where ``center`` or ``scale`` is off."""
        for target, value in ((self.bias, beta), (self.weight, gamma)):
            if target is None:
                continue
            array = np.asarray(value, dtype=np.float32)
            if array.shape != self.stax_shape:
                raise ValueError(f"a BatchNorm parameter of shape {array.shape}; the layer's "
                                 f"is {self.stax_shape}")
            nchw = self._to_nchw(array.reshape(self.nhwc_broadcast))
            target.copy_(torch.from_numpy(np.array(nchw, order="C")))

    def extra_repr(self) -> str:
        return f"dims={self.dims}, epsilon={self.epsilon:g}"


class Permute(nn.Module):
    """Reorders a tensor's dimensions: a ``GeneralConv`` reads and writes its arrays in the
    layouts its dimension numbers name."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class StaxConv(nn.Conv2d):
    """A ``Conv2d`` that knows how stax lays out its kernel (``kernel_dims`` permutes it to
    torch's OIHW), so that a student's parameters can be copied in."""

    def __init__(self, kernel_dims: Sequence[int], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kernel_dims = tuple(kernel_dims)


class FanOut(nn.Module):
    """Stax's ``FanOut(num)``: the same input, once per branch."""

    def __init__(self, num: int) -> None:
        super().__init__()
        self.num = num

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x] * self.num


class Parallel(nn.Module):
    """Stax's ``parallel``: branch ``i`` (a Sequential) applied to input ``i``."""

    def __init__(self, branches: Sequence[nn.Sequential]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [branch(x) for branch, x in zip(self.branches, inputs, strict=True)]


class FanInSum(nn.Module):
    """Stax's ``FanInSum``: ``sum(inputs)``, added left to right as Python's ``sum`` does."""

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total


class FanInConcat(nn.Module):
    """Stax's ``FanInConcat(axis)``, with the axis moved to where the rebuilt tensor has it."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(inputs), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class FlattenNHWC(nn.Module):
    """Stax's ``Flatten``: NCHW images are flattened in NHWC order, flat input is kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1)


def glorot_normal_(weight: torch.Tensor, fan_in: int, fan_out: int,
                   generator: torch.Generator) -> None:
    """``jax.nn.initializers.glorot_normal``: truncated at ±2 std, variance 2/(in+out)."""
    std = math.sqrt(2.0 / (fan_in + fan_out)) / TRUNCATED_STD
    nn.init.trunc_normal_(weight, 0.0, std, -2.0 * std, 2.0 * std, generator=generator)


def _unset(module: nn.Module) -> nn.Module:
    """A module built on the meta device, given real but unset memory: torch's own
    initialization (which draws from the global RNG) never runs; stax's replaces it."""
    return module.to_empty(device="cpu")


def _conv(layer: dict, shape: Shape, generator: torch.Generator) -> list[nn.Module]:
    geometry = conv_geometry(0, layer, shape)
    kernel, pads, out_chan = geometry.kernel, geometry.pads, geometry.out_chan
    symmetric = all(lo == hi for lo, hi in pads)
    conv = _unset(StaxConv(geometry.layout.kernel_dims(), geometry.channels, out_chan, kernel,
                           geometry.strides, padding=(pads[0][0], pads[1][0]) if symmetric
                           else 0, device="meta"))
    receptive = kernel[0] * kernel[1]
    glorot_normal_(conv.weight, geometry.channels * receptive, out_chan * receptive, generator)
    nn.init.normal_(conv.bias, 0.0, 1e-6, generator=generator)
    modules: list[nn.Module] = [conv] if symmetric else [nn.ZeroPad2d(torch_pad(pads)), conv]
    before, after = geometry.layout.input_dims(), geometry.layout.output_dims()
    unchanged = tuple(range(4))
    return ([Permute(before)] if before != unchanged else []) + modules \
        + ([Permute(after)] if after != unchanged else [])


def _pool(layer: dict, shape: Shape) -> list[nn.Module]:
    window = tuple(layer["window_shape"])
    strides = tuple(layer.get("strides", (1, 1)))
    pads = _pads(0, layer, shape, window, strides, explicit=False)
    if layer["type"] != "MaxPool":
        return [WindowSum(window, strides, pads, average=layer["type"] == "AvgPool")]
    pool = nn.MaxPool2d(window, strides)
    return [nn.ConstantPad2d(torch_pad(pads), -math.inf), pool] if any(map(any, pads)) \
        else [pool]


def _dense(layer: dict, shape: Shape, generator: torch.Generator) -> list[nn.Module]:
    dense = _unset(nn.Linear(shape[0], layer["out_dim"], device="meta"))
    glorot_normal_(dense.weight, shape[0], layer["out_dim"], generator)
    nn.init.normal_(dense.bias, 0.0, 1e-2, generator=generator)
    return [dense]


def _modules(layer: dict, value: Value, depth: int,
             generator: torch.Generator) -> list[nn.Module]:
    kind = layer["type"]
    if kind == "parallel":
        return [Parallel([nn.Sequential(*_build(branch, shape, depth + 1, generator))
                          for branch, shape in zip(layer["branches"], value, strict=True)])]
    if kind == "FanInSum":
        return [FanInSum()]
    if kind == "FanInConcat":
        rank = len(value[0]) + 1
        axis = layer.get("axis", -1) % rank
        return [FanInConcat(NHWC_TO_NCHW[axis] if rank == 4 else axis)]
    shape = _single(0, layer, value)
    if kind == "FanOut":
        return [FanOut(layer["num"])]
    if kind == "Conv":
        return _conv(layer, shape, generator)
    if kind in POOLS:
        return _pool(layer, shape)
    if kind == "Dense":
        return _dense(layer, shape, generator)
    if kind == "Flatten":
        return [FlattenNHWC()]
    if kind == "BatchNorm":
        return [StaxBatchNorm(layer["axis"], shape, layer["epsilon"], layer["center"],
                              layer["scale"])]
    if kind == "Dropout":
        train = layer.get("mode", "train") == "train"
        return [nn.Dropout(1.0 - float(layer["rate"]))] if train else [nn.Identity()]
    return [ELEMENTWISE[kind]()]


def _build(layers: list[dict], value: Value, depth: int,
           generator: torch.Generator) -> list[nn.Module]:
    """The modules of validated ``layers`` fed ``value``, initialized in order."""
    modules: list[nn.Module] = []
    for layer in layers:
        modules += _modules(layer, value, depth, generator)
        value = _layer_value(0, layer, value, depth, [0])[0]
    return modules


def rebuild_stax(spec: Any, input_shape: Sequence[int] = (28, 28, 1), *,
                 seed: int = 0) -> nn.Sequential:
    """A PyTorch model for the (validated) layer list, initialized like stax from ``seed``.

    It takes NCHW input, ``(N, C, H, W)`` for ``input_shape=(H, W, C)``, i.e. the stax
    input array ``x`` as ``x.permute(0, 3, 1, 2)``, or ``(N, D)`` for a flat
    ``input_shape=(D,)``. Randomness comes from a local generator, not the global RNG.
    """
    check_stax_spec(spec, input_shape)
    generator = torch.Generator().manual_seed(seed)
    return nn.Sequential(*_build(spec, tuple(input_shape), 0, generator))


WEIGHTED = (nn.Conv2d, nn.Linear, StaxBatchNorm, Parallel)
MAX_PARAMS_NESTING = 64  # serial inside serial, as deep as the describer accepts and more


def _layer_params(params: Any, depth: int = 0) -> Iterator[Any]:
    """The per-layer entries of a stax params tree: ``serial`` gives a list (flattened here,
    as the description flattens it), every other layer its own entry (a tuple)."""
    if depth > MAX_PARAMS_NESTING:
        raise ValueError("the params tree is nested too deeply")
    if isinstance(params, list):
        for entry in params:
            yield from _layer_params(entry, depth + 1)
    elif isinstance(params, tuple):
        yield params
    else:
        raise ValueError(f"not a stax params entry: {type(params).__name__}")


def _load(modules: nn.Sequential, params: Any) -> None:
    """Copy one layer list's params into its modules: an empty tuple is a layer without
    weights; every other entry belongs to the next weighted module, in order."""
    weighted = [m for m in modules.children() if isinstance(m, WEIGHTED)]
    entries = [e for e in _layer_params(params) if len(e)]
    if len(weighted) != len(entries):
        raise ValueError(f"params hold {len(entries)} weighted layers, the model "
                         f"{len(weighted)}")
    for module, entry in zip(weighted, entries, strict=True):
        if isinstance(module, Parallel):  # stax's tuple of per-branch params
            if len(entry) != len(module.branches):
                raise ValueError(f"params hold {len(entry)} branches, the model "
                                 f"{len(module.branches)}")
            for branch, branch_params in zip(module.branches, entry, strict=True):
                _load(branch, branch_params)
            continue
        if len(entry) != 2:
            raise ValueError(f"a layer's params are {len(entry)} values, not 2")
        w, b = entry
        if isinstance(module, StaxBatchNorm):  # stax's (beta, gamma)
            module.load(w, b)
            continue
        layout = module.kernel_dims if isinstance(module, StaxConv) else (1, 0)
        weight = np.array(np.asarray(w, dtype=np.float32).transpose(layout), order="C")
        module.weight.copy_(torch.from_numpy(weight))
        module.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float32).reshape(-1)))


def load_stax_params(model: nn.Sequential, params: Any) -> None:
    """Copy stax parameters (nested as ``init_fun`` returns them: ``serial`` a list,
    ``parallel`` a tuple per branch; arrays as numpy) into a rebuilt model."""
    with torch.no_grad():
        _load(model, params)
