"""Describe a student's Keras model as plain data (runs in the untrusted worker).

The trusted side never runs student code, so it cannot receive the Keras model itself. This
module reads what Keras records about a ``Sequential`` model: each layer's class and
``get_config()``, the input shape, and what ``compile`` was given (optimizer and loss). The
result is lists, dicts, numbers and strings, which :mod:`grader.models.keras` validates
against its whitelist and rebuilds in PyTorch.

Refused here, with a message for the student: objects that are not Keras models, functional
or subclassed models (only ``Sequential`` is rebuilt), custom layer classes and subclasses of
standard ones (their code would be lost in a rebuild), and a layer whose ``call`` was replaced.
Whatever slips through (a lie in a config) is caught on the trusted side, which compares its
rebuild, loaded with the student's weights, against the student's own outputs (``probe``).

Nothing is imported from Keras at module level: the worker imports this module for every pack.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from grader.sandboxed.errors import DescribeError

__all__ = ["DescribeError", "describe_keras"]

MAX_LAYERS = 200
MAX_CONFIG_CHARS = 20_000
MAX_PROBE = 64
# Where a model declares no input, the notebook's data decide: images (28, 28, 1), or flat
# vectors of 784 pixels for a model whose first weighted layer is Dense.
IMAGE_SHAPE = (28, 28, 1)
FLAT_SHAPE = (784,)
_SHAPE_KEEPING = ("Dropout", "Activation", "ReLU", "LeakyReLU", "BatchNormalization")


def describe_keras(model: Any, *args: Any, probe: Any = None) -> dict[str, Any]:
    """Describe ``model`` (or what calling it with ``args`` returns, for a builder function).

    With ``probe`` (images, ``(n, 28, 28)``), also return the model's own outputs on them in
    inference mode and every layer's weights, for the trusted side's fidelity check.
    """
    keras = _keras()
    if callable(model) and not isinstance(model, keras.Model):
        model = model(*args)
    _check_model(keras, model)
    input_shape = _build(keras, model)
    layers = [_layer(keras, i, layer) for i, layer in enumerate(model.layers, 1)]
    described: dict[str, Any] = {"input_shape": list(input_shape), "layers": layers,
                                 "compile": _compiled(keras, model)}
    if probe is not None:
        images = np.asarray(probe, dtype=np.float32)[:MAX_PROBE]
        x = images.reshape((len(images), *input_shape))
        out = model(x, training=False)
        described["outputs"] = np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float32)
        described["weights"] = [[np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
                                for layer in model.layers]
    return described


def _keras() -> Any:
    try:
        import keras
    except ImportError as exc:
        raise DescribeError("Keras is not installed where grading runs (install the grader "
                            "with its `keras` extra).") from exc
    return keras


def _kind(obj: Any) -> str:
    return f"a `{type(obj).__name__}`"


def _check_model(keras: Any, model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise DescribeError(f"It returned {_kind(model)}, not a Keras model: return the "
                            "`Sequential` model you built (`return model`).")
    if type(model) is not keras.Sequential:
        raise DescribeError(
            f"It returned {_kind(model)}: the grader rebuilds `keras.Sequential` models only "
            "(a functional or subclassed model's code could not be rebuilt faithfully). "
            "Build it as `Sequential()` and `model.add(...)` each layer.")
    if len(model.layers) > MAX_LAYERS:
        raise DescribeError(f"The model has {len(model.layers)} layers; at most {MAX_LAYERS} "
                            "are supported.")
    if not model.layers:
        raise DescribeError("The model has no layers: `model.add(...)` them before returning it.")


def _declared_shape(model: Any) -> tuple[int, ...] | None:
    try:
        shape = model.input_shape if model.built else None
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):  # several inputs: not a Sequential chain
        return None
    return tuple(shape[1:]) if shape is not None else None


def _build(keras: Any, model: Any) -> tuple[int, ...]:
    """The input shape (without the batch axis), building the model on it when unbuilt."""
    declared = _declared_shape(model)
    if declared is not None:
        if not all(isinstance(d, int) for d in declared):
            raise DescribeError(f"The model's input shape {declared} has an unknown size; "
                                "declare it fully, e.g. `keras.Input(shape=(28, 28, 1))`.")
        return declared
    first = next((type(layer).__name__ for layer in model.layers
                  if type(layer).__name__ not in _SHAPE_KEEPING), "")
    shape = FLAT_SHAPE if first == "Dense" else IMAGE_SHAPE
    try:
        model.build((None, *shape))
    except Exception as exc:
        raise DescribeError(
            f"The model could not be built on inputs of shape {shape} (the notebook's "
            f"{'flattened images' if shape == FLAT_SHAPE else 'images'}): "
            f"{type(exc).__name__}: {_clip(str(exc), 300)}") from None
    return shape


def _layer(keras: Any, position: int, layer: Any) -> dict[str, Any]:
    name = type(layer).__name__
    where = f"Layer {position} (`{_clip(str(getattr(layer, 'name', name)), 60)}`)"
    standard = getattr(keras.layers, name, None)
    if standard is not type(layer):
        what = ("a subclass of a Keras layer" if isinstance(layer, keras.layers.Layer)
                else "not a Keras layer")
        raise DescribeError(
            f"{where} is a `{_clip(name, 60)}`, {what}. The grader rebuilds your model from "
            "standard Keras layers (`keras.layers.Dense`, `Conv2D`, ...), so custom layer "
            "code would be lost: use the standard layers.")
    if "call" in vars(layer) or "__call__" in vars(layer):
        raise DescribeError(f"{where}: its `call` was replaced; the grader rebuilds standard "
                            "layers, so that change would be lost.")
    try:
        config = layer.get_config()
        text = json.dumps(config, default=_unserializable, allow_nan=True)
    except Exception as exc:
        raise DescribeError(f"{where}: its configuration could not be read "
                            f"({type(exc).__name__}: {_clip(str(exc), 200)}).") from None
    if len(text) > MAX_CONFIG_CHARS:
        raise DescribeError(f"{where}: its configuration is too large to describe.")
    return {"class": name, "config": json.loads(text)}


def _unserializable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 16:
        return value.tolist()
    return f"<{type(value).__name__}>"  # a function or object the trusted side will refuse


def _compiled(keras: Any, model: Any) -> dict[str, Any] | None:
    """What ``model.compile`` was given, or None when the model was never compiled."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    return {"optimizer": _optimizer(keras, optimizer), "loss": _loss(keras, model.loss)}


