"""Validate a student's ``stax`` layer list and rebuild the model in PyTorch (trusted side).

The list comes from the worker (:mod:`grader.models.stax_describe`), so it is untrusted data:
every entry is checked against a whitelist with sane bounds before anything is allocated.
The rebuilt model takes NCHW images and computes what the stax model computes on NHWC ones:

- ``Conv``: stax's default dimension numbers (NHWC, HWIO) only; ``VALID``, ``SAME`` and
  ``SAME_LOWER`` padded as ``lax.padtype_to_pads`` pads (an odd total puts the extra row on
  the high side for ``SAME``), or explicit ``(low, high)`` pairs.
- pooling: stax's default stride is 1, not the window. ``MaxPool`` pads with -inf, ``SumPool``
  with 0, and ``AvgPool`` divides each window's sum by its number of real (unpadded) pixels,
  as stax's ``_normalize_by_window_size`` does. Stax itself accepts only string paddings here.
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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from grader.feedback import MarkdownError

__all__ = ["ALLOWED_LAYERS", "MAX_PARAMETERS", "StaxSpecError", "check_stax_spec",
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
ALLOWED_LAYERS = ("Conv", "Dense", *POOLS, "Flatten", "Dropout", "BatchNorm", *ELEMENTWISE)
FIELDS: dict[str, frozenset[str]] = {
    "Conv": frozenset({"out_chan", "filter_shape", "strides", "padding", "dimension_numbers"}),
    "Dense": frozenset({"out_dim"}),
    **{pool: frozenset({"window_shape", "strides", "padding", "spec"}) for pool in POOLS},
    "Dropout": frozenset({"rate", "mode"}),
    "BatchNorm": frozenset({"axis", "epsilon", "center", "scale"}),
}
MAX_WIDTH = 8192
MAX_KERNEL = 28
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 100
DEFAULT_DIMENSION_NUMBERS = ["NHWC", "HWIO", "NHWC"]
_PAD_NAMES = ("VALID", "SAME", "SAME_LOWER")
# The standard deviation of a unit normal truncated to [-2, 2]; jax.nn.initializers divides
# by it so that the truncated draw has the variance asked for.
TRUNCATED_STD = 0.87962566103423978  # std of a unit normal truncated at ±2

Shape = tuple[int, ...]
Pads = tuple[tuple[int, int], tuple[int, int]]


class StaxSpecError(MarkdownError, ValueError):
    """A layer list the grader refuses; ``str(err)`` is Markdown naming the layer."""


# --- validation ------------------------------------------------------------------------------
def _fail(index: int, layer: Any, message: str) -> StaxSpecError:
    kind = layer.get("type") if isinstance(layer, dict) else None
    shown = f"`{kind}`" if isinstance(kind, str) else f"a `{type(layer).__name__}`"
    return StaxSpecError(f"Layer {index} ({shown[:120]}) of your `stax.serial(...)` model: "
                         f"{message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(index: int, layer: dict, key: str, low: int, high: int) -> int:
    value = layer.get(key)
    if not _is_int(value) or not low <= value <= high:
        raise _fail(index, layer, f"`{key}` must be a whole number from {low} to {high}, "
                                  f"not `{value!r:.60}`.")
    return value


def _pair(index: int, layer: dict, key: str, default: Sequence[int] | None = None
          ) -> tuple[int, int]:
    value = layer.get(key, default)
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(_is_int(v) and 1 <= v <= MAX_KERNEL for v in value)):
        raise _fail(index, layer, f"`{key}` must be two whole numbers from 1 to {MAX_KERNEL} "
                                  f"(2-D images only), not `{value!r:.60}`.")
    return value[0], value[1]


def same_pads(size: int, window: int, stride: int, lower: bool = False) -> tuple[int, int]:
    """``lax.padtype_to_pads`` for ``SAME`` (extra pixel high) or ``SAME_LOWER`` (low)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def _pads(index: int, layer: dict, size: Shape, window: tuple[int, int],
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
                     and all(_is_int(v) and 0 <= v <= MAX_KERNEL for p in padding for v in p)):
        return (padding[0][0], padding[0][1]), (padding[1][0], padding[1][1])
    allowed = "`'VALID'`, `'SAME'` or `'SAME_LOWER'`"
    if explicit:
        allowed += f", or two `(low, high)` pairs of whole numbers from 0 to {MAX_KERNEL}"
    raise _fail(index, layer, f"`padding` must be {allowed}, not `{padding!r:.60}`.")


