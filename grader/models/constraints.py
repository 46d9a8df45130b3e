"""A problem's architecture rules, checked on the rebuilt model (trusted side).

``spec`` is a description that :func:`grader.models.rebuild.rebuild` accepted and ``model`` the
``nn.Sequential`` it built, so layer i of one is layer i of the other. Every check fails with
:func:`grader.feedback.fail` and a Markdown message that names the layers and the numbers
involved, so a student can fix the model from the message alone. Definitions follow the CS155
handout: hidden units are the ``out_features`` of every ``Linear`` layer but the last, hidden
layers are those ``Linear`` layers, and parameters are counted as the handout's sample code
counts them (trainable ones only).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import Any, NoReturn

import torch
from torch import nn

from grader.feedback import GradingFailure, fail
from grader.models.rebuild import format_layer
from grader.sandboxed.models.describe import DescribeError, describe_model
from grader.sandboxed.models.layers import format_names

__all__ = [
    "MAX_ACTIVATION",
    "check_allowed_layers",
    "check_computes",
    "check_hidden_layers",
    "check_hidden_units",
    "check_output_shape",
    "check_parameters",
    "check_required_layers",
    "count_parameters",
    "hidden_units",
]

MAX_ACTIVATION = 2**26  # values in one intermediate tensor for a batch of 2 (256 MiB)
Spec = Sequence[dict[str, Any]]


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, exactly as the handout's sample code counts them."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --- hidden units and layers ----------------------------------------------------------


def _linears(spec: Spec) -> list[dict[str, Any]]:
    return [entry for entry in spec if entry["type"] == "Linear"]


def hidden_units(spec: Spec) -> tuple[int, list[str]]:
    """Total ``out_features`` of the hidden ``Linear`` layers, and those layers as text."""
    hidden = _linears(spec)[:-1]
    return sum(e["args"]["out_features"] for e in hidden), [format_layer(e) for e in hidden]


def check_hidden_units(spec: Spec, limit: int) -> None:
    """At most ``limit`` hidden units."""
    total, layers = hidden_units(spec)
    if total <= limit:
        return
    terms = " + ".join(f"`{text}`" for text in layers)
    output = format_layer(_linears(spec)[-1])
    fail(
        f"Too many hidden units: {terms} = {total} hidden units, limit {limit} (the last Linear "
        f"layer, `{output}`, is the output and does not count)."
    )


def check_hidden_layers(spec: Spec, minimum: int) -> None:
    """At least ``minimum`` hidden layers (``Linear`` layers before the output one)."""
    linears = _linears(spec)
    hidden = linears[:-1]
    if len(hidden) >= minimum:
        return
    needed = f"{minimum} hidden layer{'' if minimum == 1 else 's'} needed"
    if not linears:
        fail(f"{needed}; your model has no `Linear` layer.")
    output = format_layer(linears[-1])
    if not hidden:
        fail(f"{needed}; your model has 0: its only `Linear` layer, `{output}`, is the output.")
    listed = ", ".join(f"`{format_layer(e)}`" for e in hidden)
    fail(
        f"{needed}; your model has {len(hidden)}: {listed} (then the output layer `{output}`). "
        f"A hidden layer is a `Linear` layer before the last one; activations and `Dropout` "
        f"do not count."
    )


# --- layer types ----------------------------------------------------------------------


def check_allowed_layers(spec: Spec, allowed: Collection[str]) -> None:
    """Only layer types from ``allowed`` (the trusted side's own check of the description)."""
    bad = [(i, e) for i, e in enumerate(spec, start=1) if e["type"] not in allowed]
    if not bad:
        return
    shown = [f"layer {i} `{format_layer(e)}`" for i, e in bad[:5]]
    if len(bad) > 5:
        shown.append(f"and {len(bad) - 5} more")
    fail(f"Not allowed in this problem: {', '.join(shown)}. The allowed layers are "
         f"{format_names(allowed)}.")


def check_required_layers(spec: Spec, required: Collection[str]) -> None:
    """At least one layer of each type in ``required`` (e.g. Dropout and BatchNorm2d)."""
    present = {e["type"] for e in spec}
    ordered = list(required) if isinstance(required, (list, tuple)) else sorted(required)
    missing = [name for name in ordered if name not in present]
    if missing:
        fail(" ".join(f"At least one `{n}` layer is required; your model has none."
                      for n in missing))


# --- parameters -----------------------------------------------------------------------


def check_parameters(model: nn.Sequential, spec: Spec, limit: int) -> None:
    """Fewer than ``limit`` trainable parameters (strictly, as the handout says)."""
    total = count_parameters(model)
    if total < limit:
        return
    layers = list(model)
    if len(layers) != len(spec):
        raise ValueError(f"model has {len(layers)} layers but spec has {len(spec)}")
    counts = sorted(
        ((count_parameters(layer), i) for i, layer in enumerate(layers)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    top = [(n, i) for n, i in counts[:3] if n > 0]
    if not top:
        fail(f"Fewer than {limit:,} parameters required; yours has {total:,}.")
    items = [f"`{format_layer(spec[i])}` with {n:,}" for n, i in top]
    listed = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    which = "the largest layer is" if len(items) == 1 else "the largest layers are"
    hint = ""
    if spec[top[0][1]]["type"] == "Linear" and any(e["type"] == "Conv2d" for e in spec):
        hint = (" A `Linear` layer after `Flatten` is usually the largest: pooling (or fewer "
                "channels) before `Flatten` shrinks its input.")
    fail(f"Fewer than {limit:,} parameters required; yours has {total:,}: {which} {listed}.{hint}")


# --- output shape ---------------------------------------------------------------------


def check_output_shape(
    model: nn.Sequential, input_shape: Sequence[int] = (1, 28, 28), n_classes: int = 10
) -> None:
    """The model maps a batch of 2 inputs to ``(2, n_classes)``, one row of class scores per
    example; otherwise say where it breaks."""
    entries = _entries(model, list(model))
    _check_output(_output_shape(model, entries, input_shape), entries, input_shape, n_classes)
    _check_rows_normalised(model)


def _check_rows_normalised(model: nn.Sequential) -> None:
    """A final ``Softmax``/``LogSoftmax`` normalises each example's scores (over dim 1 of the
    ``(N, classes)`` output). Over dim 0 it normalises each class across the batch: the shape
    is right, but an image's scores then depend on the other images of its batch."""
    last = model[-1] if len(model) else None
    if isinstance(last, nn.Softmax | nn.LogSoftmax) and last.dim in (0, -2):
        name = type(last).__name__
        fail(f"Your model ends with `{name}(dim={last.dim})`, which normalises over the batch "
             "(dim 0 of the `(N, 10)` output): each image's scores then depend on the other "
             f"images in its batch. Normalise each example's scores: `nn.{name}(dim=1)`.")


def check_computes(model: nn.Sequential, input_shape: Sequence[int] = (1, 28, 28), *,
                   must_run: bool = True) -> None:
    """The model does something real with an image: it runs on a batch, has trainable
    parameters, and its outputs change with the input, in eval mode and in training mode
    (where ``Dropout(p=1)`` would blank every image). The rules of a problem (layers, units,
    parameters) say nothing about a model that does not, so they are checked only after this.

    With ``must_run=False`` a model with parameters that breaks at some layer (a wrong
    ``in_features``: a bug, charged by the tests that run it) counts as real.
    """
    entries = _entries(model, list(model))
    try:
        _output_shape(model, entries, input_shape)
    except GradingFailure:
        if must_run:
            raise
        if count_parameters(model):
            return
    if count_parameters(model) == 0:
        fail("The model has no trainable parameters (only " + ", ".join(
             f"`{format_layer(e)}`" for e in entries) + "): it cannot learn anything. Add the "
             "`Linear` (and `Conv2d`) layers the problem asks for.")
    probe = copy.deepcopy(model).cpu()
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((2, 4, *input_shape), generator=generator)
    for training in (False, True):
        probe.train(training)
        torch.manual_seed(0)
        with torch.no_grad():
            first, second = probe(images[0]), probe(images[1])
        if torch.allclose(first, second, rtol=1e-6, atol=1e-7):
            mode = "in training mode" if training else "in eval mode"
            fail(f"The model gives the same output for different images {mode}: nothing it "
                 "computes depends on the input" + (" (a `Dropout(p=1)` blanks everything)"
                                                    if training else "") + ". Every layer "
                 "must pass information about the image on to the output.")


def _output_shape(model: nn.Sequential, entries: list[dict[str, Any]],
                  input_shape: Sequence[int]) -> tuple[int, ...]:
    """The output shape for a batch of 2 inputs; fails at the first layer that breaks.

    Shapes are first traced on the meta device (no memory), layer by layer, so an absurd
    intermediate tensor is refused before it is allocated; then the real model runs on zeros in
    eval mode under ``torch.no_grad``, also layer by layer, to find the first layer that raises.
    """
    layers = list(model)
    shape = (2, *input_shape)
    meta_failure = _trace_on_meta(layers, entries, shape, input_shape)
    device = next((t.device for t in [*model.parameters(), *model.buffers()]), None)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(shape, device=device)
            for i, layer in enumerate(layers):
                try:
                    y = layer(x)
                except Exception as exc:  # noqa: BLE001 - any error is a shape problem
                    _fail_at(entries, i, tuple(x.shape), exc, input_shape)
                if meta_failure and meta_failure[0] == i:  # meta was stricter: trust its error
                    _fail_at(entries, i, tuple(x.shape), meta_failure[1], input_shape)
                x = y
    finally:
        model.train(was_training)
    return tuple(x.shape)


def _entries(model: nn.Sequential, layers: list[nn.Module]) -> list[dict[str, Any]]:
    """The description of our own rebuilt model, for messages."""
    try:
        entries = describe_model(model)
    except DescribeError:
        entries = []
    if len(entries) != len(layers):
        entries = [{"type": type(layer).__name__, "args": {}} for layer in layers]
    return entries


def _trace_on_meta(
    layers: list[nn.Module], entries: list[dict[str, Any]], shape: tuple[int, ...],
    input_shape: Sequence[int],
) -> tuple[int, Exception] | None:
    """First failing layer on the meta device, if any; refuse oversized intermediates."""
    x = torch.zeros(shape, device="meta")
    for i, layer in enumerate(layers):
        try:
            x = copy.deepcopy(layer).to("meta").eval()(x)
        except Exception as exc:  # noqa: BLE001 - located again on real tensors
            return i, exc
        if x.numel() > MAX_ACTIVATION:
            fail(
                f"Layer {i + 1} `{format_layer(entries[i])}` produces a tensor of shape "
                f"{tuple(x.shape)} ({x.numel():,} values for a batch of 2 inputs of shape "
                f"{tuple(input_shape)}); the grader refuses intermediate tensors over "
                f"{MAX_ACTIVATION:,} values. Use fewer channels, less padding or pool earlier."
            )
    return None


def _fail_at(
    entries: list[dict[str, Any]], i: int, shape: tuple[int, ...], exc: BaseException,
    input_shape: Sequence[int],
) -> NoReturn:
    hint = _shape_hint(entries, i, shape)
    said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200].replace("`", "'")
    fail(
        f"The model fails on a batch of 2 inputs of shape {tuple(input_shape)}: layer {i + 1} "
        f"`{format_layer(entries[i])}` received a tensor of shape {shape}"
        f"{': ' + hint if hint else ''}. (PyTorch: {said})"
    )


def _shape_hint(entries: list[dict[str, Any]], i: int, shape: tuple[int, ...]) -> str:
    """Why the tensor entering layer ``i`` does not fit it, when a common cause is visible."""
    kind, args = entries[i]["type"], entries[i]["args"]
    before = {e["type"] for e in entries[:i]}
    if kind == "Linear" and "in_features" in args:
        if len(shape) > 2 and "Flatten" not in before:
            return (f"`Linear` needs one flat vector per example, but each example still has "
                    f"shape {shape[1:]}: add `nn.Flatten()` before it")
        wanted, got = args["in_features"], shape[-1]
        if got != wanted:
            where = ("after the convolutions and Flatten" if {"Conv2d", "Flatten"} <= before
                     else "after Flatten" if "Flatten" in before else "here")
            fixed = format_layer({"type": kind, "args": {**args, "in_features": got}})
            return f"{where} there are {got} features, not {wanted}: use `{fixed}`"
    if kind in ("Conv2d", "BatchNorm2d", "MaxPool2d") and len(shape) != 4:
        after = "; put it before `Flatten`" if "Flatten" in before else ""
        return (f"`{kind}` needs a 4-dimensional input (batch, channels, height, width), not "
                f"{len(shape)}-dimensional{after}")
    if kind == "BatchNorm1d" and len(shape) not in (2, 3):
        return "`BatchNorm1d` needs (batch, features): use `BatchNorm2d` on images"
    field = {"Conv2d": "in_channels", "BatchNorm2d": "num_features",
             "BatchNorm1d": "num_features"}.get(kind, "")
    if field in args and len(shape) >= 2 and shape[1] != args[field]:
        fixed = format_layer({"type": kind, "args": {**args, field: shape[1]}})
        unit = "features" if kind == "BatchNorm1d" else "channels"
        return f"it expects {args[field]} {unit} but the tensor has {shape[1]}: use `{fixed}`"
    if kind in ("Conv2d", "MaxPool2d") and len(shape) == 4 and _too_small(args, shape):
        return f"the image is only {shape[2]}×{shape[3]} here, smaller than this {kind}'s window"
    return ""


def _too_small(args: dict[str, Any], shape: tuple[int, ...]) -> bool:
    """Whether the padded image is smaller than the (dilated) kernel in some direction."""

    def pair(value: Any) -> tuple[int, int]:
        return (value, value) if isinstance(value, int) else (value[0], value[1])

    padding = args.get("padding", 0)
    if isinstance(padding, str):
        padding = 0 if padding == "valid" else pair(args["kernel_size"])[0]  # "same" always fits
    kernel, dilation, pad = pair(args["kernel_size"]), pair(args.get("dilation", 1)), pair(padding)
    return any(size + 2 * p < d * (k - 1) + 1
               for size, k, d, p in zip(shape[2:], kernel, dilation, pad, strict=True))


def _check_output(
    got: tuple[int, ...], entries: list[dict[str, Any]], input_shape: Sequence[int],
    n_classes: int,
) -> None:
    expected = (2, n_classes)
    if got == expected:
        return
    if len(got) > 2 and got[0] == 2:
        hint = (f"Each example still has shape {got[1:]}: add `nn.Flatten()` and end with a "
                f"`Linear` layer with {n_classes} outputs.")
    elif len(got) < 2 or got[0] != 2:
        hint = ("The batch dimension is gone: `Flatten` must keep dimension 0 (`start_dim=1`, "
                "the default).")
    else:
        linears = [e for e in entries if e["type"] == "Linear"]
        last = (f"your last `Linear` layer, `{format_layer(linears[-1])}`, must have "
                f"out_features={n_classes}" if linears
                else f"end with a `Linear` layer with {n_classes} outputs")
        hint = f"Your model gives {got[1]} values per example; {last}."
    fail(
        f"For a batch of 2 inputs of shape {tuple(input_shape)} the model outputs shape {got}; "
        f"it must be {expected}: one row of {n_classes} class scores per example. {hint}"
    )
