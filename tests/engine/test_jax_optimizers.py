"""JAX's optimizer rules in PyTorch: 20 steps on one problem match JAX's own optimizers.

Each case describes the real JAX optimizer in-process (as the worker would), builds the torch
optimizer from that description and compares the parameters after every step of both runs.
Torch's own RMSprop is shown to differ, so the comparison can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grader.train.jax_optimizers import (
    JaxRuleOptimizer,
    OptimizerSpecError,
    describe_optimizer,
    optimizer_factory,
)
from grader.train.loop import _zero_optimizer_state

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optimizers = pytest.importorskip("jax.example_libraries.optimizers")

from grader.sandboxed.models.stax_describe import (  # noqa: E402
    MAX_SCHEDULE_STEPS,
    DescribeError,
    describe_jax_optimizer,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 5)).astype(np.float32)
Y = RNG.normal(size=(16, 3)).astype(np.float32)
W0 = (RNG.normal(size=(5, 3)) * 0.3).astype(np.float32)
B0 = (RNG.normal(size=(3,)) * 0.1).astype(np.float32)
STEPS = 20

CASES = {
    "sgd": lambda: optimizers.sgd(0.05),
    "momentum": lambda: optimizers.momentum(0.05, 0.9),
    "nesterov": lambda: optimizers.nesterov(0.05, 0.8),
    "adagrad": lambda: optimizers.adagrad(0.1),
    "adagrad_momentum_0.5": lambda: optimizers.adagrad(0.1, momentum=0.5),
    "rmsprop": lambda: optimizers.rmsprop(0.01, gamma=0.8, eps=1e-3),
    "rmsprop_momentum": lambda: optimizers.rmsprop_momentum(0.01),
    "adam": lambda: optimizers.adam(0.01),
    "adamax": lambda: optimizers.adamax(0.02, b1=0.8, b2=0.99),
    "momentum_exponential_decay": lambda: optimizers.momentum(
        optimizers.exponential_decay(0.1, 5, 0.5), 0.9),
    "momentum_piecewise_constant": lambda: optimizers.momentum(
        optimizers.piecewise_constant([4, 12], [0.05, 0.02, 0.005]), 0.5),
    "adam_exponential_decay": lambda: optimizers.adam(
        optimizers.exponential_decay(0.05, 10, 0.3)),
    "adam_piecewise_constant": lambda: optimizers.adam(
        optimizers.piecewise_constant([5, 10], [0.05, 0.01, 0.001])),
}


def loss(w, b, x, y, lib):
    """A small nonlinear least-squares problem, written once for both libraries."""
    return lib.mean((lib.tanh(x @ w + b) - y) ** 2)


def jax_run(triple) -> list[list[np.ndarray]]:
    """The parameters after each of ``STEPS`` steps of a JAX optimizer triple."""
    opt_init, opt_update, get_params = triple
    state = opt_init((jnp.asarray(W0), jnp.asarray(B0)))
    grad = jax.grad(lambda p: loss(p[0], p[1], X, Y, jnp))
    trace = []
    for i in range(STEPS):
        state = opt_update(i, grad(get_params(state)), state)
        trace.append([np.asarray(a) for a in get_params(state)])
    return trace


def torch_params() -> tuple[torch.nn.Parameter, torch.nn.Parameter]:
    return (torch.nn.Parameter(torch.from_numpy(W0.copy())),
            torch.nn.Parameter(torch.from_numpy(B0.copy())))


def torch_steps(optimizer: torch.optim.Optimizer, w: torch.Tensor, b: torch.Tensor,
                steps: int = STEPS) -> list[list[np.ndarray]]:
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    trace = []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss(w, b, x, y, torch).backward()
        optimizer.step()
        trace.append([w.detach().numpy().copy(), b.detach().numpy().copy()])
    return trace


def close(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> bool:
    return all(np.allclose(g, w, rtol=1e-5, atol=1e-6)
               for step_got, step_want in zip(got, want, strict=True)
               for g, w in zip(step_got, step_want, strict=True))


def assert_same_trace(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> None:
    for step, (step_got, step_want) in enumerate(zip(got, want, strict=True)):
        for g, w in zip(step_got, step_want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


# --- the rules match JAX --------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_same_trajectory_as_jax(name: str) -> None:
    triple = CASES[name]()
    want = jax_run(triple)
    spec = describe_jax_optimizer(triple[1], STEPS)  # describe -> factory round trip
    w, b = torch_params()
    got = torch_steps(optimizer_factory(spec, STEPS)([w, b]), w, b)
    assert_same_trace(got, want)
    assert not np.allclose(want[-1][0], W0)  # the problem really moves the parameters


def test_describe_reads_the_real_optimizers() -> None:
    assert describe_jax_optimizer(optimizers.momentum(0.01, 0.9)[1], 100) == {
        "name": "momentum", "hyper": {"mass": 0.9},
        "step_size": {"kind": "constant", "value": 0.01}}
    assert describe_jax_optimizer(optimizers.rmsprop_momentum(0.1), 5)["hyper"] == {
        "gamma": 0.9, "eps": 1e-8, "momentum": 0.9}
    triple = optimizers.adam(optimizers.exponential_decay(0.1, 2, 0.5), b2=0.99)
    spec = describe_jax_optimizer(triple, 4)  # the whole triple is accepted too
    assert spec["hyper"] == {"b1": 0.9, "b2": 0.99, "eps": 1e-8}
    assert spec["step_size"]["kind"] == "values"
    np.testing.assert_allclose(spec["step_size"]["values"], [0.1, 0.1 / 2**0.5, 0.05, 0.025 *
                                                             2**0.5])
    flat = optimizers.sgd(optimizers.piecewise_constant([3], [0.2, 0.2]))
    assert describe_jax_optimizer(flat[1], 10)["step_size"] == {"kind": "constant",
                                                                "value": pytest.approx(0.2)}
    assert describe_jax_optimizer(optimizers.sm3(0.1)[1], 5) == {
        "name": "unknown", "detail": "sm3.<locals>.update"}


def test_describe_student_schedules() -> None:
    def schedule(i):
        return 0.1 if i < 3 else 0.01  # Python control flow: cannot be vectorised

    spec = describe_jax_optimizer(optimizers.sgd(schedule)[1], 5)
    assert spec["step_size"] == {"kind": "values", "values": [0.1, 0.1, 0.1, 0.01, 0.01]}

    def broken(i):
        raise RuntimeError("no schedule here")

    with pytest.raises(DescribeError, match="no schedule here"):
        describe_jax_optimizer(optimizers.sgd(broken)[1], 5)


def test_long_schedules_are_capped_and_vectorised() -> None:
    slow = optimizers.piecewise_constant([1000, 500_000], [0.1, 0.01, 0.001])
    spec = describe_jax_optimizer(optimizers.momentum(slow, 0.9)[1], 10**9)
    values = spec["step_size"]["values"]
    assert len(values) == MAX_SCHEDULE_STEPS
    assert values[1000] == pytest.approx(0.1) and values[1001] == pytest.approx(0.01)
    assert values[-1] == pytest.approx(0.001)


def test_describe_refuses_what_is_no_update_function() -> None:
    opt_init, _, get_params = optimizers.adam(0.01)
    for half in (opt_init, get_params):
        with pytest.raises(DescribeError, match="opt_update"):
            describe_jax_optimizer(half, 10)
    for value in (0.01, torch.optim.SGD, lambda i, g, s: s, None):
        with pytest.raises(DescribeError, match="optimizers.momentum"):
            describe_jax_optimizer(value, 10)


# --- the optimizer's mechanics --------------------------------------------------------------
def test_zeroing_the_state_restarts_the_rule() -> None:
    """What the CUDA-graph runner does after its warm-up steps: zero every state tensor."""
    spec = describe_jax_optimizer(optimizers.adam(
        optimizers.exponential_decay(0.05, 4, 0.5))[1], STEPS)
    factory = optimizer_factory(spec, STEPS)
    w, b = torch_params()
    fresh = torch_steps(factory([w, b]), w, b)
    w, b = torch_params()
    optimizer = factory([w, b])
    torch_steps(optimizer, w, b, steps=3)
    with torch.no_grad():
        w.copy_(torch.from_numpy(W0))
        b.copy_(torch.from_numpy(B0))
    _zero_optimizer_state(optimizer)
    again = torch_steps(optimizer, w, b)
    for step_again, step_fresh in zip(again, fresh, strict=True):
        for a, f in zip(step_again, step_fresh, strict=True):
            np.testing.assert_array_equal(a, f)


def test_step_sizes_are_read_per_step_and_clamped_and_lr_is_ignored() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    optimizer = JaxRuleOptimizer([p], "sgd", {}, [1.0, 2.0, 4.0])
    optimizer.param_groups[0]["lr"] = 100.0  # informative only: the schedule rules
    for _ in range(5):
        p.grad = torch.ones(2)
        optimizer.step()
    assert p.detach().tolist() == [-(1 + 2 + 4 + 4 + 4)] * 2
    scalar = torch.nn.Parameter(torch.tensor(1.0))  # a 0-d parameter works too
    adam = JaxRuleOptimizer([scalar], "adam", {}, [0.1])
    scalar.grad = torch.tensor(3.0)
    adam.step()
    assert scalar.item() == pytest.approx(0.9, abs=1e-6)


def test_a_parameter_without_gradient_still_moves_with_momentum() -> None:
    """JAX updates every leaf; a zero gradient still applies the velocity."""
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = JaxRuleOptimizer([p], "momentum", {"mass": 0.5}, [1.0])
    p.grad = torch.ones(1)
    optimizer.step()
    p.grad = None
    optimizer.step()
    assert p.item() == pytest.approx(-1.5)


def test_torchs_rmsprop_differs_so_the_comparison_can_fail() -> None:
    """Torch adds eps outside the square root, JAX inside: the traces must disagree."""
    want = jax_run(CASES["rmsprop"]())
    w, b = torch_params()
    got = torch_steps(torch.optim.RMSprop([w, b], lr=0.01, alpha=0.8, eps=1e-3), w, b)
    assert not close(got, want)


@pytest.mark.gpu
def test_steps_replay_in_a_cuda_graph() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    spec = describe_jax_optimizer(optimizers.adam(
        optimizers.piecewise_constant([6], [0.05, 0.01]))[1], STEPS)
    factory = optimizer_factory(spec, STEPS)
    x, y = torch.from_numpy(X).cuda(), torch.from_numpy(Y).cuda()
    w, b = (torch.nn.Parameter(t.cuda()) for t in torch_params())
    optimizer = factory([w, b])
    saved = (w.detach().clone(), b.detach().clone())

    def step() -> None:
        loss(w, b, x, y, torch).backward()
        optimizer.step()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            optimizer.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        step()
    with torch.no_grad():
        w.copy_(saved[0])
        b.copy_(saved[1])
    _zero_optimizer_state(optimizer)
    for _ in range(STEPS):
        graph.replay()
    # JAX's float32 matmuls on a GPU run at reduced precision by default (weights then differ
    # by about 1.2e-4): the comparison is made with JAX at full float32 precision, as on the
    # CPU, and torch's own (TF32 off, its default for matmuls).
    with jax.default_matmul_precision("highest"):
        want = jax_run(optimizers.adam(optimizers.piecewise_constant([6], [0.05, 0.01])))
    np.testing.assert_allclose(w.detach().cpu().numpy(), want[-1][0], rtol=1e-4, atol=1e-5)


# --- validation -----------------------------------------------------------------------------
CONSTANT = {"kind": "constant", "value": 0.1}


@pytest.mark.parametrize(("spec", "pattern"), [
    ({"name": "unknown", "detail": "sm3.<locals>.update"},
     r"`optimizers\.sm3` is not supported by the grader; use one of `optimizers\.sgd`"),
    ({"name": "lion", "hyper": {}, "step_size": CONSTANT}, r"`optimizers\.lion` is not"),
    ({"name": "momentum", "hyper": {"mass": 1.0}, "step_size": CONSTANT},
     r"`mass` must be in \[0, 1\), not 1"),
    ({"name": "momentum", "hyper": {"mass": -0.1}, "step_size": CONSTANT}, r"`mass`"),
    ({"name": "momentum", "hyper": {}, "step_size": CONSTANT}, r"needs `mass`"),
    ({"name": "momentum", "hyper": {"mass": True}, "step_size": CONSTANT}, r"finite number"),
    ({"name": "adam", "hyper": {"beta1": 0.9}, "step_size": CONSTANT},
     r"`optimizers\.adam` takes `b1`, `b2`, `eps`"),
    ({"name": "adam", "hyper": {"eps": 0.0}, "step_size": CONSTANT}, r"`eps` must be in \(0"),
    ({"name": "rmsprop", "hyper": {"gamma": "0.9"}, "step_size": CONSTANT}, r"`gamma`"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "constant", "value": math.nan}},
     r"finite"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "constant", "value": math.inf}},
     r"finite"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "constant", "value": -0.1}},
     r"step size must be in \[0, 10\]"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "constant", "value": 50}},
     r"step size"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "constant", "value": 10**400}},
     r"step size must be in \[0, 10\], not a 1329-bit integer"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "values", "values": [0.1] * 3}},
     r"each of the 10 training steps"),
    ({"name": "sgd", "hyper": {}, "step_size": {"kind": "values",
                                                "values": [0.1] * 5 + [math.nan] * 5}},
     r"step size at step 5"),
    ({"name": "sgd", "hyper": {}, "step_size": 0.1}, r"step size could not be read"),
    ("momentum", r"could not be read"),
    (None, r"could not be read"),
])
def test_bad_descriptions_are_refused(spec: object, pattern: str) -> None:
    with pytest.raises(OptimizerSpecError, match=pattern) as info:
        optimizer_factory(spec, 10)
    assert isinstance(info.value, ValueError)


def test_describe_optimizer_lines() -> None:
    assert describe_optimizer(describe_jax_optimizer(optimizers.momentum(0.01, 0.9)[1], 9)) \
        == "optimizers.momentum(step_size=0.01, mass=0.9)"
    spec = describe_jax_optimizer(optimizers.sgd(optimizers.exponential_decay(
        0.01, 18_750, 0.13))[1], 18_751)
    assert describe_optimizer(spec, 18_751) == \
        "optimizers.sgd(step size from a schedule: 0.01 → 0.0013 over 18,751 steps)"
