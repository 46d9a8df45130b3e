"""Shared helpers of the IFT6135 A1 grading tests: reference, data, weights."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import numpy as np

from grader.checks import assert_allclose
from grader.feedback import fail
from grader.packs import load_pack
from grader.worker.client import SubmissionError

PACK = load_pack("ift6135_a1")
ACTIVATIONS = ("relu", "sigmoid", "tanh")


@functools.cache
def reference() -> Any:
    """The reference solution module, imported in this (trusted) process only."""
    path = PACK.reference_dir / "solution.py"
    spec = importlib.util.spec_from_file_location("reference_ift6135_a1", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def random_data(rng: np.random.Generator, n: int, d: int, k: int) -> tuple:
    """Inputs in [0, 1) like scaled pixels, and one-hot labels."""
    return rng.random((n, d)), one_hot(rng.integers(0, k, n), k)


def splits(rng: np.random.Generator, d: int = 11, k: int = 5, n: int = 40) -> tuple:
    """(train, valid, test) to pass as ``data=``, so constructors draw no random data."""
    return tuple(random_data(rng, n, d, k) for _ in range(3))


def learnable_splits(rng: np.random.Generator, d: int = 10, k: int = 4, n: int = 240) -> tuple:
    """Well-separated Gaussian clusters: any correct MLP learns them in a few epochs."""
    centers = rng.normal(0.0, 2.0, (k, d))

    def draw(m: int) -> tuple:
        labels = rng.integers(0, k, m)
        return centers[labels] + rng.normal(0.0, 0.7, (m, d)), one_hot(labels, k)

    return draw(n), draw(n // 2), draw(n // 2)


def random_weights(rng: np.random.Generator, dims: list[int], scale: float = 1.0) -> dict:
    """Glorot-scaled weights and small nonzero biases (so bias bugs show)."""
    weights = {}
    for layer, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), 1):
        bound = scale * np.sqrt(6.0 / (fan_in + fan_out))
        weights[f"W{layer}"] = rng.uniform(-bound, bound, (fan_in, fan_out))
        weights[f"b{layer}"] = rng.uniform(-0.1, 0.1, (1, fan_out))
    return weights


def reference_net(hidden_dims: tuple, activation: str = "relu", weights: dict | None = None,
                  **kwargs: Any) -> Any:
    net = reference().NN(hidden_dims=hidden_dims, activation=activation,
                         data=kwargs.pop("data", None) or _no_data(), **kwargs)
    if weights is not None:
        net.weights = {k: v.copy() for k, v in weights.items()}
    return net


def _no_data() -> tuple:
    empty = (np.zeros((1, 1)), np.zeros((1, 1)))
    return (empty, empty, empty)


def student_net(student: Any, **kwargs: Any) -> Any:
    """Construct the student's NN with keyword arguments only.

    Earlier years of the course template had no ``init_method`` parameter (Glorot was the only
    initialisation). Asking such a class for the default, ``init_method="glorot"``, is retried
    without the keyword; asking for another initialisation is not.
    """
    try:
        return student.NN(**kwargs)
    except SubmissionError as exc:
        if kwargs.get("init_method") == "glorot" and "init_method" in exc.message \
                and "unexpected keyword" in exc.message:
            return student.NN(**{k: v for k, v in kwargs.items() if k != "init_method"})
        raise


def weights_of(net: Any, *, name: str = "self.weights") -> dict:
    weights = net.weights
    if not isinstance(weights, dict):
        fail(f"`{name}` should be a dict of arrays (W1, b1, ...), got {type(weights).__name__}.")
    return weights


def check_keys(got: dict, expected: list[str], *, what: str) -> None:
    if not isinstance(got, dict):
        fail(f"{what} should be a dict, got {type(got).__name__}.")
    missing = [k for k in expected if k not in got]
    if missing:
        have = ", ".join(f"`{k}`" for k in list(got)[:20]) or "nothing"
        fail(f"{what} is missing the keys {', '.join(f'`{k}`' for k in missing)} "
             f"(it has {have}).")


def tolerance(got: Any, rtol: float, atol: float) -> dict[str, float]:
    """float32 answers are legitimate: compare them at float32's precision."""
    dtype = getattr(got, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        return {"rtol": max(rtol, 1e-4), "atol": max(atol, 1e-6)}
    return {"rtol": rtol, "atol": atol}


def assert_arrays(got: dict, expected: dict, keys: list[str], *, context: str,
                  rtol: float = 1e-5, atol: float = 1e-8, factors: dict | None = None) -> None:
    for key in keys:
        assert_allclose(got[key], expected[key], name=key, **tolerance(got[key], rtol, atol),
                        context=context, factors=factors)
