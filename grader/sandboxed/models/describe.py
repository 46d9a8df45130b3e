"""Describe a student's ``nn.Sequential`` as a list of layers (runs in the untrusted worker).

The trusted side must never run student code, so it cannot receive the model object itself.
Instead the worker reads each layer's constructor arguments back from its attributes and sends
``[{"type": "Conv2d", "args": {...}}, ...]``: plain JSON that the grader validates and rebuilds
with its own ``torch.nn`` (:mod:`grader.models.rebuild`). Weights are not sent: the grader
trains the rebuilt model from scratch.

Whatever the rebuilt model could not reproduce is refused here with a message for the student:
custom classes (including subclasses of allowed layers, whose overridden ``forward`` would be
lost), layers outside the whitelist, hooks, a replaced ``forward``, and one weighted layer used
at two positions (shared weights would become two separate layers).
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Collection, Iterator
from typing import Any

import numpy as np
from torch import nn
from torch.nn.modules import module as torch_module

from grader.sandboxed.errors import DescribeError
from grader.sandboxed.models.layers import MAX_LAYERS, WHITELIST, Arg, LayerType, format_names

__all__ = ["DescribeError", "describe_model", "model_framework", "probe_model"]

MAX_NESTING = 16
_REBUILT = "the grader rebuilds your model from standard layers, so that change would be lost"
_HOOKS = {
    "_forward_pre_hooks": "a forward pre-hook (`register_forward_pre_hook`)",
    "_forward_hooks": "a forward hook (`register_forward_hook`)",
    "_backward_pre_hooks": "a backward pre-hook (`register_full_backward_pre_hook`)",
    "_backward_hooks": "a backward hook (`register_full_backward_hook`)",
}
Description = list[dict[str, Any]]


def describe_model(model: Any, allowed: Collection[str] | None = None) -> Description:
    """Return the layers of ``model`` in forward order, nested ``nn.Sequential`` flattened.

    ``allowed`` (layer type names) refuses other whitelisted layers already here; the trusted
    side checks it again either way.
    """
    model = _uncompiled(model)
    _check_root(model)
    _check_global_hooks()
    names = list(allowed) if allowed is not None else list(WHITELIST)
    described: Description = []
    weighted: dict[int, int] = {}
    for position, (path, layer) in enumerate(_flatten(model, "model", [id(model)]), start=1):
        if position > MAX_LAYERS:
            raise DescribeError(
                f"The model has more than {MAX_LAYERS} layers; at most {MAX_LAYERS} are supported."
            )
        described.append(_describe_layer(_where(position, path), layer, names, weighted, position))
    return described


def model_framework(model: Any) -> str:
    """``"keras"`` for a Keras model, else ``"torch"``: which describer a pack that accepts
    both frameworks asks. Only routing: each describer refuses what it cannot read, and the
    trusted side validates whatever comes back. Keras is not imported here (a hand-in that
    never imported it cannot have built a Keras model)."""
    keras = sys.modules.get("keras")
    base = getattr(keras, "Model", None) if keras is not None else None
    return "keras" if isinstance(base, type) and isinstance(model, base) else "torch"


MAX_PROBE_IMAGES = 64


def probe_model(model: Any, images: Any) -> dict[str, Any]:
    """The model's own parameters and buffers, keyed ``"<layer>.<name>"`` in the flattened
    order of :func:`describe_model`, and its outputs on ``images`` in eval mode.

    This ties a description to the model the builder returned: the grader loads these weights
    into its rebuild and must get these outputs (a description that was forged, rather than
    read from a real model, would have to compute them too).
    """
    import torch

    model = _uncompiled(model)
    _check_root(model)
    batch = np.asarray(images, dtype=np.float32)[:MAX_PROBE_IMAGES]
    state: dict[str, np.ndarray] = {}
    for i, (_, layer) in enumerate(_flatten(model, "model", [id(model)])):
        tensors = [*layer.named_parameters(recurse=False), *layer.named_buffers(recurse=False)]
        for name, tensor in tensors:
            if tensor is not None:
                state[f"{i}.{name}"] = tensor.detach().cpu().numpy().copy()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(torch.from_numpy(batch))
    finally:
        model.train(was_training)
    return {"state": state, "outputs": outputs.detach().cpu().numpy()}


# --- the container --------------------------------------------------------------------


def _uncompiled(model: Any) -> Any:
    """``torch.compile(model)`` wraps the model; the wrapped ``nn.Sequential`` is what counts."""
    cls = type(model)
    if cls.__name__ == "OptimizedModule" and cls.__module__.startswith("torch._dynamo"):
        return getattr(model, "_orig_mod", model)
    return model


def _check_root(model: Any) -> None:
    if isinstance(model, type):
        name = _safe(model.__name__)
        raise DescribeError(
            f"Expected a model, got the class `{name}` itself: build the model with "
            f"`nn.Sequential(...)` and hand over that object."
        )
    if not isinstance(model, nn.Module):
        got = "`None` (did the function forget to `return` the model?)" if model is None else (
            f"a `{_safe(type(model).__name__)}`"
        )
        raise DescribeError(f"The model must be an `nn.Sequential` of layers; got {got}.")
    _check_sequential(model, "The model")
    _check_hooks(model, "The model")


def _check_sequential(module: nn.Module, what: str) -> None:
    cls = type(module)
    if cls is nn.Sequential:
        return
    name = _safe(cls.__name__)
    if isinstance(module, nn.Sequential):
        raise DescribeError(
            f"{what} is `{name}`, a subclass of `nn.Sequential`: use `nn.Sequential(...)` "
            f"itself ({_REBUILT})."
        )
    if _is_torch_class(cls):
        raise DescribeError(
            f"{what} is a single `nn.{name}`, not an `nn.Sequential`: wrap your layers as "
            f"`nn.Sequential(...)`."
        )
    raise DescribeError(
        f"{what} is a custom `nn.Module` subclass `{name}`: build your model as "
        f"`nn.Sequential(...)` of the allowed layers ({_REBUILT})."
    )


def _check_hooks(module: nn.Module, what: str) -> None:
    for attr, label in _HOOKS.items():
        if getattr(module, attr, None):
            raise DescribeError(
                f"{what} has {label} registered: a hook changes what the layer computes and "
                f"{_REBUILT}. Remove the hook."
            )
    if "forward" in vars(module):
        raise DescribeError(
            f"{what} has its `forward` method replaced: {_REBUILT}. Use the layer unchanged."
        )


def _check_global_hooks() -> None:
    for attr, label in _HOOKS.items():
        if getattr(torch_module, f"_global{attr}", None):
            kind = label.split(" (")[0].removeprefix("a ")
            raise DescribeError(
                f"A global {kind} is registered for every module "
                f"(`torch.nn.modules.module.register_module_*`): {_REBUILT}. Remove it."
            )


def _flatten(container: nn.Module, path: str, stack: list[int]) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, layer)`` in the order ``nn.Sequential.forward`` calls them."""
    if len(stack) > MAX_NESTING:
        raise DescribeError(f"`{path}`: `nn.Sequential` nested more than {MAX_NESTING} deep.")
    for name, child in list(container._modules.items()):
        child_path = f"{path}[{name}]" if str(name).isdigit() else f"{path}.{_safe(str(name))}"
        if not isinstance(child, nn.Sequential):
            yield child_path, child
            continue
        if id(child) in stack:
            raise DescribeError(
                f"`{child_path}` is a block that contains itself (a loop): it could never finish."
            )
        what = f"The nested block `{child_path}`"
        _check_sequential(child, what)
        _check_hooks(child, what)
        yield from _flatten(child, child_path, [*stack, id(child)])


