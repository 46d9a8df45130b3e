"""Train several replicates of one architecture at once, as one batched model.

A sweep trains the same network many times (Keras A7: 5 factors x 3 replicates; ECE1513's
pass rule is the mean of 5 seeded runs). Trained
one after another, a small MLP leaves most of a GPU idle; here the replicates' weights are
stacked (``torch.func.stack_module_state``) and every step runs all of them together
(``vmap`` over ``functional_call``): one batched matmul per layer instead of one per
replicate, one optimizer step over the stacked tensors.

Each replicate is still its own run, identical to :func:`grader.train.train_and_evaluate`
with the same seed: its own initial weights (the models passed in), its own epoch order
(a device generator seeded as the loop seeds it), the loop's dropped last partial batch,
its own loss, and an optimizer whose update is elementwise (SGD, Adam, RMSprop, Adagrad,
Adadelta, Adamax, and the JAX rules ECE1513's convnet runs train with: a stacked tensor steps
exactly as its slices would). Only dropout masks
come from one shared generator, so a model with dropout sees other (equally random) masks
than in a single run. Models with buffers (batch norm) are not batched: ``supports`` says
so and callers train those one by one.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from grader.train.data import MnistTensors
from grader.train.jax_optimizers import HYPERPARAMETERS
from grader.train.loop import (
    EVAL_BATCH,
    LossFn,
    Numerics,
    OptimizerFactory,
    TrainResult,
    _cap_gpu_memory,
    _check_activations,
    _check_output,
    _inputs,
    _numerics,
    _provenance,
    _split_head,
)
from grader.train.settings import TrainSettings

__all__ = ["supports", "train_replicas"]

# (parameter name, l1, l2): a Keras regularizer on that parameter; l1 and l2 are one number
# for every replicate, or one per replicate (a sweep over weight-decay factors trained as one
# batched model).
Coefficient = float | Sequence[float]
Penalty = Sequence[tuple[str, Coefficient, Coefficient]]
# torch's optimizers that update each weight on its own, and every rule of JAX's
# example_libraries.optimizers the grader replays (grader.train.jax_optimizers)
_ELEMENTWISE = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                *HYPERPARAMETERS)


def supports(model: nn.Module, optimizer: str) -> str:
    """Why ``model`` cannot be trained batched with ``optimizer`` ('' when it can)."""
    if any(True for _ in model.buffers()):
        return "the model has buffers (batch norm statistics)"
    if optimizer not in _ELEMENTWISE:
        return f"{optimizer} does not update each weight on its own"
    return ""


def train_replicas(models: Sequence[nn.Sequential], data: MnistTensors,
                   settings: Sequence[TrainSettings], *,
                   optimizer_factory: OptimizerFactory,
                   loss_fn: LossFn | None = None, penalty: Penalty = (),
                   numerics: Numerics | None = None) -> list[TrainResult]:
    """Train ``models`` (same architecture, their own initial weights) together; replicate
    ``i`` uses ``settings[i]`` (same epochs and batch size for all, its own seed).

    ``penalty`` names the regularized parameters (as in ``model.named_parameters()``).
    """
    if len(models) != len(settings) or not models:
        raise ValueError("one TrainSettings per model, and at least one model")
    epochs, batch = settings[0].epochs, settings[0].batch_size
    if any((s.epochs, s.batch_size) != (epochs, batch) for s in settings):
        raise ValueError("replicates must share epochs and batch size")
    numerics = numerics or Numerics()
    device = data.device
    start = time.perf_counter()
    heads = [_split_head(m, loss_fn) for m in models]
    head = heads[0]
    # every replicate's batch is in memory at once; the same checks as one run's
    _check_activations(models[0], head, batch * len(models), data)
    _cap_gpu_memory(device)
    base = copy.deepcopy(head.body).to("meta")  # the structure; weights come stacked
    full = copy.deepcopy(models[0]).to("meta")
    with _numerics(numerics):
        torch.manual_seed(settings[0].seed)  # dropout: one generator for all replicates
        for m in models:
            m.to(device).train()
        _check_output(models[0], head, data)
        params, _ = stack_module_state([h.body for h in heads])
        full_params = _full_names(models[0], head.body, params)
        optimizer = optimizer_factory(params.values())
        orders = [torch.Generator(device=device) for _ in settings]
        for gen, s in zip(orders, settings, strict=True):
            gen.manual_seed(s.seed)

        def forward(p: dict, x: torch.Tensor) -> torch.Tensor:
            return functional_call(base, p, (x,))

        def replicate_loss(p: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return head.loss(forward(p, x), y)

        batched_loss = vmap(replicate_loss, randomness="different")
        steps = len(data.x_train) // batch
        n = len(models)
        curves: list[list[float]] = [[] for _ in models]
        losses: list[list[float]] = [[] for _ in models]
        for _ in range(epochs):
            perms = torch.stack([torch.randperm(len(data.x_train), generator=g, device=device)
                                 for g in orders])
            base.train()
            total = torch.zeros(n, device=device)
            for i in range(steps):
                idx = perms[:, i * batch:(i + 1) * batch]
                x = _inputs(data.x_train[idx.reshape(-1)], head)
                x = x.reshape(n, batch, *x.shape[1:])
                y = data.y_train[idx]
                optimizer.zero_grad(set_to_none=True)
                per_replicate = batched_loss(params, x, y) + _penalty(params, penalty)
                per_replicate.sum().backward()
                optimizer.step()
                total += per_replicate.detach()
            for r, value in enumerate((total / steps).tolist()):
                losses[r].append(value)
            for r, accuracy in enumerate(_evaluate(full, full_params, data, head.flat_input)):
                curves[r].append(accuracy)
        _copy_back(models, heads, params)
        seconds = time.perf_counter() - start
        results = []
        for r, s in enumerate(settings):
            results.append(TrainResult(
                test_accuracy=curves[r], train_loss=losses[r], best_accuracy=max(curves[r]),
                final_accuracy=curves[r][-1], seconds=seconds / n, device=str(device),
                mode=f"replicates ({n} at once)", note="", determinism=_provenance(s, device),
                nonfinite_loss=not all(math.isfinite(v) for v in losses[r])))
    return results


def _full_names(model: nn.Sequential, body: nn.Module, params: dict) -> Callable[[], dict]:
    """The stacked parameters named as in the full model (the body may drop a Softmax)."""
    names = dict(zip((n for n, _ in body.named_parameters()),
                     (n for n, _ in model.named_parameters()), strict=True))
    return lambda: {names[k]: v for k, v in params.items()}


def _penalty(params: dict, penalty: Penalty) -> torch.Tensor | float:
    """Each replicate's regularization loss, shape ``(replicates,)`` (or 0.0 without any)."""
    total: torch.Tensor | float = 0.0
    for name, l1, l2 in penalty:
        weights = params[name].flatten(1)
        if _any(l2):
            total = total + _per_replicate(l2, weights) * weights.square().sum(1)
        if _any(l1):
            total = total + _per_replicate(l1, weights) * weights.abs().sum(1)
    return total


