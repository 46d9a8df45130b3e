"""Shared helpers of the IFT6135 A1 grading tests: reference, data, weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.testing import (
    SubmissionError,
    as_array,
    assert_allclose,
    fail,
    judge_apart,
    pack_of,
    reference_module,
    twin_functions,
)

PACK = pack_of(__file__)
ACTIVATIONS = ("relu", "sigmoid", "tanh")


def reference() -> Any:
    """The reference solution module, imported in this (trusted) process only."""
    return reference_module(PACK)


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


# Where the template keeps each constructor argument, for classes whose constructor lacks it
ATTRIBUTES = {"activation": "activation_str"}
# The helpers each function calls, judged with the reference's versions standing in
# (grader.checks.charged_once): a bug is charged to the function it is in, once.
ACTIVATION_HELPERS = ("relu", "sigmoid", "tanh", "activation")
FORWARD_HELPERS = (*ACTIVATION_HELPERS, "softmax")
EVALUATE_HELPERS = ("forward", "loss", "compute_loss_and_accuracy")
TRAINING_HELPERS = ("initialize_weights", *EVALUATE_HELPERS, "backward", "update")
SYNC = ("weights",)


def constructor_keywords(student: Any) -> frozenset[str] | None:
    """The keywords the student's ``NN(...)`` accepts (None: any, it takes ``**kwargs``).

    Templates differ across years: H21's has no ``init_method`` parameter, H20's final one
    sets ``self.init_method`` without taking it. The grader passes only what is accepted.
    """
    worker = student.worker
    key = (id(worker), worker.starts)
    if key not in _SIGNATURES:
        try:
            signature = student.engine("describe_signature", student.handle("NN"),
                                       doing="reading the parameters of `NN`")
        except SubmissionError:
            signature = [{"name": "", "kind": "**kwargs"}]  # unknown: pass everything
        _SIGNATURES[key] = None if any(p["kind"] == "**kwargs" for p in signature) else \
            frozenset(p["name"] for p in signature if p["kind"] in ("positional", "keyword"))
    return _SIGNATURES[key]


_SIGNATURES: dict[tuple[int, int], frozenset[str] | None] = {}


def student_net(student: Any, **kwargs: Any) -> Any:
    """Construct the student's NN with the keyword arguments its constructor accepts; the
    others are set as attributes after construction where the object has them."""
    accepted = constructor_keywords(student)
    given = {k: v for k, v in kwargs.items() if accepted is None or k in accepted}
    net = student.NN(**given)
    for key, value in kwargs.items():
        attribute = ATTRIBUTES.get(key, key)
        if key not in given and net.has(attribute):
            setattr(net, attribute, value)
    return net


def can_select_init(student: Any, net: Any) -> bool:
    """Whether the student's class lets the grader choose the initialisation."""
    accepted = constructor_keywords(student)
    return accepted is None or "init_method" in accepted or net.has("init_method")


def reference_twin(**kwargs: Any) -> Any:
    """A reference NN with the same settings as a student's, whose methods stand in for the
    student's helpers (see ``judged``)."""
    kwargs.pop("data", None)
    hidden = kwargs.pop("hidden_dims", (784, 256))
    return reference_net(tuple(hidden), kwargs.pop("activation", "relu"), **kwargs)


def judged(net: Any, twin: Any, helpers: tuple[str, ...], run: Any, check: Any, *,
           function: str, feedback: list[str] | None = None, attribute: bool = True) -> None:
    """Judge ``function`` (``check(run())``) with the reference's ``helpers`` standing in for
    the student's; a note in ``feedback`` names a helper of theirs that would have made it fail."""
    note = judge_apart(net, twin_functions(twin, helpers, SYNC), run, check, function=function,
                       sync=SYNC, attribute=attribute)
    if note and feedback is not None:
        feedback.append(note)


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


def tolerance(got: Any, rtol: float, atol: float, like: Any = None) -> dict[str, float]:
    """float32 answers are legitimate: compare them at float32's precision (also when
    ``like``, a value the student's own code computed, shows it works in float32)."""
    for value in (got, like):
        dtype = getattr(value, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
            return {"rtol": max(rtol, 1e-4), "atol": max(atol, 1e-6)}
    return {"rtol": rtol, "atol": atol}


def working_precision(net: Any) -> Any:
    """A value computed by the student's own helper, whose dtype says in which precision their
    code works: with the grader's float64 helpers standing in, a float32 backward returns
    float64 arrays that carry float32's rounding."""
    try:
        return as_array(net.activation(np.ones((1, 2))), name="activation(x)")
    except Exception:  # noqa: BLE001 - a broken helper is graded by its own tests
        return None


def assert_arrays(got: dict, expected: dict, keys: list[str], *, context: str,
                  rtol: float = 1e-5, atol: float = 1e-8, factors: dict | None = None,
                  like: Any = None) -> None:
    for key in keys:
        assert_allclose(got[key], expected[key], name=key,
                        **tolerance(got[key], rtol, atol, like), context=context,
                        factors=factors)