# --- one layer ------------------------------------------------------------------------


def _describe_layer(
    where: str, layer: Any, allowed: list[str], weighted: dict[int, int], position: int
) -> dict[str, Any]:
    layer_type = _layer_type(where, layer, allowed)
    _check_hooks(layer, f"{where}, `nn.{layer_type.name}`,")
    _check_shared(where, layer, layer_type, weighted, position)
    args = {arg.name: _read(where, layer, layer_type, arg) for arg in layer_type.args}
    _check_unsupported(where, layer, layer_type)
    return {"type": layer_type.name, "args": args}


def _layer_type(where: str, layer: Any, allowed: list[str]) -> LayerType:
    if layer is None or not isinstance(layer, nn.Module):
        got = "`None`" if layer is None else f"a `{_safe(type(layer).__name__)}`"
        raise DescribeError(f"{where} is {got}, not a layer.")
    cls = type(layer)
    name = _safe(cls.__name__)
    choices = f"the allowed layers are {format_names(allowed)}"
    if name in WHITELIST and _is_torch_class(cls):
        if name not in allowed:
            raise DescribeError(f"{where}, `nn.{name}`, is not allowed here; {choices}.")
        return WHITELIST[name]
    bases = (c for c in cls.__mro__[1:] if c.__name__ in WHITELIST and _is_torch_class(c))
    base = next(bases, None)
    if base is not None:
        raise DescribeError(
            f"{where} is `{name}`, a subclass of `nn.{base.__name__}`: use "
            f"`nn.{base.__name__}` itself (what the subclass changes, e.g. `forward`: {_REBUILT})."
        )
    if _is_torch_class(cls):
        raise DescribeError(f"{where}, `nn.{_torch_repr(layer)}`, is not allowed; {choices}.")
    raise DescribeError(
        f"{where} is `{name}`, a custom `nn.Module`: only standard `torch.nn` layers can be "
        f"graded; {choices}."
    )