def _any(coefficient: Coefficient) -> bool:
    return any(coefficient) if isinstance(coefficient, Sequence) else bool(coefficient)


def _per_replicate(coefficient: Coefficient, weights: torch.Tensor) -> torch.Tensor | float:
    if not isinstance(coefficient, Sequence):
        return coefficient
    return torch.tensor(coefficient, dtype=weights.dtype, device=weights.device)


def _evaluate(full: nn.Module, full_params: Callable[[], dict], data: MnistTensors,
              flat: bool) -> list[float]:
    """Each replicate's accuracy on the test split, in eval mode."""
    full.eval()
    p = {k: v.detach() for k, v in full_params().items()}
    predict = vmap(lambda q, x: functional_call(full, q, (x,)), in_dims=(0, None))
    hits = None
    with torch.no_grad():
        for i in range(0, len(data.x_test), EVAL_BATCH):
            x = data.x_test[i:i + EVAL_BATCH]
            x = x.flatten(1) if flat else x
            right = (predict(p, x).argmax(-1) == data.y_test[i:i + EVAL_BATCH]).sum(-1)
            hits = right if hits is None else hits + right
    full.train()
    assert hits is not None
    return [h / len(data.x_test) for h in hits.tolist()]


def _copy_back(models: Sequence[nn.Module], heads: list, params: dict) -> None:
    """Leave each model holding its trained weights, as the loop does."""
    with torch.no_grad():
        for r, h in enumerate(heads):
            for name, tensor in h.body.named_parameters():
                tensor.copy_(params[name][r])
