"""A Keras model read in PyTorch's vocabulary, so one set of problem rules serves both.

A pack that states its problems in PyTorch terms (CS155: "only Linear, ReLU, ... layers",
"hidden units are the outputs of every Linear layer but the last", "fewer than 1M
parameters") can take a Keras ``Sequential`` too. Its validated description
(:func:`grader.models.keras_rebuild.check_keras_spec`) and PyTorch rebuild
(:func:`~grader.models.keras_rebuild.rebuild_keras`) are presented here as the layer entries
and the ``nn.Sequential`` that :mod:`grader.models.constraints` checks, one entry per child:

- ``Dense`` is ``Linear`` and ``Conv2D`` is ``Conv2d``, each followed by its ``activation``
  as a layer of its own (``ReLU``, ``Softmax``, ...), as a PyTorch model spells it;
- ``MaxPooling2D`` is ``MaxPool2d``, ``AveragePooling2D`` ``AvgPool2d``,
  ``BatchNormalization`` ``BatchNorm2d`` on images (``BatchNorm1d`` on vectors), ``Flatten``,
  ``Dropout``, ``Activation``, ``ReLU`` and ``LeakyReLU`` keep their PyTorch names;
  ``Reshape`` has no PyTorch layer and keeps its own name (a problem that lists PyTorch
  layers refuses it); a model that takes flat vectors starts with the rebuild's ``Flatten``.

Parameters are what PyTorch counts on the rebuild: kernels, biases, and
``BatchNormalization``'s scale and offset, not its moving mean and variance (buffers in
PyTorch; Keras's ``count_params()`` adds them as non-trainable). Every layer is trained and
counted: ``trainable=False`` is not honoured here, as a PyTorch hand-in's
``requires_grad=False`` is not (its rebuild trains every layer), so freezing a layer neither
hides its weights from a parameter limit nor changes how the grader trains the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from grader.models.keras_rebuild import Layer, Rebuilt
from grader.models.rebuild import format_layer

__all__ = ["TorchView", "as_torch", "keras_terms"]

Entry = dict[str, Any]


@dataclass(frozen=True)
class TorchView:
    """The rebuild as the PyTorch-side checks read it: ``spec[i]`` describes ``model[i]``.

    Each entry also names the Keras layer it was read from (``keras``: its text, ``layer``:
    its position), for messages. ``model`` shares its modules with ``rebuilt.model``."""

    spec: list[Entry]
    model: nn.Sequential
    rebuilt: Rebuilt


def as_torch(rebuilt: Rebuilt) -> TorchView:
    """Present ``rebuilt`` (from :func:`rebuild_keras`) in PyTorch's layer vocabulary."""
    spec: list[Entry] = []
    children: list[nn.Module] = []
    keras = rebuilt.spec
    if len(keras.input_shape) == 1:  # rebuild_keras flattens the images first
        spec.append(_entry("Flatten", {}, f"Input(shape={keras.input_shape})", 0))
        children.append(rebuilt.model[0])
    for position, (layer, modules) in enumerate(zip(keras.layers, rebuilt.parts,
                                                    strict=True), 1):
        if not modules:  # InputLayer, Activation('linear')
            continue
        text = layer.describe()
        core, activation = _split(layer, modules, rebuilt.weighted.get(position - 1))
        if core:
            name, args = _core(layer)
            spec.append(_entry(name, args, text, position))
            children.append(core[0] if len(core) == 1 else nn.Sequential(*core))
        if activation is not None:
            spec.append(_entry(*_activation(activation), text, position))
            children.append(activation)
    model = nn.Sequential(*children)
    model.requires_grad_(True)  # trained and counted like a PyTorch hand-in's layers
    return TorchView(spec, model, rebuilt)


def _entry(name: str, args: dict[str, Any], keras: str, layer: int) -> Entry:
    return {"type": name, "args": args, "keras": keras, "layer": layer}


def _split(layer: Layer, modules: list[nn.Module], holder: nn.Module | None
           ) -> tuple[list[nn.Module], nn.Module | None]:
    """(the layer's own modules, with any padding; its activation module, if it has one)."""
    if layer.kind in ("Dense", "Conv2D") and holder is not None:
        at = next(i for i, m in enumerate(modules) if m is holder)
        rest = modules[at + 1:]
        return modules[:at + 1], rest[0] if rest else None
    if layer.kind in ("Activation", "ReLU", "LeakyReLU"):
        return [], modules[0]
    return modules, None


def _core(layer: Layer) -> tuple[str, dict[str, Any]]:
    """The PyTorch name and constructor arguments of a Keras layer (its activation apart)."""
    a, kind = layer.args, layer.kind
    if kind == "Dense":
        return "Linear", {"in_features": layer.in_shape[0], "out_features": a["units"],
                          "bias": a["use_bias"]}
    if kind == "Conv2D":
        return "Conv2d", {"in_channels": layer.in_shape[2], "out_channels": a["filters"],
                          "kernel_size": a["kernel_size"], "stride": a["strides"],
                          "padding": 0 if a["padding"] == "valid" else a["padding"],
                          "bias": a["use_bias"]}
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        name = "MaxPool2d" if kind == "MaxPooling2D" else "AvgPool2d"
        return name, {"kernel_size": a["pool_size"], "stride": a["strides"]}
    if kind == "BatchNormalization":
        name = "BatchNorm2d" if len(layer.in_shape) == 3 else "BatchNorm1d"
        return name, {"num_features": layer.in_shape[-1], "eps": a["epsilon"],
                      "momentum": round(1.0 - a["momentum"], 12), "affine": a["affine"]}
    if kind == "Dropout":
        return "Dropout", {"p": a["rate"]}
    if kind == "Reshape":
        return "Reshape", {"target_shape": a["target_shape"]}
    return kind, {}  # Flatten


def _activation(module: nn.Module) -> tuple[str, dict[str, Any]]:
    name = type(module).__name__
    if isinstance(module, nn.Softmax | nn.LogSoftmax):
        return name, {"dim": module.dim}
    if isinstance(module, nn.LeakyReLU):
        return name, {"negative_slope": module.negative_slope}
    return name, {}


def keras_terms(spec: Sequence[Entry]) -> str:
    """Markdown: how the rules read each Keras layer (one line per layer), and how
    parameters are counted; "" for a PyTorch model's description."""
    lines: list[str] = []
    last = None
    for entry in spec:
        if "keras" not in entry:
            return ""
        read = f"`{format_layer(entry)}`"
        if entry["layer"] == last:
            lines[-1] += f" + {read}"
        else:
            lines.append(f"- `{entry['keras']}` → {read}")
        last = entry["layer"]
    stats = sum(2 * e["args"]["num_features"] for e in spec
                if e["type"] in ("BatchNorm1d", "BatchNorm2d"))
    note = (f"\n\nParameters are counted as PyTorch counts them: Keras's `count_params()` "
            f"also counts BatchNormalization's moving mean and variance ({stats:,} here), "
            "which are not learned." if stats else "")
    return ("Your Keras model, as this problem's rules read it (`Dense` is `Linear`, "
            "`Conv2D` is `Conv2d`, an activation is a layer of its own):\n\n"
            + "\n".join(lines) + note)
