"""JAX's ``example_libraries.optimizers`` update rules as a PyTorch optimizer (trusted side).

A student's JAX notebook trains with e.g. ``optimizers.momentum(0.01, 0.9)`` or
``optimizers.adam(schedule)``; the grader trains the rebuilt model with the same rule rather
than the nearest torch optimizer, which can differ (torch's RMSprop adds ``eps`` outside the
square root, JAX's inside; JAX's momentum has no dampening and scales the velocity, not the
gradient, by the step size). Each rule repeats JAX's float32 operations in JAX's order.

The description comes from the worker (:func:`grader.sandboxed.models.stax_describe.
describe_jax_optimizer`), so :func:`optimizer_factory` validates it first.

The step size of step ``i`` is read from a device tensor of per-step values, indexed by a
step counter that is itself a device tensor kept in ``optimizer.state`` (zeroing every state
tensor resets it together with the moments). ``step()`` makes no host copy and branches on no
tensor value, so it can be captured in a CUDA graph once its state exists.
``param_groups[...]["lr"]`` is ignored: the schedule rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from grader import ranges
from grader.feedback import MarkdownError

__all__ = ["HYPERPARAMETERS", "MAX_STEP_SIZE", "JaxRuleOptimizer", "OptimizerSpecError",
           "describe_optimizer", "optimizer_factory"]

#: Each supported rule's hyperparameters (named as in JAX's signatures) and JAX's defaults.
HYPERPARAMETERS: dict[str, dict[str, float | None]] = {
    "sgd": {},
    "momentum": {"mass": None},
    "nesterov": {"mass": None},
    "adagrad": {"momentum": 0.9},
    "rmsprop": {"gamma": 0.9, "eps": 1e-8},
    "rmsprop_momentum": {"gamma": 0.9, "eps": 1e-8, "momentum": 0.9},
    "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
    "adamax": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
}
#: The state buffers of each rule, besides the shared step counter.
BUFFERS: dict[str, tuple[str, ...]] = {
    "sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",),
    "adagrad": ("g_sq", "m"), "rmsprop": ("avg_sq_grad",),
    "rmsprop_momentum": ("avg_sq_grad", "mom"), "adam": ("m", "v"), "adamax": ("m", "u"),
}
MAX_STEP_SIZE = 10.0
_COUNTER = "jax_step"

Rule = Callable[[torch.Tensor, torch.Tensor, list[torch.Tensor], torch.Tensor,
                 torch.Tensor, dict[str, float]], None]


class OptimizerSpecError(MarkdownError, ValueError):
    """An optimizer description the grader refuses; ``str(err)`` is Markdown for the student."""


# --- the rules: x is updated in place from g, with step size lr and step index i ---------------
def _sgd(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
         i: torch.Tensor, h: dict[str, float]) -> None:
    x.sub_(lr * g)


def _momentum(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
              i: torch.Tensor, h: dict[str, float]) -> None:
    (velocity,) = s
    velocity.mul_(h["mass"]).add_(g)
    x.sub_(lr * velocity)


def _nesterov(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
              i: torch.Tensor, h: dict[str, float]) -> None:
    (velocity,) = s
    velocity.mul_(h["mass"]).add_(g)
    x.sub_(lr * (h["mass"] * velocity + g))


def _adagrad(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
             i: torch.Tensor, h: dict[str, float]) -> None:
    g_sq, m = s
    g_sq.add_(g.square())
    inv_sqrt = torch.where(g_sq > 0, 1.0 / g_sq.sqrt(), 0.0)
    m.copy_((1.0 - h["momentum"]) * (g * inv_sqrt) + h["momentum"] * m)
    x.sub_(lr * m)


def _rmsprop(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
             i: torch.Tensor, h: dict[str, float]) -> None:
    (avg,) = s
    avg.copy_(avg * h["gamma"] + g.square() * (1.0 - h["gamma"]))
    x.sub_(lr * g / (avg + h["eps"]).sqrt())


def _rmsprop_momentum(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor],
                      lr: torch.Tensor, i: torch.Tensor, h: dict[str, float]) -> None:
    avg, mom = s
    avg.copy_(avg * h["gamma"] + g.square() * (1.0 - h["gamma"]))
    mom.copy_(h["momentum"] * mom + lr * g / (avg + h["eps"]).sqrt())
    x.sub_(mom)


def _power(base: float, i: torch.Tensor) -> torch.Tensor:
    """``float32(base) ** (i + 1)``, JAX's bias-correction power, computed on the device."""
    return torch.pow(base, i + 1)