def _out_size(size: int, window: int, stride: int, pad: tuple[int, int]) -> int:
    return (size + pad[0] + pad[1] - window) // stride + 1


def _check_fields(index: int, layer: dict) -> None:
    extra = set(layer) - {"type"} - FIELDS.get(layer["type"], frozenset())
    if extra:
        names = ", ".join(sorted(f"`{k!s:.40}`" for k in extra))
        raise _fail(index, layer, f"unexpected field(s) {names}.")


def _check_type(index: int, layer: Any) -> str:
    kind = layer.get("type") if isinstance(layer, dict) else None
    if isinstance(kind, str) and kind in ALLOWED_LAYERS:
        return kind
    allowed = ", ".join(f"`stax.{t}`" for t in ALLOWED_LAYERS)
    name = layer.get("name") if isinstance(layer, dict) else None
    what = f"`{name!s:.100}` is" if isinstance(name, str) and name else "this is"
    raise _fail(index, layer, f"{what} not a layer the grader can rebuild. Use only {allowed} "
                              "(`stax.Conv` with its default dimension numbers).")


def _needs_image(index: int, layer: dict, shape: Shape) -> None:
    if len(shape) != 3:
        raise _fail(index, layer, f"it needs an image input (height, width, channels) but "
                                  f"gets shape {shape}: put it before `stax.Flatten`.")


def _conv_shape(index: int, layer: dict, shape: Shape) -> tuple[Shape, int]:
    _needs_image(index, layer, shape)
    numbers = layer.get("dimension_numbers", DEFAULT_DIMENSION_NUMBERS)
    if not isinstance(numbers, list | tuple) or list(numbers) != DEFAULT_DIMENSION_NUMBERS:
        raise _fail(index, layer, f"dimension numbers `{numbers!r:.80}` are not supported; "
                                  "use `stax.Conv` (NHWC images, HWIO kernels).")
    out = _whole(index, layer, "out_chan", 1, MAX_WIDTH)
    kernel = _pair(index, layer, "filter_shape")
    strides = _pair(index, layer, "strides", (1, 1))
    pads = _pads(index, layer, shape, kernel, strides, explicit=True)
    size = tuple(_out_size(shape[i], kernel[i], strides[i], pads[i]) for i in (0, 1))
    return (*size, out), kernel[0] * kernel[1] * shape[2] * out + out


def _pool_shape(index: int, layer: dict, shape: Shape) -> Shape:
    _needs_image(index, layer, shape)
    spec = layer.get("spec")
    if spec is not None and not (isinstance(spec, str) and len(spec) == 4
                                 and spec.find("N") == 0 and spec.find("C") == 3):
        raise _fail(index, layer, f"`spec={spec!r:.40}` is not supported: the grader's images "
                                  "are NHWC, stax's default (leave `spec` out).")
    window = _pair(index, layer, "window_shape")
    strides = _pair(index, layer, "strides", (1, 1))
    pads = _pads(index, layer, shape, window, strides, explicit=False)
    size = tuple(_out_size(shape[i], window[i], strides[i], pads[i]) for i in (0, 1))
    return (*size, shape[2])


