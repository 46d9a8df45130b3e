"""What a Keras model's ``compile`` asked for, as the training loop's loss and optimizer.

``compile``'s arguments come from the worker (:mod:`grader.sandboxed.models.keras_describe`),
so they are untrusted data: the loss and the optimizer must be ones the grader reproduces, and
every hyperparameter is checked. Keras semantics kept:

- ``categorical_crossentropy`` (and ``sparse_...``, the same loss on integer labels) with
  ``from_logits=False`` on a softmax output is trained as cross-entropy on the logits (the same
  loss, computed stably). On any other output Keras rescales the outputs to sum to 1 and clips
  them to ``[1e-7, 1 - 1e-7]`` before the log, and so does this loss; ``from_logits=True``
  on a softmax output applies a second softmax, as Keras does.
- ``mean_squared_error`` on the outputs against one-hot labels.
- Optimizers map to PyTorch's with Keras's hyperparameters and defaults (``rho`` is
  ``alpha`` for RMSprop, ``beta_1``/``beta_2`` are ``betas``). Keras's SGD momentum
  (``v = m v - lr g``) is PyTorch's up to the sign of the buffer; Keras's Adam adds
  ``epsilon`` before the bias correction of the second moment, PyTorch after (with
  ``epsilon = 1e-7`` the two differ far below training noise).
- ``clipnorm`` (each gradient), ``global_clipnorm`` (all together) and ``clipvalue`` clip
  the gradients, and an optimizer's ``weight_decay`` (decoupled: ``w -= lr * wd * w`` on every
  trainable weight) is applied, before each step, in Keras's order. AdamW's own decay is
  PyTorch's, which is the same rule.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grader import ranges
from grader.feedback import MarkdownError
from grader.train.loop import LossFn, OptimizerFactory

__all__ = ["CompileError", "KerasCompile", "parse_compile"]

_EPSILON = 1e-7  # keras.backend.epsilon()
_CE = ("categorical_crossentropy", "sparse_categorical_crossentropy")
_MSE = ("mean_squared_error", "mse")
_LOSS_CLASSES = {"CategoricalCrossentropy": "categorical_crossentropy",
                 "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
                 "MeanSquaredError": "mean_squared_error"}
# Keras optimizer -> (torch class, {keras key: (torch key, default, low, high)}).
_COMMON_LR = {"learning_rate": ("lr", 0.001, 0.0, 10.0)}
OPTIMIZERS: dict[str, tuple[str, dict[str, tuple[str, Any, float, float]]]] = {
    "SGD": ("SGD", {"learning_rate": ("lr", 0.01, 0.0, 10.0),
                    "momentum": ("momentum", 0.0, 0.0, 0.999),
                    "nesterov": ("nesterov", False, 0, 1)}),
    "Adam": ("Adam", {**_COMMON_LR, "beta_1": ("beta1", 0.9, 0.0, 0.9999),
                      "beta_2": ("beta2", 0.999, 0.0, 0.999999),
                      "epsilon": ("eps", 1e-7, 0.0, 1.0), "amsgrad": ("amsgrad", False, 0, 1)}),
    "AdamW": ("AdamW", {**_COMMON_LR, "beta_1": ("beta1", 0.9, 0.0, 0.9999),
                        "beta_2": ("beta2", 0.999, 0.0, 0.999999),
                        "epsilon": ("eps", 1e-7, 0.0, 1.0), "amsgrad": ("amsgrad", False, 0, 1),
                        "weight_decay": ("weight_decay", 0.004, 0.0, 1.0)}),
    "Adamax": ("Adamax", {**_COMMON_LR, "beta_1": ("beta1", 0.9, 0.0, 0.9999),
                          "beta_2": ("beta2", 0.999, 0.0, 0.999999),
                          "epsilon": ("eps", 1e-7, 0.0, 1.0)}),
    "RMSprop": ("RMSprop", {**_COMMON_LR, "rho": ("alpha", 0.9, 0.0, 0.9999),
                            "momentum": ("momentum", 0.0, 0.0, 0.999),
                            "epsilon": ("eps", 1e-7, 0.0, 1.0),
                            "centered": ("centered", False, 0, 1)}),
    "Adagrad": ("Adagrad", {**_COMMON_LR, "initial_accumulator_value":
                            ("initial_accumulator_value", 0.1, 0.0, 10.0),
                            "epsilon": ("eps", 1e-7, 0.0, 1.0)}),
    "Adadelta": ("Adadelta", {**_COMMON_LR, "rho": ("rho", 0.95, 0.0, 0.9999),
                              "epsilon": ("eps", 1e-7, 0.0, 1.0)}),
}
# Optimizer settings Keras has and the rebuild does not reproduce: they must stay unset.
_UNSET = ("gradient_accumulation_steps", "loss_scale_factor")
_CLIPPING = ("clipnorm", "global_clipnorm", "clipvalue")


class CompileError(MarkdownError, ValueError):
    """``compile``'s loss or optimizer cannot be reproduced; ``message`` says why."""


