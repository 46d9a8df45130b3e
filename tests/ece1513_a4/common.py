"""Shared helpers of the ECE1513 A4 suite: the two problems' namespaces, the trusted
reference math, and the report's declared claims.

The notebook defines ``predict``, ``loss`` and ``update`` twice (Problem 1's MLP, Problem
2's convnet); the pack cuts the file in two sections (``pack.toml``), so
``problem1(student).update`` is Problem 1's, seeing Problem 1's ``loss`` and
``learning_rate``, as in the student's own run.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import SubmissionError, fail, pack_of

from .training import MlpSettings

PACK = pack_of(__file__)
SETTINGS = PACK.settings
JAX_MISSING = ("not run: JAX is not installed where grading runs "
               "(install the grader with its `jax` extra: `pip install 'trustgrade[jax]'`)")


def require_jax() -> None:
    """Skip (never pass) when the grading environment has no JAX: the worker would need it."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip(JAX_MISSING)


def problem1(student: Any) -> Any:
    return _section(student, "problem1")


def problem2(student: Any) -> Any:
    return _section(student, "problem2")


def _section(student: Any, name: str) -> Any:
    require_jax()
    try:
        return student.section(name)
    except SubmissionError as exc:
        fail(f"Your file could not be split into its problems: {exc.message}")


def problem2_start(student: Any) -> str:
    """Where Problem 2 was found to start, for messages."""
    info = student.sections().get("problem2") or {}
    if info.get("line"):
        return f"Problem 2 starts at {info['where']} ({info['found_by']})"
    return ("no start of Problem 2 was found (neither a `Problem 2` heading nor a "
            "`stax.serial(...)` model)")