def _dense_shape(index: int, layer: dict, shape: Shape) -> tuple[Shape, int]:
    if len(shape) != 1:
        raise _fail(index, layer, f"its input has shape {shape}, and `stax.Dense` on an image "
                                  "acts on the channel axis only. Add `stax.Flatten` before "
                                  "the first `stax.Dense`.")
    out = _whole(index, layer, "out_dim", 1, MAX_WIDTH)
    return (out,), shape[0] * out + out


def _check_dropout(index: int, layer: dict) -> None:
    rate, mode = layer.get("rate"), layer.get("mode", "train")
    if (not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1
            or mode not in ("train", "test")):
        raise _fail(index, layer, "`stax.Dropout(rate, mode)` needs a keep probability `rate` "
                                  f"in (0, 1] and mode 'train' or 'test', not rate "
                                  f"`{rate!r:.40}` and mode `{mode!r:.40}`.")


def _batch_norm_shape(index: int, layer: dict, shape: Shape) -> tuple[Shape, int]:
    """``stax.BatchNorm``: axes of the batch-first input (NHWC images, or (N, D)) that
    include the batch axis 0, as stax's ``init_fun`` needs; its parameter count."""
    axes, rank = layer.get("axis"), len(shape) + 1
    layout = "(N, H, W, C)" if rank == 4 else "(N, D)"
    if (not isinstance(axes, list) or not axes or not all(_is_int(a) for a in axes)
            or len(set(axes)) != len(axes) or not all(0 <= a < rank for a in axes)
            or 0 not in axes):
        raise _fail(index, layer, f"`stax.BatchNorm(axis=...)` here normalises an input laid "
                                  f"out {layout}: the axes must be distinct, among 0..{rank - 1} "
                                  f"and include the batch axis 0 (stax's default is (0, 1, 2) "
                                  f"for images, use (0,) after `Flatten`), not `{axes!r:.60}`.")
    epsilon = layer.get("epsilon")
    if (not isinstance(epsilon, int | float) or isinstance(epsilon, bool)
            or not 0 <= epsilon < 1) or not all(isinstance(layer.get(k), bool)
                                               for k in ("center", "scale")):
        raise _fail(index, layer, "`stax.BatchNorm` needs an epsilon in [0, 1) and "
                                  "`center`/`scale` that are True or False.")
    kept = math.prod(d for i, d in enumerate(shape, start=1) if i not in axes)
    return shape, kept * (int(layer["center"]) + int(layer["scale"]))


def _layer_shape(index: int, layer: dict, shape: Shape) -> tuple[Shape, int]:
    """The output shape of one validated layer and its parameter count."""
    kind = layer["type"]
    if kind == "Conv":
        return _conv_shape(index, layer, shape)
    if kind in POOLS:
        return _pool_shape(index, layer, shape), 0
    if kind == "Dense":
        return _dense_shape(index, layer, shape)
    if kind == "Flatten":
        return (math.prod(shape),), 0
    if kind == "Dropout":
        _check_dropout(index, layer)
    if kind == "BatchNorm":
        return _batch_norm_shape(index, layer, shape)
    return shape, 0


def check_stax_spec(spec: Any, input_shape: Sequence[int] = (28, 28, 1)) -> list[Shape]:
    """Validate an untrusted layer list; return each layer's output shape (HWC or flat).

    The final output size is not checked here: the caller knows how many classes it wants.
    """
    if not isinstance(spec, list) or not spec:
        raise StaxSpecError("Your model's layer list is empty or unreadable: build the model "
                            "with `stax.serial(layer, layer, ...)`.")
    if len(spec) > MAX_LAYERS:
        raise StaxSpecError(f"Your model has {len(spec)} layers; the grader rebuilds models of "
                            f"at most {MAX_LAYERS}.")
    shape: Shape = tuple(input_shape)
    shapes: list[Shape] = []
    parameters = 0
    for index, layer in enumerate(spec, start=1):
        _check_type(index, layer)
        _check_fields(index, layer)
        shape, count = _layer_shape(index, layer, shape)
        parameters += count
        if any(d < 1 for d in shape):
            raise _fail(index, layer, f"its output shape would be {shape}: the input is too "
                                      "small for this window, so nothing is left.")
        if parameters > MAX_PARAMETERS:
            raise _fail(index, layer, f"the model passes {MAX_PARAMETERS:,} parameters here "
                                      f"({parameters:,} so far).")
        shapes.append(shape)
    return shapes


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