@dataclass(frozen=True)
class KerasCompile:
    """The validated loss and optimizer of a compiled Keras model."""

    loss: str  # "categorical_crossentropy" | "mean_squared_error"
    from_logits: bool
    label_smoothing: float
    optimizer: str  # the PyTorch class name
    optimizer_kwargs: dict[str, Any]
    keras_optimizer: str
    clipping: tuple[str, float] | None = None  # ("clipnorm" | "global_clipnorm" | "clipvalue", v)
    weight_decay: float = 0.0  # Keras's decoupled decay, for optimizers other than AdamW

    @property
    def batchable(self) -> bool:
        """Whether stacked replicates step as separate runs would (norms are per weight)."""
        return self.clipping is None or self.clipping[0] == "clipvalue"

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.optimizer_kwargs.items())
        logits = ", from_logits=True" if self.from_logits else ""
        if self.clipping:
            args += f", {self.clipping[0]}={self.clipping[1]:g}"
        if self.weight_decay:
            args += f", weight_decay={self.weight_decay:g}"
        return f"loss `{self.loss}{logits}`, optimizer `{self.keras_optimizer}` ({args})"

    def loss_fn(self, model: nn.Sequential) -> LossFn | None:
        """The loop's loss on the full model's output (None: the loop's own softmax split)."""
        ends_in_softmax = len(model) > 0 and isinstance(model[-1], nn.Softmax)
        smoothing = self.label_smoothing
        if self.loss in _CE and not self.from_logits and ends_in_softmax and not smoothing:
            return None  # the loop trains the logits before the softmax: the same loss
        if self.loss in _CE and self.from_logits:
            return lambda out, y: F.cross_entropy(out, y, label_smoothing=smoothing)
        if self.loss in _CE:
            return lambda out, y: _probability_cross_entropy(out, y, smoothing)
        return lambda out, y: F.mse_loss(out, F.one_hot(y, out.shape[1]).to(out.dtype))

    def optimizer_factory(self) -> OptimizerFactory:
        """Builds the PyTorch optimizer on whatever device the parameters are (capturable
        for a CUDA graph where the class supports it)."""
        cls = getattr(torch.optim, self.optimizer)
        kwargs = dict(self.optimizer_kwargs)
        if "beta1" in kwargs:
            kwargs["betas"] = (kwargs.pop("beta1"), kwargs.pop("beta2"))

        def factory(params: Any) -> torch.optim.Optimizer:
            params = [p for p in params if p.requires_grad]
            extra = {}
            if params and params[0].is_cuda and "capturable" in inspect.signature(cls).parameters:
                extra["capturable"] = True
            optimizer = cls(params, **kwargs, **extra)
            if self.clipping or self.weight_decay:
                optimizer.register_step_pre_hook(self._before_step(params))
            return optimizer

        return factory

    def _before_step(self, params: list[torch.Tensor]) -> Callable[..., None]:
        """Keras's ``apply_gradients`` before the update: clip, then decay the weights.
        Device ops only, so a CUDA graph captures them with the step."""
        clipping, decay = self.clipping, self.weight_decay

        def hook(optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
            with torch.no_grad():
                grads = [p.grad for p in params if p.grad is not None]
                if clipping and grads:
                    _clip(grads, *clipping)
                if decay:
                    lr = optimizer.param_groups[0]["lr"]
                    for p in params:
                        p.mul_(1.0 - lr * decay)

        return hook


def _clip(grads: list[torch.Tensor], kind: str, value: float) -> None:
    """``clip_by_value``, ``clip_by_norm`` (each) or ``clip_by_global_norm``, as Keras."""
    if kind == "clipvalue":
        for g in grads:
            g.clamp_(-value, value)
        return
    limit = torch.tensor(value, dtype=grads[0].dtype, device=grads[0].device)
    if kind == "clipnorm":
        for g in grads:
            g.mul_(limit / torch.maximum(g.norm(), limit))
        return
    total = torch.stack([g.norm() for g in grads]).norm()
    scale = limit / torch.maximum(total, limit)
    for g in grads:
        g.mul_(scale)


def _probability_cross_entropy(out: torch.Tensor, y: torch.Tensor,
                               smoothing: float) -> torch.Tensor:
    """Keras's categorical cross-entropy on outputs taken as probabilities."""
    p = out / out.sum(dim=1, keepdim=True)
    p = p.clamp(_EPSILON, 1.0 - _EPSILON)
    target = F.one_hot(y, out.shape[1]).to(out.dtype)
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / out.shape[1]
    return -(target * p.log()).sum(dim=1).mean()


def _loss(raw: Any) -> tuple[str, bool, float]:
    if not isinstance(raw, dict):
        raise CompileError("The model's loss could not be read.")
    name = raw.get("name") if "name" in raw else _LOSS_CLASSES.get(str(raw.get("class")))
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    allowed = "`categorical_crossentropy`, `sparse_categorical_crossentropy` or " \
              "`mean_squared_error`"
    if raw.get("custom") or name not in (*_CE, *_MSE):
        shown = raw.get("name") or raw.get("class")
        raise CompileError(f"`compile(loss=...)`: `{shown!s:.60}` is not a loss the grader "
                           f"reproduces. Use {allowed} (as a string, a `keras.losses` "
                           "function or its class).")
    from_logits = config.get("from_logits", False) is True
    smoothing = ranges.number(config.get("label_smoothing", 0.0) or 0.0,
                              f"Loss `{name}`: `label_smoothing`", 0.0, 1.0, high_open=True,
                              error=CompileError)
    name = "mean_squared_error" if name in _MSE else name
    return name, from_logits, smoothing


def _optimizer(raw: Any) -> tuple[str, dict[str, Any], str, tuple[str, float] | None, float]:
    if not isinstance(raw, dict) or not isinstance(raw.get("class"), str):
        raise CompileError("The model's optimizer could not be read.")
    name, config = raw["class"], raw.get("config") if isinstance(raw.get("config"), dict) else {}
    if raw.get("custom") or name not in OPTIMIZERS:
        allowed = ", ".join(f"`{k}`" for k in OPTIMIZERS)
        raise CompileError(f"`compile(optimizer=...)`: `{name:.60}` is not an optimizer the "
                           f"grader reproduces. Allowed: {allowed}.")
    for key in _UNSET:
        if config.get(key) not in (None, 0, 1 if key == "gradient_accumulation_steps" else 0):
            raise CompileError(f"Optimizer `{name}`: `{key}` is set; the grader does not "
                               "reproduce it. Leave it unset.")
    if config.get("use_ema"):
        raise CompileError(f"Optimizer `{name}`: `use_ema=True` is not reproduced.")
    clipping = _clipping(name, config)
    decay = 0.0
    if name != "AdamW" and config.get("weight_decay") not in (None, 0, 0.0):
        decay = ranges.positive(config["weight_decay"], f"Optimizer `{name}`: `weight_decay`",
                                1.0, error=CompileError)
    torch_name, keys = OPTIMIZERS[name]
    kwargs: dict[str, Any] = {}
    for key, (torch_key, default, low, high) in keys.items():
        value = config.get(key, default)
        if value is None:
            value = default
        if isinstance(value, dict):
            raise CompileError(f"Optimizer `{name}`: `{key}` is a schedule "
                               f"(`{value.get('class_name', '?')!s:.40}`); the grader "
                               "reproduces constant values only.")
        if isinstance(default, bool):
            kwargs[torch_key] = bool(value)
            continue
        kwargs[torch_key] = ranges.number(value, f"Optimizer `{name}`: `{key}`", low, high,
                                          low_open=key == "learning_rate", error=CompileError)
    if kwargs.get("nesterov") and not kwargs.get("momentum"):
        kwargs["nesterov"] = False  # Keras accepts it and it changes nothing without momentum
    return torch_name, kwargs, name, clipping, decay


def _clipping(name: str, config: dict) -> tuple[str, float] | None:
    chosen = [(k, config[k]) for k in _CLIPPING if config.get(k) is not None]
    if not chosen:
        return None
    if len(chosen) > 1:  # Keras itself refuses this
        raise CompileError(f"Optimizer `{name}`: set only one of `clipnorm`, "
                           "`global_clipnorm` and `clipvalue`.")
    key, value = chosen[0]
    return key, ranges.positive(value, f"Optimizer `{name}`: `{key}`", 1e6, error=CompileError)


def parse_compile(raw: Any) -> KerasCompile:
    """Validate what ``compile`` was given; raises ``CompileError`` for the student."""
    if raw is None:
        raise CompileError("The model is not compiled: call `model.compile(loss=..., "
                           "optimizer=..., metrics=['accuracy'])` before returning it.")
    if not isinstance(raw, dict):
        raise CompileError("The model's compile settings could not be read.")
    loss, from_logits, smoothing = _loss(raw.get("loss"))
    optimizer, kwargs, keras_name, clipping, decay = _optimizer(raw.get("optimizer"))
    return KerasCompile(loss, from_logits, smoothing, optimizer, kwargs, keras_name,
                        clipping, decay)