def _adam(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
          i: torch.Tensor, h: dict[str, float]) -> None:
    m, v = s
    m.copy_((1.0 - h["b1"]) * g + h["b1"] * m)
    v.copy_((1.0 - h["b2"]) * g.square() + h["b2"] * v)
    m_hat = m / (1.0 - _power(h["b1"], i))
    v_hat = v / (1.0 - _power(h["b2"], i))
    x.sub_(lr * m_hat / (v_hat.sqrt() + h["eps"]))


def _adamax(x: torch.Tensor, g: torch.Tensor, s: list[torch.Tensor], lr: torch.Tensor,
            i: torch.Tensor, h: dict[str, float]) -> None:
    m, u = s
    m.copy_((1.0 - h["b1"]) * g + h["b1"] * m)
    torch.maximum(h["b2"] * u, g.abs(), out=u)
    x.sub_((lr / (1.0 - _power(h["b1"], i))) * m / (u + h["eps"]))


RULES: dict[str, Rule] = {
    "sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov, "adagrad": _adagrad,
    "rmsprop": _rmsprop, "rmsprop_momentum": _rmsprop_momentum, "adam": _adam,
    "adamax": _adamax,
}


class JaxRuleOptimizer(torch.optim.Optimizer):
    """One of JAX's update rules with a step size per step (see the module docstring).

    ``step_sizes`` holds the step size of each step; past its end the last value is used.
    A parameter without a gradient is updated as JAX would with a zero gradient (its momentum
    still moves it). ``lr`` in the parameter groups is informative only.
    """

    def __init__(self, params: Iterable[Any], rule: str, hyper: Mapping[str, float],
                 step_sizes: torch.Tensor | Sequence[float]) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
        defaults = HYPERPARAMETERS[rule]
        missing = [k for k, v in defaults.items() if v is None and k not in hyper]
        if missing or set(hyper) - set(defaults):
            raise ValueError(f"{rule} takes {sorted(defaults)}, got {sorted(hyper)}")
        sizes = torch.as_tensor(step_sizes, dtype=torch.float32).reshape(-1)
        if sizes.numel() == 0:
            raise ValueError("step_sizes is empty")
        super().__init__(params, {"lr": float(sizes[0])})
        self.rule = rule
        self.hyper = {k: float(hyper[k] if k in hyper else v) for k, v in defaults.items()}
        self._anchor = self.param_groups[0]["params"][0]
        device = self._anchor.device
        self.step_sizes = sizes.to(device)
        self._last = torch.tensor([sizes.numel() - 1], device=device)

    def _counter(self) -> torch.Tensor:
        """The shared step index ``i`` (a device tensor in the first parameter's state)."""
        state = self.state[self._anchor]
        if _COUNTER not in state:
            state[_COUNTER] = torch.zeros(1, dtype=torch.long, device=self._anchor.device)
        return state[_COUNTER]

    def _buffers(self, p: torch.Tensor) -> list[torch.Tensor]:
        state = self.state[p]
        for name in BUFFERS[self.rule]:
            if name not in state:
                state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return [state[name] for name in BUFFERS[self.rule]]

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply the rule once to every parameter and advance the step counter."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        counter = self._counter()
        lr = self.step_sizes.index_select(0, torch.minimum(counter, self._last)).squeeze(0)
        i = counter.to(torch.float32).squeeze(0)
        rule = RULES[self.rule]
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad if p.grad is not None else torch.zeros_like(p)
                rule(p, g, self._buffers(p), lr, i, self.hyper)
        counter.add_(1)
        return loss


# --- validation of the untrusted description -------------------------------------------------
def _supported() -> str:
    return ", ".join(f"`optimizers.{n}`" for n in HYPERPARAMETERS)


