"""Validate a student's training settings before the trusted side trains with them.

The settings dict comes from the worker, so it is untrusted data: every key is checked
against a whitelist and every value against a documented range, and a refusal is a
``SettingsError`` whose Markdown message names the key and what is allowed, because the
student reads it.

Accepted keys (all but ``optimizer`` may be filled in by ``defaults`` or ``fixed``):

- ``optimizer``: one of ``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` (any letter case);
- ``lr``: a finite number in (0, 10]; the optimizer's PyTorch default when left out;
- ``optimizer_kwargs``: only the documented keyword arguments of that optimizer;
- ``epochs``: an integer in 1..50; ``batch_size``: an integer in 1..4096;
- ``step_size`` and ``gamma``, together: multiply the learning rate by ``gamma`` in (0, 1]
  every ``step_size`` epochs (PyTorch's ``StepLR`` stepped once per epoch).

``seed`` is the grader's choice and may come only from ``defaults`` or ``fixed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from grader import ranges
from grader.feedback import MarkdownError

__all__ = [
    "OPTIMIZERS",
    "SettingsError",
    "TrainSettings",
    "parse_settings",
]

#: Canonical optimizer name -> PyTorch's default learning rate (used when ``lr`` is absent).
OPTIMIZERS: Mapping[str, float] = {"SGD": 1e-3, "Adam": 1e-3, "AdamW": 1e-3, "RMSprop": 1e-2}

_STUDENT_KEYS = ("optimizer", "lr", "optimizer_kwargs", "epochs", "batch_size",
                 "step_size", "gamma")
_GRADER_KEYS = ("seed",)


class SettingsError(MarkdownError, ValueError):
    """A setting the grader refuses; ``message`` is Markdown meant for the student, like every
    other refusal of what a hand-in describes."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class TrainSettings:
    """Validated training settings; ``optimizer`` holds the canonical PyTorch class name."""

    optimizer: str
    lr: float
    optimizer_kwargs: dict
    epochs: int
    batch_size: int
    step_size: int | None = None
    gamma: float = 1.0
    seed: int = 0

    def lr_at(self, epoch: int) -> float:
        """Learning rate used during ``epoch`` (0-based) under the step schedule."""
        if self.step_size is None:
            return self.lr
        return self.lr * self.gamma ** (epoch // self.step_size)


# --- value checks: each takes the key (to name it) and the value -------------------------------
_Check = Callable[[str, Any], Any]


def _where(key: str) -> str:
    return f"Setting `{key}`"


def _interval(low: float, high: float, *, low_open: bool = False,
              high_open: bool = False) -> _Check:
    """The check of a finite number in the interval."""
    return lambda key, value: ranges.number(value, _where(key), low, high, low_open=low_open,
                                            high_open=high_open, error=partial(SettingsError, key))


def _whole(low: int, high: int) -> _Check:
    """The check of a whole number from ``low`` to ``high``."""
    return lambda key, value: ranges.integer(value, _where(key), low, high,
                                             error=partial(SettingsError, key))


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(key, f"{_where(key)} must be `true` or `false`, "
                                 f"not {ranges.shown(value)}.")
    return value


_unit = _interval(0.0, 1.0, high_open=True)
_decay = _interval(0.0, 1.0)
_eps = _interval(0.0, 1e-2, low_open=True)
_alpha = _interval(0.0, 1.0, low_open=True, high_open=True)


def _betas(key: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SettingsError(key, f"{_where(key)} must be a pair `[beta1, beta2]`, each in "
                                 f"[0, 1), not {ranges.shown(value)}.")
    return (_unit(f"{key}[0]", value[0]), _unit(f"{key}[1]", value[1]))


_ADAM_KWARGS: Mapping[str, _Check] = {
    "betas": _betas, "eps": _eps, "weight_decay": _decay, "amsgrad": _boolean,
}
#: Canonical optimizer name -> its accepted keyword arguments and their checks.
_KWARGS: Mapping[str, Mapping[str, _Check]] = {
    "SGD": {"momentum": _unit, "nesterov": _boolean, "weight_decay": _decay},
    "Adam": _ADAM_KWARGS,
    "AdamW": _ADAM_KWARGS,
    "RMSprop": {"alpha": _alpha, "eps": _eps, "momentum": _unit, "weight_decay": _decay,
                "centered": _boolean},
}


def _optimizer(key: str, value: Any) -> str:
    by_lower = {name.lower(): name for name in OPTIMIZERS}
    if isinstance(value, str) and value.strip().lower() in by_lower:
        return by_lower[value.strip().lower()]
    allowed = ", ".join(f"`{name}`" for name in OPTIMIZERS)
    raise SettingsError(key, f"{_where(key)} must be one of {allowed}, "
                             f"not {ranges.shown(value)}.")


def _optimizer_kwargs(key: str, value: Any, optimizer: str) -> dict:
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"{_where(key)} must be a dictionary of keyword arguments, "
                                 f"not {ranges.shown(value)}.")
    checks = _KWARGS[optimizer]
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name not in checks:
            allowed = ", ".join(f"`{k}`" for k in checks)
            raise SettingsError(f"{key}.{name}",
                                f"Setting `{key}`: `{name}` is not an accepted keyword "
                                f"argument of `{optimizer}`. Allowed: {allowed}.")
        out[name] = checks[name](f"{key}.{name}", item)
    if optimizer == "SGD" and out.get("nesterov") and not out.get("momentum"):
        raise SettingsError(f"{key}.nesterov", f"Setting `{key}`: `nesterov` needs a "
                                               "`momentum` above 0 (PyTorch refuses it).")
    return out


_SIMPLE: Mapping[str, _Check] = {
    "lr": _interval(0.0, 10.0, low_open=True),
    "epochs": _whole(1, 50),
    "batch_size": _whole(1, 4096),
    "step_size": _whole(1, 50),
    "gamma": _interval(0.0, 1.0, low_open=True),
    "seed": _whole(0, 2**31 - 1),
}


# --- assembling -----------------------------------------------------------------------------
def _check_value(key: str, value: Any, optimizer: str | None) -> Any:
    if key == "optimizer":
        return _optimizer(key, value)
    if key == "optimizer_kwargs":
        assert optimizer is not None  # the optimizer is validated first
        return _optimizer_kwargs(key, value, optimizer)
    return _SIMPLE[key](key, value)


def _as_mapping(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise SettingsError("settings", "The training settings must be a dictionary with "
                                        f"string keys, not {ranges.shown(raw)}.")
    allowed = ", ".join(f"`{k}`" for k in _STUDENT_KEYS)
    for key in raw:
        if key not in _STUDENT_KEYS:
            why = " (the grader chooses it)" if key in _GRADER_KEYS else ""
            raise SettingsError(key, f"Setting `{key}` is not accepted{why}. "
                                     f"Allowed keys: {allowed}.")
    return raw


def parse_settings(raw: Any, *, fixed: Mapping[str, Any] = {},  # noqa: B006 - read only
                   defaults: Mapping[str, Any] = {}) -> TrainSettings:  # noqa: B006
    """Check a student's settings dict and return ``TrainSettings``.

    ``fixed`` holds what the handout imposes (e.g. ``epochs=10, batch_size=32`` for 3G): a
    student value must equal it, and it fills the key otherwise. ``defaults`` only fills keys
    the student left out. Raises ``SettingsError`` with a Markdown message.
    """
    student = _as_mapping(raw)
    unknown = [k for k in (*fixed, *defaults) if k not in (*_STUDENT_KEYS, *_GRADER_KEYS)]
    if unknown:
        raise ValueError(f"grader configuration: unknown setting(s) {unknown}")
    order = ("optimizer", *(k for k in (*_STUDENT_KEYS, *_GRADER_KEYS) if k != "optimizer"))
    values: dict[str, Any] = {}
    for key in order:
        optimizer = values.get("optimizer")
        if key in fixed:
            imposed = _check_value(key, fixed[key], optimizer)
            if key in student and _check_value(key, student[key], optimizer) != imposed:
                raise SettingsError(key, f"Setting `{key}`: the handout fixes it to "
                                         f"{ranges.shown(imposed)}, but your settings give "
                                         f"{ranges.shown(student[key])}. Remove `{key}` or "
                                         f"set it to {ranges.shown(imposed)}.")
            values[key] = imposed
        elif key in student:
            values[key] = _check_value(key, student[key], optimizer)
        elif key in defaults:
            values[key] = _check_value(key, defaults[key], optimizer)
    return _assemble(values)


def _assemble(values: dict[str, Any]) -> TrainSettings:
    for key in ("optimizer", "epochs", "batch_size"):
        if key not in values:
            raise SettingsError(key, f"Setting `{key}` is missing; it is required.")
    if ("step_size" in values) != ("gamma" in values):
        raise SettingsError("step_size", "Settings `step_size` and `gamma` go together: a "
                                         "step schedule needs both (`step_size` an integer "
                                         "≥ 1, `gamma` in (0, 1]).")
    return TrainSettings(
        optimizer=values["optimizer"],
        lr=values.get("lr", OPTIMIZERS[values["optimizer"]]),
        optimizer_kwargs=values.get("optimizer_kwargs", {}),
        epochs=values["epochs"],
        batch_size=values["batch_size"],
        step_size=values.get("step_size"),
        gamma=values.get("gamma", 1.0),
        seed=values.get("seed", 0),
    )
