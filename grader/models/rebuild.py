"""Validate a model description from the worker and rebuild it with the grader's ``torch.nn``.

The description is untrusted data (:mod:`grader.sandboxed.models.describe` runs next to
student code), so nothing in it is taken on faith: every entry must name a whitelisted, allowed
layer type, every argument must be known for that type and have the right type and range (no
bools where ints belong, no NaN, no huge sizes), and the total parameter count is bounded
before anything is allocated. Only then are the layers built, with the real ``torch.nn``
constructors.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import torch
from torch import nn

from grader import ranges
from grader.feedback import MarkdownError, describe_value
from grader.sandboxed.models.layers import (
    MAX_LAYERS,
    REQUIRED,
    WHITELIST,
    Arg,
    LayerType,
    format_names,
)

__all__ = ["MAX_PARAMETERS", "ModelSpecError", "format_layer", "rebuild", "validate_spec"]

MAX_PARAMETERS = 50_000_000  # what the grader will allocate; packs set their own, lower limits
_SHAPE = '`{"type": ..., "args": {...}}`'


class ModelSpecError(MarkdownError):
    """The description cannot be rebuilt; ``message`` (Markdown) says which layer and why."""


def rebuild(spec: Any, allowed: Collection[str]) -> nn.Sequential:
    """Build the ``nn.Sequential`` that ``spec`` describes, or raise :class:`ModelSpecError`."""
    entries = validate_spec(spec, allowed)
    counts = [_parameter_count(entry) for entry in entries]
    if sum(counts) > MAX_PARAMETERS:
        largest = max(range(len(counts)), key=counts.__getitem__)
        raise ModelSpecError(
            f"The model would have {sum(counts):,} parameters; the grader builds models of at "
            f"most {MAX_PARAMETERS:,}. The largest is layer {largest + 1}, "
            f"`{format_layer(entries[largest])}`, with {counts[largest]:,}."
        )
    return nn.Sequential(*(_build(i, entry) for i, entry in enumerate(entries, start=1)))


def validate_spec(spec: Any, allowed: Collection[str]) -> list[dict[str, Any]]:
    """Check ``spec`` against the whitelist and ``allowed``; return it with clean values.

    Clean means: exactly the arguments given, ints and bools as such, floats as ``float``,
    pairs as two-element lists. Raises ValueError when ``allowed`` itself is wrong (a pack bug).
    """
    if isinstance(allowed, str) or not set(allowed) <= set(WHITELIST):
        raise ValueError(f"allowed must be names from the whitelist, got {allowed!r}")
    if type(spec) is not list:
        raise ModelSpecError(
            f"The model description must be a list of layers; got {describe_value(spec)}."
        )
    if not spec:
        raise ModelSpecError("The model has no layers.")
    if len(spec) > MAX_LAYERS:
        raise ModelSpecError(
            f"The model has {len(spec)} layers; at most {MAX_LAYERS} are supported."
        )
    return [_validate_entry(i, entry, allowed) for i, entry in enumerate(spec, start=1)]


def _validate_entry(position: int, entry: Any, allowed: Collection[str]) -> dict[str, Any]:
    where = f"layer {position}"
    if type(entry) is not dict or set(entry) != {"type", "args"} or type(entry["args"]) is not dict:
        raise ModelSpecError(f"{where}: expected {_SHAPE}, got {describe_value(entry)}.")
    name, args = entry["type"], entry["args"]
    shown = f"{where}: `{format_layer(entry)}`"
    if type(name) is not str or name not in WHITELIST:
        raise ModelSpecError(
            f"{shown}: not a supported layer type; the grader supports "
            f"{format_names(list(WHITELIST))}."
        )
    if name not in allowed:
        raise ModelSpecError(
            f"{shown}: `{name}` is not allowed here; the allowed layers are "
            f"{format_names(allowed)}."
        )
    layer_type = WHITELIST[name]
    for key in args:
        if type(key) is not str or key not in layer_type.arg_names:
            takes = ", ".join(layer_type.arg_names) or "no arguments"
            raise ModelSpecError(
                f"{shown}: unknown argument {_key(key)} (`{name}` takes {takes})."
            )
    clean = {}
    for arg in layer_type.args:
        if arg.name in args:
            problem, value = _check_value(arg, args[arg.name])
            if problem:
                raise ModelSpecError(f"{shown}: {problem}")
            clean[arg.name] = value
        elif arg.required:
            raise ModelSpecError(f"{shown}: {arg.name} is required.")
    return {"type": name, "args": clean}


def _check_value(arg: Arg, value: Any) -> tuple[str, Any]:
    """``("", clean value)`` when ``value`` is acceptable for ``arg``, else ``(problem, None)``."""
    if value is None and arg.nullable:
        return "", None
    if arg.kind == "bool" and type(value) is bool:
        return "", value
    if arg.kind == "int" and ranges.is_integer_in(value, arg.low, arg.high):
        return "", int(value)
    if arg.kind == "float" and ranges.is_number(value):
        if ranges.within(value, arg.low, arg.high):
            return "", float(value)
        return f"{arg.name} must be in {_range(arg)}, not {ranges.number_text(value)}.", None
    if arg.kind == "size":
        if type(value) is str and value in arg.choices:
            return "", value
        if ranges.is_integer_in(value, arg.low, arg.high):
            return "", int(value)
        if type(value) in (list, tuple) and len(value) == 2 and all(
                ranges.is_integer_in(v, arg.low, arg.high) for v in value):
            return "", [int(v) for v in value]
    if arg.kind == "choice" and type(value) is str and value in arg.choices:
        return "", value
    return f"{arg.name} must be {_expected(arg)}; got {_got(value)}.", None


def _expected(arg: Arg) -> str:
    text = {
        "bool": "True or False",
        "int": f"an integer in {_range(arg)}",
        "float": f"a number in {_range(arg)}",
        "size": f"an integer in {_range(arg)} or a pair of them",
        "choice": "",
    }[arg.kind]
    if arg.choices:
        options = " or ".join(repr(c) for c in arg.choices)
        text = f"{text}, or {options}" if text else options
    return f"{text}, or None" if arg.nullable else text


def _range(arg: Arg) -> str:
    return ranges.interval(arg.low, arg.high)


def _got(value: Any) -> str:
    kind = {bool: "a bool", str: "a string", float: "a number", int: "an integer"}.get(
        type(value), f"a {type(value).__name__}"
    )
    return f"`{_value(value)}` ({kind})"


def _parameter_count(entry: dict[str, Any]) -> int:
    """Parameters the layer will have, computed before anything is allocated."""
    args = entry["args"]
    bias = args.get("bias", True)
    if entry["type"] == "Linear":
        return args["in_features"] * args["out_features"] + (args["out_features"] if bias else 0)
    if entry["type"] == "Conv2d":
        kernel = args["kernel_size"]
        area = kernel * kernel if isinstance(kernel, int) else kernel[0] * kernel[1]
        per_filter = args["in_channels"] // args.get("groups", 1) * area
        return args["out_channels"] * (per_filter + (1 if bias else 0))
    if entry["type"].startswith("BatchNorm") and args.get("affine", True):
        return 2 * args["num_features"]
    return 0


def _build(position: int, entry: dict[str, Any]) -> nn.Module:
    cls = getattr(nn, entry["type"])
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in entry["args"].items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelSpecError(
            f"layer {position}: `{format_layer(entry)}`: PyTorch refuses this layer: "
            f"{reason.replace('`', chr(39))}"
        ) from None


# --- formatting -----------------------------------------------------------------------


def format_layer(entry: Any, limit: int = 120) -> str:
    """Compact text such as ``Conv2d(1, 32, kernel_size=3, padding=1)`` for messages.

    Only arguments that differ from the default are shown. Works on any input, valid or not,
    so that error messages can show exactly what was refused.
    """
    if type(entry) is not dict:
        return _clip(_value(entry), limit)
    name, args = entry.get("type"), entry.get("args")
    head = name if type(name) is str and name.isidentifier() else _value(name)
    if type(args) is dict:
        body = ", ".join(_arg_texts(WHITELIST.get(name) if type(name) is str else None, args))
    else:
        body = "" if args is None else _value(args)
    return _clip(f"{head}({body})", limit)


def _arg_texts(layer_type: LayerType | None, args: dict) -> list[str]:
    known = layer_type.args if layer_type else ()
    parts = []
    positional = True
    for index, arg in enumerate(known):
        if arg.name not in args:
            positional = False
            continue
        value = args[arg.name]
        if positional and index < layer_type.positional:
            parts.append(_value(value, arg))
            continue
        positional = False
        if not _is_default(arg, value, args):
            parts.append(f"{arg.name}={_value(value, arg)}")
    names = {a.name for a in known}
    parts.extend(f"{_key(k)}={_value(v)}" for k, v in args.items() if k not in names)
    return parts


def _is_default(arg: Arg, value: Any, args: dict) -> bool:
    if arg.default_from:
        return value is None or _same(value, args.get(arg.default_from))
    return arg.default is not REQUIRED and _same(value, arg.default)


def _same(a: Any, b: Any) -> bool:
    a, b = _collapse(a), _collapse(b)
    return type(a) is type(b) and a == b


def _collapse(value: Any) -> Any:
    """A pair of equal sizes reads as one number, as ``torch.nn`` accepts either."""
    if type(value) in (list, tuple) and len(value) == 2 and type(value[0]) is type(value[1]):
        return value[0] if value[0] == value[1] else value
    return value


def _value(value: Any, arg: Arg | None = None) -> str:
    if type(value) is int and abs(value) >= 10**18:
        return f"<{value.bit_length()}-bit integer>"
    if value is None or type(value) in (bool, int):
        return str(value)
    if type(value) is float:
        return repr(value)
    if type(value) is str:
        return repr(value if len(value) <= 30 else value[:27] + "...").replace("`", "'")
    if type(value) in (list, tuple):
        if arg is not None and arg.kind == "size" and _collapse(value) is not value:
            return _value(_collapse(value))
        items = [_value(v) for v in value[:4]] + (["..."] if len(value) > 4 else [])
        return f"({', '.join(items)})"
    if type(value) is dict:
        return "{...}"
    return f"<{_clip(type(value).__name__, 30)}>"


def _key(key: Any) -> str:
    return key if type(key) is str and key.isidentifier() else _value(key)


def _clip(text: str, limit: int) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_fidelity(model: nn.Sequential, probe: Any, images: Any, *, rtol: float = 1e-3,
                   atol: float = 1e-4) -> str:
    """Whether ``model`` (our rebuild), given the weights the student's own model reported in
    ``probe`` (:func:`grader.sandboxed.models.describe.probe_model`), computes that model's
    outputs on ``images``. Returns "" when it does, else what differs (for the student)."""
    state = probe.get("state") if isinstance(probe, dict) else None
    theirs = probe.get("outputs") if isinstance(probe, dict) else None
    if not isinstance(state, dict) or theirs is None:
        return "the model's own weights and outputs could not be read"
    ours = dict(_tensors(model))
    if set(ours) != set(state):
        missing, extra = sorted(set(ours) - set(state))[:3], sorted(set(state) - set(ours))[:3]
        return (f"its weights do not fit the layers it was described with (missing {missing}, "
                f"unexpected {extra})")
    with torch.no_grad():
        for key, tensor in ours.items():
            value = np.asarray(state[key])
            if value.shape != tuple(tensor.shape) or value.dtype.kind not in "biuf":
                return f"its weight `{key}` has shape {value.shape}, the layer needs " \
                       f"{tuple(tensor.shape)}"
            tensor.copy_(torch.from_numpy(value.astype(np.float64)).to(tensor.dtype))
        was_training = model.training
        model.eval()
        try:
            mine = model(torch.as_tensor(np.asarray(images), dtype=torch.float32)).numpy()
        finally:
            model.train(was_training)
    theirs = np.asarray(theirs, dtype=np.float64)
    if theirs.shape != mine.shape or not np.all(np.isfinite(theirs)):
        return f"its own outputs have shape {theirs.shape} (or are not finite), ours {mine.shape}"
    bad = np.abs(mine - theirs) > atol + rtol * np.abs(theirs)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        return (f"given its own weights, the rebuild computes {mine[i]:.6g} where the model "
                f"computed {theirs[i]:.6g} (output {list(i)})")
    return ""


def _tensors(model: nn.Sequential) -> list[tuple[str, torch.Tensor]]:
    found = []
    for i, layer in enumerate(model):
        for name, tensor in [*layer.named_parameters(recurse=False),
                             *layer.named_buffers(recurse=False)]:
            if tensor is not None:
                found.append((f"{i}.{name}", tensor))
    return found
