"""Describe a student's stax model and JAX optimizer as plain data (runs in the untrusted worker).

The trusted side never runs student code, so it cannot receive the JAX functions themselves.
Stax layers are ``(init_fun, apply_fun)`` pairs of closures, and their arguments live in the
closure cells: this module reads them back (``__code__.co_freevars`` and ``__closure__``) and
sends lists, dicts and numbers that :mod:`grader.models.stax` validates and rebuilds in PyTorch.

Stax splits a layer's arguments between its two functions: ``Dense``'s ``out_dim`` and
``Conv``'s ``out_chan`` and ``filter_shape`` exist only in ``init_fun``, while the function an
elementwise layer applies, pooling's reducer and dropout's rate exist only in ``apply_fun``.
A full description therefore needs the pair that ``stax.serial(...)`` returns; an ``apply_fun``
alone is enough only for models without ``Dense`` or ``Conv`` layers.

Likewise an optimizer's hyperparameters and step size live only in its update function
(``opt_update``); ``opt_init`` and ``get_params`` give its name and nothing more.

Nothing is imported from JAX at module level: the worker imports this module for every pack.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from grader.sandboxed.errors import DescribeError

__all__ = ["MAX_SCHEDULE_STEPS", "DescribeError", "describe_jax_optimizer", "describe_stax"]

MAX_LAYERS = 200
MAX_NESTING = 32
MAX_SCHEDULE_STEPS = 1_000_000
_NAME_CHARS = 100
_STAX_MODULES = frozenset({"jax.example_libraries.stax", "jax.experimental.stax"})
_OPTIMIZER_MODULES = frozenset({"jax.example_libraries.optimizers",
                                "jax.experimental.optimizers"})
_PAIR_HINT = ("Pass the pair that `stax.serial(...)` returns, e.g. "
              "`init_random_params, predict = stax.serial(...)`.")
# Optimizer name -> its hyperparameters, named as in the JAX signatures.
HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("mass",),
    "nesterov": ("mass",),
    "adagrad": ("momentum",),
    "rmsprop": ("gamma", "eps"),
    "rmsprop_momentum": ("gamma", "eps", "momentum"),
    "adam": ("b1", "b2", "eps"),
    "adamax": ("b1", "b2", "eps"),
}
# A schedule is called step by step in Python (exactly as un-jitted JAX code calls it) when
# that is quick; otherwise it is evaluated once under ``jax.vmap`` and checked against calls.
_LOOP_SECONDS = 5.0
_LOOP_PROBE = 2_000
_PROBES = 16

Layer = dict[str, Any]


# --- closures --------------------------------------------------------------------------------
def _cells(fn: Any) -> dict[str, Any]:
    """The closure variables of ``fn`` by name (empty cells and non-functions give ``{}``)."""
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None) or ()
    if code is None:
        return {}
    values = {}
    for name, cell in zip(code.co_freevars, closure, strict=False):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return values


def _cell_objects(fn: Any) -> dict[str, Any]:
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None) or ()
    return dict(zip(code.co_freevars, closure, strict=False)) if code is not None else {}


def _maker(fn: Any) -> str:
    """The constructor that made a closure: ``'GeneralConv.<locals>.init_fun'`` gives
    ``GeneralConv``; a function that is no closure gives its own name."""
    qualname = str(getattr(fn, "__qualname__", "") or getattr(fn, "__name__", ""))
    parts = qualname.split(".<locals>.")
    return parts[-2].rsplit(".", 1)[-1] if len(parts) > 1 else qualname


def _from_module(fn: Any, modules: frozenset[str]) -> bool:
    return getattr(fn, "__module__", None) in modules and hasattr(fn, "__code__")


def _short_name(fn: Any) -> str:
    qualname = getattr(fn, "__qualname__", None)
    text = str(qualname) if qualname else repr(fn)
    return text[:_NAME_CHARS]


# --- plain values ----------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """``value`` as JSON-able Python data; what has no such form becomes its short repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        try:
            return _plain(np.asarray(value).tolist())
        except Exception:  # an exotic array-like: keep a readable trace of it
            pass
    return repr(value)[:_NAME_CHARS]


def _padding(value: Any) -> Any:
    """Stax paddings as the grader states them: upper-case strings, or lists of pairs."""
    if isinstance(value, str):
        return value.upper()
    return _plain(value)


