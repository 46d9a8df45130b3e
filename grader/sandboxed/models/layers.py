"""The whitelist of layers a student model may use, as plain data shared by both sides.

Each allowed ``torch.nn`` class is listed with the constructor arguments the grader accepts,
their types and ranges. The worker reads these arguments back from the student's layers
(:mod:`grader.sandboxed.models.describe`); the trusted side accepts nothing outside this
table when it rebuilds the model (:mod:`grader.models.rebuild`). Ranges are generous for
MNIST-sized homework but bounded, so a description can never ask the grader for absurd sizes.
No torch import here: the table is data. It lives with the worker's code because the worker
reads it; the trusted side importing it is harmless.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "MAX_FEATURES",
    "MAX_LAYERS",
    "REQUIRED",
    "WHITELIST",
    "Arg",
    "LayerType",
    "format_names",
]

MAX_LAYERS = 200
MAX_FEATURES = 100_000  # widths: features, channels
MAX_KERNEL = 15  # kernel sizes, strides, dilations, convolution padding
MAX_DIM = 8  # |dim| for Softmax, LogSoftmax and Flatten

Kind = Literal["int", "float", "bool", "size", "choice"]


class _Required:
    """Marker for an argument without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """One constructor argument and what values the grader accepts for it.

    Kinds: ``int`` and ``float`` in ``[low, high]``; ``bool``; ``size``, an int or a pair of
    ints in ``[low, high]`` or one of ``choices`` (e.g. ``"same"``); ``choice``, one of
    ``choices``. ``nullable`` also allows None. ``default_from`` names the argument whose value
    is the default (MaxPool2d's stride defaults to its kernel size). ``from_parameter`` marks a
    bool read back as "this parameter exists" (``bias``), not as an attribute.
    """

    name: str
    kind: Kind
    low: float = 0
    high: float = 0
    default: Any = REQUIRED
    nullable: bool = False
    choices: tuple[str, ...] = ()
    default_from: str = ""
    from_parameter: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class LayerType:
    """An allowed ``torch.nn`` class; the first ``positional`` args print without names."""

    name: str
    args: tuple[Arg, ...] = ()
    positional: int = 0

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)


def _width(name: str) -> Arg:
    return Arg(name, "int", 1, MAX_FEATURES)


def _size(name: str, low: int, default: Any = REQUIRED, **extra: Any) -> Arg:
    return Arg(name, "size", low, MAX_KERNEL, default, **extra)


_INPLACE = Arg("inplace", "bool", default=False)
_BIAS = Arg("bias", "bool", default=True, from_parameter=True)
_SOFTMAX_DIM = Arg("dim", "int", -MAX_DIM, MAX_DIM - 1, default=None, nullable=True)
_BATCHNORM = (
    _width("num_features"),
    Arg("eps", "float", 0.0, 1.0, default=1e-5),
    Arg("momentum", "float", 0.0, 1.0, default=0.1, nullable=True),
    Arg("affine", "bool", default=True),
    Arg("track_running_stats", "bool", default=True),
)
_DROPOUT = (Arg("p", "float", 0.0, 1.0, default=0.5), _INPLACE)

_TYPES = (
    LayerType("Linear", (_width("in_features"), _width("out_features"), _BIAS), positional=2),
    LayerType(
        "Conv2d",
        (
            _width("in_channels"),
            _width("out_channels"),
            _size("kernel_size", 1),
            _size("stride", 1, 1),
            _size("padding", 0, 0, choices=("same", "valid")),
            _size("dilation", 1, 1),
            Arg("groups", "int", 1, MAX_FEATURES, default=1),
            _BIAS,
            Arg("padding_mode", "choice", default="zeros", choices=("zeros",)),
        ),
        positional=2,
    ),
    LayerType(
        "MaxPool2d",
        (
            _size("kernel_size", 1),
            _size("stride", 1, None, nullable=True, default_from="kernel_size"),
            Arg("padding", "size", 0, MAX_KERNEL // 2, default=0),
            _size("dilation", 1, 1),
            Arg("ceil_mode", "bool", default=False),
        ),
        positional=1,
    ),
    LayerType("BatchNorm2d", _BATCHNORM, positional=1),
    LayerType("BatchNorm1d", _BATCHNORM, positional=1),
    LayerType("Dropout", _DROPOUT),
    LayerType("Dropout2d", _DROPOUT),
    LayerType("ReLU", (_INPLACE,)),
    LayerType("LeakyReLU", (Arg("negative_slope", "float", 0.0, 1.0, default=0.01), _INPLACE)),
    LayerType("Tanh"),
    LayerType("Sigmoid"),
    LayerType("Softmax", (_SOFTMAX_DIM,)),
    LayerType("LogSoftmax", (_SOFTMAX_DIM,)),
    LayerType(
        "Flatten",
        (
            Arg("start_dim", "int", -MAX_DIM, MAX_DIM - 1, default=1),
            Arg("end_dim", "int", -MAX_DIM, MAX_DIM - 1, default=-1),
        ),
    ),
)

WHITELIST: Mapping[str, LayerType] = MappingProxyType({t.name: t for t in _TYPES})


def format_names(names: Collection[str]) -> str:
    """``Linear``, ``ReLU`` and ``Softmax`` as Markdown, in the pack's order when it has one."""
    ordered = list(names) if isinstance(names, (list, tuple)) else sorted(names)
    shown = [f"`{n}`" for n in ordered]
    if len(shown) <= 1:
        return "".join(shown) or "none"
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