def _step_sizes(spec: Any, total_steps: int) -> list[float]:
    if not isinstance(spec, dict) or spec.get("kind") not in ("constant", "values"):
        raise OptimizerSpecError("The optimizer's step size could not be read: give a number "
                                 "or a schedule such as `optimizers.exponential_decay(...)`.")
    if spec["kind"] == "constant":
        return [ranges.number(spec.get("value"), "The step size", 0.0, MAX_STEP_SIZE,
                              error=OptimizerSpecError)]
    values = spec.get("values")
    needed = max(total_steps, 1)
    if not isinstance(values, list) or len(values) < needed:
        raise OptimizerSpecError(f"The step-size schedule must give a step size for each of "
                                 f"the {needed:,} training steps.")
    return [ranges.number(v, f"The step size at step {i}", 0.0, MAX_STEP_SIZE,
                          error=OptimizerSpecError) for i, v in enumerate(values[:needed])]


def _hyper(name: str, hyper: Any) -> dict[str, float]:
    known = HYPERPARAMETERS[name]
    if hyper is None:
        hyper = {}
    if not isinstance(hyper, dict) or set(hyper) - set(known):
        takes = ", ".join(f"`{k}`" for k in known) or "only a step size"
        raise OptimizerSpecError(f"`optimizers.{name}` takes {takes}; got "
                                 f"{ranges.shown(hyper)}.")
    missing = [k for k, v in known.items() if v is None and k not in hyper]
    if missing:
        raise OptimizerSpecError(f"`optimizers.{name}` needs `{missing[0]}`.")
    checked = {}
    for key, value in hyper.items():
        checked[key] = ranges.number(value, f"`optimizers.{name}`'s `{key}`", 0.0, 1.0,
                                     low_open=key == "eps", high_open=key != "eps",
                                     error=OptimizerSpecError)
    return checked


def _validated(spec: Any, total_steps: int) -> tuple[str, dict[str, float], list[float]]:
    if not isinstance(spec, dict):
        raise OptimizerSpecError("Your optimizer could not be read: create it with e.g. "
                                 "`opt_init, opt_update, get_params = "
                                 "optimizers.momentum(0.01, 0.9)`.")
    name = spec.get("name")
    if not isinstance(name, str) or name not in HYPERPARAMETERS:
        detail = spec.get("detail") if name == "unknown" else name
        shown = str(detail).split(".<locals>.")[0][:80]
        raise OptimizerSpecError(f"`optimizers.{shown}` is not supported by the grader; use "
                                 f"one of {_supported()}.")
    return name, _hyper(name, spec.get("hyper")), _step_sizes(spec.get("step_size"),
                                                              total_steps)


def optimizer_factory(spec: Any, total_steps: int
                      ) -> Callable[[Iterable[torch.nn.Parameter]], JaxRuleOptimizer]:
    """Validate ``spec`` (untrusted, from ``describe_jax_optimizer``) and return a factory.

    The factory builds a :class:`JaxRuleOptimizer` over the parameters it is given, with the
    step sizes on their device. Raises :class:`OptimizerSpecError` for a refused spec.
    """
    name, hyper, sizes = _validated(spec, total_steps)
    table = torch.tensor(sizes, dtype=torch.float32)

    def make(params: Iterable[torch.nn.Parameter]) -> JaxRuleOptimizer:
        return JaxRuleOptimizer(params, name, hyper, table)

    return make


def describe_optimizer(spec: Mapping[str, Any], total_steps: int | None = None) -> str:
    """One line for feedback, e.g. ``optimizers.momentum(step_size=0.01, mass=0.9)``."""
    name = spec.get("name", "?")
    sizes = spec.get("step_size") or {}
    if sizes.get("kind") == "constant":
        step = f"step_size={sizes.get('value'):g}"
    else:
        values = list(sizes.get("values") or [math.nan])
        if total_steps:
            values = values[:total_steps]
        step = (f"step size from a schedule: {values[0]:.2g} → {values[-1]:.2g} over "
                f"{len(values):,} steps")
    hyper = "".join(f", {k}={v:g}" for k, v in (spec.get("hyper") or {}).items())
    return f"optimizers.{name}({step}{hyper})"