# --- stax ------------------------------------------------------------------------------------
def describe_stax(model: Any, init_fun: Callable | None = None) -> list[Layer]:
    """The layers of a stax model in order, nested ``serial`` flattened.

    ``model`` is the ``(init_fun, apply_fun)`` pair a stax constructor returns, or its
    ``apply_fun`` alone (then ``init_fun`` may be given separately). Unrecognised layers are
    described as ``{"type": "unknown", ...}``; :class:`DescribeError` is raised only when
    ``model`` is no stax layer at all, or when layer sizes cannot be read. A
    ``stax.parallel`` keeps its structure, ``{"type": "parallel", "branches": [[...], ...]}``
    (a branch's own ``serial`` flattened likewise), since its params are one tuple per branch.
    """
    init, apply = _split_pair(model, init_fun)
    if not _is_stax(init) and not _is_stax(apply):
        raise DescribeError(
            f"Expected a stax model, i.e. what `stax.serial(...)` returns, but got "
            f"{_what(model)}. {_PAIR_HINT}"
        )
    return _describe_layers(init, apply, 0, [0])


def _describe_layers(init: Any, apply: Any, depth: int, seen: list[int]) -> list[Layer]:
    """The layers of one ``serial`` (or of a single layer); ``seen`` counts every layer
    described so far, branches included, to number them and bound their count."""
    layers: list[Layer] = []
    for layer_init, layer_apply in _leaves(init, apply, depth):
        seen[0] += 1
        if seen[0] > MAX_LAYERS:
            raise DescribeError(f"The model has more than {MAX_LAYERS} layers; at most "
                                f"{MAX_LAYERS} are supported.")
        if _kind(layer_init, layer_apply) == "parallel":
            layers.append(_parallel(seen[0], layer_init, layer_apply, depth, seen))
        else:
            layers.append(_describe_layer(seen[0], layer_init, layer_apply))
    return layers


def _parallel(position: int, init: Any, apply: Any, depth: int, seen: list[int]) -> Layer:
    """``stax.parallel(*layers)``: each branch described as a list of layers."""
    _check_same_layer(position, init, apply)
    children = _children(init, apply, "parallel", position)
    if children is None:
        return _unknown(apply if apply is not None else init)
    return {"type": "parallel",
            "branches": [_describe_layers(i, a, depth + 1, seen) for i, a in children]}


def _what(value: Any) -> str:
    if callable(value):
        return f"the function `{_short_name(value)}`"
    return f"a value of type `{type(value).__name__}`"


def _split_pair(model: Any, init_fun: Callable | None) -> tuple[Any, Any]:
    """``(init, apply)`` from a pair, a single apply function or a single init function."""
    if isinstance(model, (tuple, list)) and len(model) == 2 and all(map(callable, model)):
        return model[0], model[1]
    if callable(model) and _role(model) == "init" and init_fun is None:
        return model, None
    return init_fun, model


def _role(fn: Any) -> str:
    """``init`` or ``apply`` from a stax function's first two argument names."""
    code = getattr(fn, "__code__", None)
    names = code.co_varnames[:2] if code is not None else ()
    return "init" if names == ("rng", "input_shape") else "apply"


def _is_stax(fn: Any) -> bool:
    return fn is not None and _from_module(fn, _STAX_MODULES)


def _kind(init: Any, apply: Any) -> str | None:
    """The stax constructor both functions come from, or None when they are no stax pair."""
    kinds = {_maker(f) for f in (init, apply) if f is not None and _is_stax(f)}
    return kinds.pop() if len(kinds) == 1 else None


def _children(init: Any, apply: Any, combinator: str,
              position: int | None = None) -> list[tuple[Any, Any]] | None:
    """The ``(init, apply)`` pairs a ``serial`` or ``parallel`` closes over (either may be
    None), or None when its closure is not stax's."""
    inits = _cells(init).get("init_funs") if init is not None else None
    applies = _cells(apply).get("apply_funs") if apply is not None else None
    found = [c for c in (inits, applies) if c is not None]
    if not found or any(not isinstance(c, tuple) for c in found):
        return None
    if len(found) == 2 and len(inits) != len(applies):
        where = "" if position is None else f"Layer {position} (`{combinator}`): "
        raise DescribeError(
            f"{where}The init function has {len(inits)} layers but the apply function has "
            f"{len(applies)}: they do not come from the same `stax.{combinator}(...)` call. "
            f"{_PAIR_HINT}"
        )
    return [(inits[i] if inits is not None else None,
             applies[i] if applies is not None else None) for i in range(len(found[0]))]