# --- the notebook's math, computed here ------------------------------------------------------
def random_params(rng: np.random.Generator, sizes: Sequence[int],
                  scale: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """float32 (w, b) pairs in the notebook's layout: w is (fan_in, fan_out)."""
    return [(rng.normal(0, scale / math.sqrt(m), (m, n)).astype(np.float32),
             rng.normal(0, 0.1, n).astype(np.float32))
            for m, n in zip(sizes[:-1], sizes[1:], strict=True)]


def batch(rng: np.random.Generator, n: int, d: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1) like scaled pixels, and one-hot float32 targets."""
    x = rng.random((n, d)).astype(np.float32)
    return x, np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


def _torch_params(params: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[torch.Tensor]:
    return [torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)
            for pair in params for a in pair]


def _forward(flat: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    activations = x
    pairs = list(zip(flat[0::2], flat[1::2], strict=True))
    for w, b in pairs[:-1]:
        activations = torch.tanh(activations @ w + b)
    w, b = pairs[-1]
    return torch.log_softmax(activations @ w + b, dim=1)


def reference_predict(params: Sequence[tuple], x: np.ndarray) -> np.ndarray:
    """tanh hidden layers, log-softmax output, in float64."""
    with torch.no_grad():
        return _forward(_torch_params(params), torch.from_numpy(np.asarray(x, np.float64))).numpy()


def reference_loss(params: Sequence[tuple], data: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean over the batch of the cross-entropy with one-hot targets."""
    x, y = (torch.from_numpy(np.asarray(a, np.float64)) for a in data)
    with torch.no_grad():
        return float(-(y * _forward(_torch_params(params), x)).sum(1).mean())


def reference_gradient(params: Sequence[tuple],
                       data: tuple[np.ndarray, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The gradient of the mean cross-entropy, by torch autograd on the trusted side."""
    flat = _torch_params(params)
    x, y = (torch.from_numpy(np.asarray(a, np.float64)) for a in data)
    (-(y * _forward(flat, x)).sum(1).mean()).backward()
    grads = [t.grad.numpy() for t in flat]
    return list(zip(grads[0::2], grads[1::2], strict=True))


# --- the report's claims -----------------------------------------------------------------------
def _declared(student: Any, name: str) -> Any:
    report = student.worker.load_report or {}
    if name not in report.get("names", ()):
        return None
    return getattr(student, name)


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        fail(f"{what} must be a whole number, not `{value!r}`.")
    if not low <= int(value) <= high:
        fail(f"{what} must be between {low} and {high}, not {int(value)}.")
    return int(value)


def _rate(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(f"{what} must be a number, not `{value!r}`.")
    if not 0 < value <= 1000:
        fail(f"{what} must be positive (and at most 1000), not {value:g}.")
    return float(value)


def _sizes(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= 8:
        fail(f"{what} must be a list of 2 to 8 layer sizes, like `[784, 1024, 1024, 10]`, "
             f"not `{value!r}`.")
    sizes = tuple(_int(v, f"each entry of {what}", 1, 8192) for v in value)
    if sizes[0] != 784 or sizes[-1] != 10:
        fail(f"{what} must start with 784 (the pixels) and end with 10 (the classes): "
             f"`{list(sizes)}`.")
    return sizes


def _notebook_defaults(student: Any) -> dict:
    """Problem 1's own settings, used where the report block leaves BASELINE out."""
    p1 = problem1(student)
    out = {}
    for key in ("layer_sizes", "learning_rate", "batch_size", "num_epochs"):
        if p1.has(key):
            out[key] = getattr(p1, key)
    return out


def mlp_settings(student: Any, claim: str, override: dict | None = None) -> MlpSettings:
    """BASELINE (or Problem 1's settings) with ``override`` applied, validated."""
    raw = _declared(student, "BASELINE")
    base = dict(raw) if isinstance(raw, dict) else _notebook_defaults(student)
    if raw is not None and not isinstance(raw, dict):
        fail(f"`BASELINE` must be a dict, like `{{'learning_rate': 0.1}}`, not `{raw!r}`.")
    merged = {**base, **(override or {})}
    unknown = set(merged) - {"layer_sizes", "learning_rate", "batch_size", "num_epochs",
                             "create_outliers"}
    if unknown:
        fail(f"{claim}: unknown setting(s) {sorted(unknown)}; use `layer_sizes`, "
             "`learning_rate`, `batch_size`, `num_epochs` and `create_outliers`.")
    missing = [k for k in ("layer_sizes", "learning_rate", "batch_size", "num_epochs")
               if k not in merged]
    if missing:
        fail(f"{claim}: no value for {', '.join(f'`{k}`' for k in missing)} in `BASELINE` "
             "or in your Problem 1 code.")
    outliers = merged.get("create_outliers", False)
    if not isinstance(outliers, bool):
        fail(f"{claim}: `create_outliers` must be True or False, not `{outliers!r}`.")
    return MlpSettings(
        layer_sizes=_sizes(merged["layer_sizes"], f"{claim}: `layer_sizes`"),
        learning_rate=_rate(merged["learning_rate"], f"{claim}: `learning_rate`"),
        batch_size=_int(merged["batch_size"], f"{claim}: `batch_size`", 1, 4096),
        num_epochs=_int(merged["num_epochs"], f"{claim}: `num_epochs`", 1, 100),
        create_outliers=outliers,
    )


def claimed(student: Any, name: str, example: str) -> Any:
    """The value of a report constant, or a failure saying how to declare it."""
    value = _declared(student, name)
    if value is None:
        fail(f"Your report's answer is not declared: set `{name} = {example}` in the block "
             "\"Your report's answers\" at the end of your notebook (see the template).")
    return value


def claimed_rate(student: Any, name: str) -> float:
    return _rate(claimed(student, name, "0.01"), f"`{name}`")


def claimed_sizes(student: Any, name: str) -> tuple[int, ...]:
    return _sizes(claimed(student, name, "[784, 1, 1, 10]"), f"`{name}`")


def claimed_settings(student: Any, name: str) -> dict:
    value = claimed(student, name, "{'num_epochs': 50, 'create_outliers': True}")
    if not isinstance(value, dict):
        fail(f"`{name}` must be a dict of settings, not `{value!r}`.")
    return value