def _check_shared(
    where: str, layer: nn.Module, layer_type: LayerType, weighted: dict[int, int], position: int
) -> None:
    """A layer with weights or buffers used twice would become two layers when rebuilt."""
    state = [*layer._parameters.values(), *layer._buffers.values()]
    if not any(t is not None for t in state):
        return
    first = weighted.setdefault(id(layer), position)
    if first != position:
        raise DescribeError(
            f"{where} is the same `nn.{layer_type.name}` object as layer {first}: a layer with "
            f"weights may appear only once (shared weights are not supported); create a new "
            f"`nn.{layer_type.name}(...)` for each position."
        )


def _read(where: str, layer: nn.Module, layer_type: LayerType, arg: Arg) -> Any:
    if arg.from_parameter:
        return getattr(layer, arg.name, None) is not None
    try:
        value = getattr(layer, arg.name)
    except AttributeError:
        raise DescribeError(
            f"{where}, `nn.{layer_type.name}`, has no `{arg.name}` attribute; was it deleted?"
        ) from None
    return _plain(value, f"{where}, `nn.{layer_type.name}`: `{arg.name}`")


def _plain(value: Any, what: str, depth: int = 0) -> Any:
    """The value as JSON data: numpy scalars become Python numbers, tuples become lists."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (tuple, list)) and depth == 0 and len(value) <= 4:
        return [_plain(v, what, 1) for v in value]
    raise DescribeError(f"{what} is a `{_safe(type(value).__name__)}`; expected a number.")


def _check_unsupported(where: str, layer: nn.Module, layer_type: LayerType) -> None:
    if layer_type.name == "MaxPool2d" and getattr(layer, "return_indices", False):
        raise DescribeError(
            f"{where}, `nn.MaxPool2d`, has `return_indices=True`: it then returns a pair, which "
            f"the next layer cannot take. Leave `return_indices` at False."
        )
    if layer_type.name.startswith("BatchNorm") and layer.affine and layer.bias is None:
        raise DescribeError(
            f"{where}, `nn.{layer_type.name}`, has `bias=False`, which the grader does not "
            f"support; leave it at the default."
        )


# --- text helpers ---------------------------------------------------------------------


def _where(position: int, path: str) -> str:
    plain = f"model[{position - 1}]"
    return f"layer {position}" if path == plain else f"layer {position} (`{path}`)"


def _is_torch_class(cls: type) -> bool:
    return getattr(nn, cls.__name__, None) is cls


def _torch_repr(layer: nn.Module) -> str:
    try:
        text = repr(layer)
    except Exception:  # noqa: BLE001 - attributes may have been replaced by anything
        text = f"{type(layer).__name__}(...)"
    text = " ".join(text.split())
    return _safe(text if len(text) <= 80 else text[:77] + "...")


def _safe(text: str, limit: int = 100) -> str:
    """Student-chosen names go inside Markdown code spans: no backticks, bounded length."""
    text = str(text).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 3] + "..."