NHWC_TO_NCHW = {0: 0, 1: 2, 2: 3, 3: 1}  # where each axis of an NHWC image is in NCHW


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
    kernel = tuple(layer["filter_shape"])
    strides = tuple(layer.get("strides", (1, 1)))
    pads = _pads(0, layer, shape, kernel, strides, explicit=True)
    symmetric = all(lo == hi for lo, hi in pads)
    conv = _unset(nn.Conv2d(shape[2], layer["out_chan"], kernel, strides,
                            padding=(pads[0][0], pads[1][0]) if symmetric else 0,
                            device="meta"))
    receptive = kernel[0] * kernel[1]
    glorot_normal_(conv.weight, shape[2] * receptive, layer["out_chan"] * receptive, generator)
    nn.init.normal_(conv.bias, 0.0, 1e-6, generator=generator)
    return [conv] if symmetric else [nn.ZeroPad2d(torch_pad(pads)), conv]


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


def _modules(layer: dict, shape: Shape, generator: torch.Generator) -> list[nn.Module]:
    kind = layer["type"]
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


def rebuild_stax(spec: Any, input_shape: Sequence[int] = (28, 28, 1), *,
                 seed: int = 0) -> nn.Sequential:
    """A PyTorch model for the (validated) layer list, initialized like stax from ``seed``.

    It takes NCHW input, ``(N, C, H, W)`` for ``input_shape=(H, W, C)``, or ``(N, D)`` for a
    flat ``input_shape=(D,)``. Randomness comes from a local generator, not the global RNG.
    """
    shapes = check_stax_spec(spec, input_shape)
    generator = torch.Generator().manual_seed(seed)
    modules: list[nn.Module] = []
    shape: Shape = tuple(input_shape)
    for layer, out_shape in zip(spec, shapes, strict=True):
        modules += _modules(layer, shape, generator)
        shape = out_shape
    return nn.Sequential(*modules)


def _weighted_params(params: Any) -> Iterator[tuple[Any, Any]]:
    """The ``(W, b)`` pairs of a stax params tree, in order (nested ``serial`` flattened)."""
    if isinstance(params, list):
        for entry in params:
            yield from _weighted_params(entry)
    elif isinstance(params, tuple) and len(params) == 2:
        yield params[0], params[1]
    elif isinstance(params, tuple) and len(params) == 0:
        return
    else:
        raise ValueError(f"not a stax params entry: {type(params).__name__}")


def load_stax_params(model: nn.Sequential, params: Any) -> None:
    """Copy stax parameters (``init_fun``'s list, arrays as numpy) into a rebuilt model."""
    weighted = [m for m in model.modules()
                if isinstance(m, nn.Conv2d | nn.Linear | StaxBatchNorm)]
    pairs = list(_weighted_params(params))
    if len(weighted) != len(pairs):
        raise ValueError(f"params hold {len(pairs)} weighted layers, the model {len(weighted)}")
    with torch.no_grad():
        for module, (w, b) in zip(weighted, pairs, strict=True):
            if isinstance(module, StaxBatchNorm):  # stax's (beta, gamma)
                module.load(w, b)
                continue
            layout = (3, 2, 0, 1) if isinstance(module, nn.Conv2d) else (1, 0)  # HWIO -> OIHW
            weight = np.array(np.asarray(w, dtype=np.float32).transpose(layout), order="C")
            module.weight.copy_(torch.from_numpy(weight))
            module.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float32).reshape(-1)))