def _leaves(init: Any, apply: Any, depth: int) -> Iterator[tuple[Any, Any]]:
    """The ``(init, apply)`` pairs of the non-serial layers, in order (either may be None)."""
    if depth > MAX_NESTING:
        raise DescribeError(f"`stax.serial` and `stax.parallel` are nested more than "
                            f"{MAX_NESTING} levels deep.")
    children = _children(init, apply, "serial") if _kind(init, apply) == "serial" else None
    if children is None:  # a layer, or a serial whose closure is not stax's: unknown
        yield init, apply
        return
    for child_init, child_apply in children:
        yield from _leaves(child_init, child_apply, depth + 1)


def _check_same_layer(position: int, init: Any, apply: Any) -> None:
    """Refuse an init and an apply function made by two different stax layer calls."""
    if init is None or apply is None:
        return
    if _maker(init) != _maker(apply):
        raise DescribeError(
            f"Layer {position}: the init function is a `{_maker(init)}` but the apply function "
            f"is a `{_maker(apply)}`; they do not come from the same `stax.serial(...)` call. "
            f"{_PAIR_HINT}"
        )
    init_cells, apply_cells = _cell_objects(init), _cell_objects(apply)
    for name in set(init_cells) & set(apply_cells):
        if init_cells[name] is not apply_cells[name]:
            raise DescribeError(
                f"Layer {position} (`{_maker(apply)}`): the init and apply functions come from "
                f"two different layer calls. {_PAIR_HINT}"
            )


def _describe_layer(position: int, init: Any, apply: Any) -> Layer:
    main = apply if apply is not None else init
    if not (_is_stax(main) and (init is None or _is_stax(init))):
        return _unknown(main)
    _check_same_layer(position, init, apply)
    kind = _maker(main)
    describer = _DESCRIBERS.get(kind)
    if describer is None:
        return _unknown(main)
    return describer(position, init, apply)


def _unknown(fn: Any) -> Layer:
    maker = _maker(fn)
    name = maker if maker and maker != "<lambda>" else _short_name(fn)
    return {"type": "unknown", "name": name[:_NAME_CHARS]}


def _needs(position: int, fn: Any, what: str, layer: str) -> dict[str, Any]:
    """The closure of ``fn``, or a :class:`DescribeError` naming the missing half."""
    if fn is None:
        raise DescribeError(
            f"Layer {position} (`{layer}`): stax keeps this layer's {what} in its "
            f"{'init' if what == 'sizes' else 'apply'} function, which was not given. "
            f"{_PAIR_HINT}"
        )
    return _cells(fn)


def _conv(position: int, init: Any, apply: Any) -> Layer:
    """``Conv`` and ``GeneralConv`` of any dimension: the trusted side refuses what it
    cannot rebuild (other than 2-D) with a message that says so."""
    cells = _needs(position, init, "sizes", "Conv")
    if not {"out_chan", "filter_shape", "dimension_numbers"} <= set(cells):
        return _unknown(init)
    numbers_ = cells["dimension_numbers"]
    return {
        "type": "Conv",
        "out_chan": _plain(cells["out_chan"]),
        "filter_shape": _plain(cells["filter_shape"]),
        "strides": _plain(cells.get("strides")),
        "padding": _padding(cells.get("padding")),
        "dimension_numbers": _plain(numbers_),
    }


def _dense(position: int, init: Any, apply: Any) -> Layer:
    cells = _needs(position, init, "sizes", "Dense")
    if "out_dim" not in cells:
        return _unknown(init)
    return {"type": "Dense", "out_dim": _plain(cells["out_dim"])}


def _pool(position: int, init: Any, apply: Any) -> Layer:
    from jax import lax

    cells = _needs(position, apply, "reduction", "pooling")
    if not {"reducer", "window_shape", "strides", "padding", "spec"} <= set(cells):
        return _unknown(apply)
    reducer, rescale = cells["reducer"], cells.get("rescale")
    if reducer is lax.max:
        kind = "MaxPool"
    elif reducer is lax.add:
        kind = "SumPool" if rescale is None else "AvgPool"
    else:
        return _unknown(apply)
    spec = cells["spec"]
    window, strides = tuple(cells["window_shape"]), tuple(cells["strides"])
    try:  # stax inserted 1s at the batch and channel axes; report the spatial ones
        hidden = {0, len(window) - 1} if spec is None else {spec.index("N"), spec.index("C")}
    except (AttributeError, ValueError):
        return _unknown(apply)
    layer = {
        "type": kind,
        "window_shape": _plain([w for i, w in enumerate(window) if i not in hidden]),
        "strides": _plain([s for i, s in enumerate(strides) if i not in hidden]),
        "padding": _padding(cells["padding"]),
    }
    if spec is not None:
        layer["spec"] = _plain(spec)
    return layer