def _optimizer(keras: Any, optimizer: Any) -> dict[str, Any]:
    name = type(optimizer).__name__
    public = getattr(keras.optimizers, name, None)
    # On the PyTorch backend an optimizer is a backend subclass of the public class.
    if (not isinstance(public, type) or not isinstance(optimizer, public)
            or not type(optimizer).__module__.startswith("keras.")):
        return {"class": _clip(name, 60), "config": {}, "custom": True}
    try:
        config = json.loads(json.dumps(optimizer.get_config(), default=_unserializable))
    except Exception as exc:
        raise DescribeError(f"The optimizer's configuration could not be read "
                            f"({type(exc).__name__}: {_clip(str(exc), 200)}).") from None
    return {"class": name, "config": config}


def _loss(keras: Any, loss: Any) -> dict[str, Any]:
    if isinstance(loss, str):
        return {"name": _clip(loss, 80)}
    if isinstance(loss, keras.losses.Loss):
        name = type(loss).__name__
        if getattr(keras.losses, name, None) is not type(loss):
            return {"name": _clip(name, 80), "custom": True}
        try:
            config = json.loads(json.dumps(loss.get_config(), default=_unserializable))
        except Exception:
            config = {}
        return {"class": name, "config": config}
    name = getattr(loss, "__name__", None)
    if isinstance(name, str) and getattr(keras.losses, name, None) is loss:
        return {"name": name}
    return {"name": _clip(str(name or type(loss).__name__), 80), "custom": True}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