def _elementwise(position: int, init: Any, apply: Any) -> Layer:
    cells = _needs(position, apply, "function", "elementwise")
    fun, kwargs = cells.get("fun"), cells.get("fun_kwargs")
    for name, known, defaults in _elementwise_table():
        if fun is known and kwargs in ({}, defaults):
            return {"type": name}
    shown = ", ".join([_short_name(fun)] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()])
    return {"type": "unknown", "name": f"elementwise({shown})"[:_NAME_CHARS]}


def _elementwise_table() -> list[tuple[str, Any, dict[str, Any]]]:
    """Stax's elementwise layers: name, the function it wraps, its keyword arguments."""
    import jax.numpy as jnp
    from jax import nn

    softmax_axis = {"axis": -1}
    return [
        ("Relu", nn.relu, {}), ("Tanh", jnp.tanh, {}), ("Sigmoid", nn.sigmoid, {}),
        ("Elu", nn.elu, {}), ("LeakyRelu", nn.leaky_relu, {}), ("Selu", nn.selu, {}),
        ("Gelu", nn.gelu, {}), ("Softplus", nn.softplus, {}), ("Exp", jnp.exp, {}),
        ("LogSoftmax", nn.log_softmax, softmax_axis), ("Softmax", nn.softmax, softmax_axis),
    ]


def _simple(kind: str) -> Callable[[int, Any, Any], Layer]:
    def describe(position: int, init: Any, apply: Any) -> Layer:
        return {"type": kind}
    return describe


def _fan_out(position: int, init: Any, apply: Any) -> Layer:
    cells = _cells(init if init is not None else apply)
    return {"type": "FanOut", "num": _plain(cells["num"])} if "num" in cells \
        else _unknown(apply)


def _fan_in_concat(position: int, init: Any, apply: Any) -> Layer:
    cells = _cells(apply if apply is not None else init)
    return {"type": "FanInConcat", "axis": _plain(cells["axis"])} if "axis" in cells \
        else _unknown(apply)


def _dropout(position: int, init: Any, apply: Any) -> Layer:
    cells = _needs(position, apply, "rate", "Dropout")
    if "rate" not in cells:
        return _unknown(apply)
    mode = "train" if cells.get("mode") == "train" else "test"  # stax: anything else is test
    return {"type": "Dropout", "rate": _plain(cells["rate"]), "mode": mode}


def _batch_norm(position: int, init: Any, apply: Any) -> Layer:
    """``stax.BatchNorm``: the axes it normalises over (of NHWC images or (N, D) vectors),
    epsilon, and whether it has a shift (``center``) and a scale (``scale``). Custom
    ``beta_init``/``gamma_init`` are not described: the grader starts from stax's zeros and
    ones, and a model's own parameters are loaded when its outputs are compared."""
    cells = _needs(position, apply, "axes", "BatchNorm")
    if not {"axis", "epsilon", "center", "scale"} <= set(cells):
        return _unknown(apply)
    axis = cells["axis"]
    axes = [axis] if isinstance(axis, numbers.Integral) else list(axis) \
        if isinstance(axis, tuple | list) else None
    if axes is None or not all(isinstance(a, numbers.Integral) for a in axes):
        return {"type": "unknown", "name": f"BatchNorm(axis={_plain(axis)!r})"[:_NAME_CHARS]}
    return {"type": "BatchNorm", "axis": [int(a) for a in axes],
            "epsilon": _number(cells["epsilon"]), "center": bool(cells["center"]),
            "scale": bool(cells["scale"])}


_DESCRIBERS: dict[str, Callable[[int, Any, Any], Layer]] = {
    "BatchNorm": _batch_norm,
    "GeneralConv": _conv,
    "Dense": _dense,
    "PoolingLayer": _pool,
    "elementwise": _elementwise,
    "Flatten": _simple("Flatten"),
    "Identity": _simple("Identity"),
    "Dropout": _dropout,
    "FanOut": _fan_out,
    "FanInSum": _simple("FanInSum"),
    "FanInConcat": _fan_in_concat,
}


# --- optimizers ------------------------------------------------------------------------------
def describe_jax_optimizer(fn: Any, steps: int) -> dict[str, Any]:
    """Name, hyperparameters and step size of a ``jax.example_libraries.optimizers`` optimizer.

    ``fn`` is ``opt_update`` (or the whole ``(opt_init, opt_update, get_params)`` triple);
    ``opt_init`` and ``get_params`` carry only the name, so they are refused for a supported
    optimizer. A schedule is evaluated for ``steps`` steps (at most ``MAX_SCHEDULE_STEPS``).
    """
    if isinstance(fn, tuple) and len(fn) == 3 and all(map(callable, fn)):
        fn = fn[1]
    inner = getattr(fn, "__wrapped__", fn)
    if not (callable(fn) and _from_module(inner, _OPTIMIZER_MODULES)):
        raise DescribeError(
            f"Expected a function returned by a JAX optimizer, e.g. `opt_update` from "
            f"`opt_init, opt_update, get_params = optimizers.momentum(0.01, 0.9)`, but got "
            f"{_what(fn)}."
        )
    name = str(getattr(inner, "__qualname__", "")).split(".<locals>.")[0]
    if name not in HYPERPARAMETERS:
        return {"name": "unknown", "detail": _short_name(inner)}
    cells = _cells(inner)
    if "step_size" not in cells:
        raise DescribeError(
            f"`optimizers.{name}` keeps its step size and hyperparameters in its update "
            f"function (`opt_update`), not in `{_short_name(inner).rsplit('.', 1)[-1]}`."
        )
    hyper = {key: _number(cells[key]) for key in HYPERPARAMETERS[name] if key in cells}
    steps = max(1, min(int(steps), MAX_SCHEDULE_STEPS))
    return {"name": name, "hyper": hyper, "step_size": _step_size(cells["step_size"], steps)}


def _number(value: Any) -> Any:
    """A hyperparameter as a float when it is a real scalar, else its short repr."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return repr(value)[:_NAME_CHARS]
    return float(array) if array.shape == () else repr(value)[:_NAME_CHARS]


def _step_size(schedule: Any, steps: int) -> dict[str, Any]:
    """``constant`` with a value, or ``values`` with one step size per step."""
    if _from_module(schedule, _OPTIMIZER_MODULES) and _maker(schedule) == "constant":
        value = _cells(schedule).get("step_size")
        if value is not None and not callable(value):
            return {"kind": "constant", "value": _number(value)}
    if not callable(schedule):
        return {"kind": "constant", "value": _number(schedule)}
    values = _schedule_values(schedule, steps)
    if all(v == values[0] for v in values) or (all(math.isnan(v) for v in values)):
        return {"kind": "constant", "value": values[0]}
    return {"kind": "values", "values": values}


def _call(schedule: Callable, step: int) -> float:
    try:
        value = schedule(step)
    except Exception as exc:
        raise DescribeError(
            f"The step-size schedule raised `{type(exc).__name__}: {str(exc)[:200]}` when "
            f"called with step {step}."
        ) from exc
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size != 1:
        raise DescribeError(
            f"The step-size schedule must return one number per step; step {step} gave "
            f"{array.size} values."
        )
    return float(array[0])


def _schedule_values(schedule: Callable, steps: int) -> list[float]:
    """``[float(schedule(i)) for i in range(steps)]``, vectorised when a loop would be slow."""
    start = time.perf_counter()
    head = [_call(schedule, i) for i in range(min(steps, _LOOP_PROBE))]
    per_call = (time.perf_counter() - start) / len(head)
    if len(head) == steps or per_call * steps < _LOOP_SECONDS:
        return head + [_call(schedule, i) for i in range(len(head), steps)]
    vectorised = _vectorised(schedule, steps)
    if vectorised is not None and _agrees(schedule, vectorised, head):
        return vectorised
    return head + [_call(schedule, i) for i in range(len(head), steps)]


def _vectorised(schedule: Callable, steps: int) -> list[float] | None:
    """``schedule`` over ``0..steps-1`` in one ``jax.vmap`` call, or None when it cannot be."""
    import jax
    import jax.numpy as jnp

    try:
        values = np.asarray(jax.vmap(schedule)(jnp.arange(steps)), dtype=np.float64)
    except Exception:  # Python control flow on the step, a non-array result, ...
        return None
    return values.tolist() if values.shape == (steps,) else None


def _agrees(schedule: Callable, values: list[float], head: list[float]) -> bool:
    """True when the vectorised values match direct calls (as float32, JAX's precision)."""
    steps = len(values)
    probes = sorted({*range(len(head)), *np.linspace(0, steps - 1, _PROBES, dtype=int).tolist()})
    for i in probes:
        expected = head[i] if i < len(head) else _call(schedule, i)
        if not np.isclose(np.float32(values[i]), np.float32(expected), rtol=1e-6, atol=0.0,
                          equal_nan=True):
            return False
    return True
