"""Train a rebuilt student model on resident MNIST and measure test accuracy per epoch.

Why it is shaped this way:

- Speed: the data stay on the device, each epoch's order is drawn there, batches are gathered
  there, and the loss is summed there; nothing is read back before the end of an epoch. On
  CUDA one whole training step (gather, forward, loss, backward, optimizer step, loss sum) is
  captured once as a CUDA graph and replayed, one launch per step.
- Same training either way: the last partial batch of each epoch is dropped, because a graph
  needs a fixed batch shape, and eager mode drops it too. With batch 32 on 60,000 images
  nothing is dropped; otherwise at most ``batch_size - 1`` images per epoch (a new order each
  epoch, so every image is still seen).
- Reproducibility: the seed drives the initial global RNG state (dropout) and a separate
  device generator for the epoch order; cuDNN and TF32 settings are fixed for the run (see
  ``Numerics``) and recorded in ``TrainResult.determinism``. On the CPU two runs with the same
  seed give identical curves.
- Loss: categorical cross-entropy. A model ending in ``Softmax`` is trained on the logits
  before it with ``F.cross_entropy`` (the same loss, computed stably); one ending in
  ``LogSoftmax`` with ``F.nll_loss``; any other output is taken as logits. Accuracy uses the
  full model's argmax, which the final softmax does not change.

The model is trained in place (moved to the data's device) and global RNGs are reseeded.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import platform
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grader.train.data import MnistTensors
from grader.train.progress import training_bar
from grader.train.settings import TrainSettings

__all__ = ["EVAL_BATCH", "LossFn", "Numerics", "OptimizerFactory", "TrainResult",
           "train_and_evaluate"]

EVAL_BATCH = 1000
_WARMUP_STEPS = 3  # as in PyTorch's whole-network capture example
_N_CLASSES = 10
# Layers that keep the input's shape: an MLP starting with these then Linear gets flat input.
_SHAPE_KEEPING = (nn.Dropout, nn.Identity, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU,
                  nn.Sigmoid, nn.Tanh)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
OptimizerFactory = Callable[[Any], torch.optim.Optimizer]


@dataclass(frozen=True)
class Numerics:
    """cuDNN and TF32 settings for a run, fixed so a grade does not depend on a heuristic.

    The default favours reproducibility over speed: ``cudnn.deterministic`` excludes the
    atomics-based backward convolutions, ``benchmark=False`` takes cuDNN's heuristic choice
    instead of timing candidates (timings vary, so the choice would too), and TF32 off keeps
    float32 matmuls and convolutions at full precision. The cost is convolution speed on
    Ampere and later GPUs; ``bench/train_speed.py --fast-numerics`` measures it. Global
    ``torch.use_deterministic_algorithms`` is left as the caller set it (it is recorded): it
    would raise on some CUDA ops and needs ``CUBLAS_WORKSPACE_CONFIG`` in the environment.
    """

    deterministic: bool = True
    benchmark: bool = False
    tf32: bool = False


@dataclass
class TrainResult:
    """Curves and provenance of one training run."""

    test_accuracy: list[float]  # after each epoch
    train_loss: list[float]  # mean over each epoch's steps
    best_accuracy: float
    final_accuracy: float
    seconds: float  # everything: setup, capture, training, evaluation
    device: str
    mode: str  # "cuda-graph" | "eager"
    note: str  # why eager, when a graph was possible in principle
    determinism: dict[str, Any]
    lr_per_epoch: list[float] = field(default_factory=list)
    setup_seconds: float = 0.0  # warm-up and capture (graph mode)
    train_accuracy: list[float] = field(default_factory=list)  # when asked for, per epoch
    nonfinite_loss: bool = False  # some epoch's mean loss was NaN or infinite
    epochs_planned: int = 0  # what the settings asked for
    stopped_early: bool = False  # the run reached ``stop_at`` before its last epoch

    def stop_note(self, what: str = "test accuracy") -> str:
        """'reached 98.71 % at epoch 3 of 10; training stopped', for feedback."""
        if not self.stopped_early:
            return ""
        return (f"reached {self.test_accuracy[-1]:.2%} {what} at epoch "
                f"{len(self.test_accuracy)} of {self.epochs_planned}; training stopped there")


@dataclass
class _Head:
    """What training differentiates: the layers before a final (Log)Softmax, and the loss."""

    body: nn.Module
    loss: LossFn
    flat_input: bool


# --- model inspection -----------------------------------------------------------------------
def _check_class_dim(layer: nn.Module) -> None:
    dim = getattr(layer, "dim", None)
    if dim not in (None, 1, -1):
        raise ValueError(f"the final {type(layer).__name__} must act on the class dimension "
                         f"(dim=1 or dim=-1), not dim={dim}")


def _wants_flat_input(model: nn.Sequential) -> bool:
    """True when the first shape-changing layer is Linear (a Keras-style MLP, no Flatten)."""
    for layer in model:
        if isinstance(layer, nn.Linear):
            return True
        if not isinstance(layer, _SHAPE_KEEPING):
            return False
    return False


def _split_head(model: nn.Sequential, loss_fn: LossFn | None = None,
                penalty: Callable[[], torch.Tensor] | None = None) -> _Head:
    """The body and loss training differentiates; ``loss_fn`` (on the full model's output)
    replaces the automatic choice, and ``penalty`` (e.g. L2 terms of the weights) is added."""
    head = _auto_head(model) if loss_fn is None else _Head(
        body=model, loss=loss_fn, flat_input=_wants_flat_input(model))
    if penalty is not None:
        base = head.loss
        head.loss = lambda out, y: base(out, y) + penalty()
    return head


def _auto_head(model: nn.Sequential) -> _Head:
    last = model[-1] if len(model) else None
    body: nn.Module = model
    loss: LossFn = F.cross_entropy
    if isinstance(last, nn.Softmax):
        _check_class_dim(last)
        body = model[:-1]  # shares the layers, so training it trains the model
    elif isinstance(last, nn.LogSoftmax):
        _check_class_dim(last)
        loss = F.nll_loss
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("the model has no trainable parameters")
    return _Head(body=body, loss=loss, flat_input=_wants_flat_input(model))


def _inputs(x: torch.Tensor, head: _Head) -> torch.Tensor:
    return x.flatten(1) if head.flat_input else x


def _check_output(model: nn.Sequential, head: _Head, data: MnistTensors) -> None:
    """One eval-mode forward on two images, so a shape error is named before training."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(_inputs(data.x_train[:2], head))
    model.train(was_training)
    if tuple(out.shape) != (2, _N_CLASSES):
        raise ValueError(f"the model must map a batch to (batch, {_N_CLASSES}) scores; "
                         f"two images gave shape {tuple(out.shape)}")


MAX_BATCH_ACTIVATIONS = 2**30  # values kept for one training batch's backward (4 GiB)
GPU_FRACTION_ENV = "GRADER_GPU_FRACTION"


def _check_activations(model: nn.Sequential, head: _Head, batch_size: int,
                       data: MnistTensors) -> None:
    """Trace one training batch on the meta device (no memory) and refuse a model whose
    activations would not fit: a compliant-looking convnet can need a hundred GiB per batch,
    and would starve every other job on the GPU before failing."""
    x = torch.zeros((batch_size, *data.x_train.shape[1:]), device="meta")
    x = _inputs(x, head)
    total = 0
    for i, layer in enumerate(model):
        try:
            x = copy.deepcopy(layer).to("meta")(x)
        except Exception:  # noqa: BLE001 - a shape error is named by _check_output
            return
        total += x.numel()
        if total > MAX_BATCH_ACTIVATIONS:
            raise ValueError(
                f"a batch of {batch_size} needs more than {MAX_BATCH_ACTIVATIONS:,} activation "
                f"values by layer {i + 1} ({type(layer).__name__}, output {tuple(x.shape)}): "
                "too much memory to train; pool earlier or use fewer channels")


def _cap_gpu_memory(device: torch.device) -> None:
    """This process's share of the GPU (``$GRADER_GPU_FRACTION``, set by a batch that trains
    several hand-ins on one GPU), so that one submission cannot starve the others."""
    fraction = os.environ.get(GPU_FRACTION_ENV)
    if device.type != "cuda" or not fraction:
        return
    with contextlib.suppress(ValueError, RuntimeError):
        torch.cuda.set_per_process_memory_fraction(min(max(float(fraction), 0.05), 1.0), device)


def _graph_blocker(model: nn.Module, settings: TrainSettings, device: torch.device,
                   use_graph: bool | None, *, custom_optimizer: bool = False) -> str | None:
    """Why this run cannot be a CUDA graph, or None when capture may be tried."""
    if device.type != "cuda":
        if use_graph:
            return f"use_graph=True, but the device is {device.type}: CUDA graphs need CUDA"
        return ""
    if use_graph is False:
        return "use_graph=False: eager by request"
    if not torch.cuda.is_available():
        return "CUDA is not available in this process"
    if not custom_optimizer and settings.optimizer == "SGD" and settings.step_size is not None:
        return ("SGD reads a tensor learning rate on the host, so a learning-rate schedule "
                "cannot change it inside a captured graph")
    for layer in model.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.momentum is None:
            return ("BatchNorm with momentum=None averages with a host-side count, "
                    "which a captured graph cannot update")
    return None


# --- numerics and provenance ----------------------------------------------------------------
def _tf32_state() -> dict[str, Any]:
    try:
        return {"matmul_fp32_precision": torch.backends.cuda.matmul.fp32_precision,
                "cudnn_conv_fp32_precision": torch.backends.cudnn.conv.fp32_precision}
    except AttributeError:  # torch before the fp32_precision API
        return {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}


def _set_tf32(state: dict[str, Any]) -> None:
    if "matmul_fp32_precision" in state:
        torch.backends.cuda.matmul.fp32_precision = state["matmul_fp32_precision"]
        torch.backends.cudnn.conv.fp32_precision = state["cudnn_conv_fp32_precision"]
    else:
        torch.backends.cuda.matmul.allow_tf32 = state["matmul_allow_tf32"]
        torch.backends.cudnn.allow_tf32 = state["cudnn_allow_tf32"]


def _tf32_target(tf32: bool, like: dict[str, Any]) -> dict[str, Any]:
    if "matmul_fp32_precision" in like:
        value = "tf32" if tf32 else "ieee"
        return {"matmul_fp32_precision": value, "cudnn_conv_fp32_precision": value}
    return {"matmul_allow_tf32": tf32, "cudnn_allow_tf32": tf32}


@contextmanager
def _numerics(numerics: Numerics) -> Iterator[None]:
    """Apply ``numerics`` for the run and restore the process-wide flags afterwards."""
    cudnn = torch.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, _tf32_state())
    cudnn.benchmark, cudnn.deterministic = numerics.benchmark, numerics.deterministic
    _set_tf32(_tf32_target(numerics.tf32, saved[2]))
    try:
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic = saved[0], saved[1]
        _set_tf32(saved[2])


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"


def _provenance(settings: TrainSettings, device: torch.device) -> dict[str, Any]:
    return {
        "seed": settings.seed,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        **_tf32_state(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "device_name": _device_name(device),
        "drop_last_partial_batch": True,
    }


# --- optimizers -----------------------------------------------------------------------------
def _make_optimizer(model: nn.Module, settings: TrainSettings, *, graph: bool,
                    device: torch.device,
                    factory: OptimizerFactory | None = None) -> torch.optim.Optimizer:
    """The student's optimizer; for a graph, capturable and (with a schedule) a device lr.

    A ``factory`` (e.g. JAX's update rules, ``grader.train.jax_optimizers``) replaces the
    torch optimizer named in ``settings``; it must be capturable itself.
    """
    if factory is not None:
        return factory(model.parameters())
    cls = getattr(torch.optim, settings.optimizer)
    kwargs = dict(settings.optimizer_kwargs)
    lr: float | torch.Tensor = settings.lr
    if graph and settings.optimizer != "SGD":  # SGD keeps no host-side step count
        kwargs["capturable"] = True
        if settings.step_size is not None:
            # A device tensor is read by the kernels at replay; a float would be baked in.
            lr = torch.tensor(settings.lr, dtype=torch.float32, device=device)
    return cls(model.parameters(), lr=lr, **kwargs)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _zero_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Undo warm-up steps in place (graph addresses must not change).

    Zeros are the fresh state of Adam, AdamW and RMSprop (step, moments, buffers). SGD
    starts its momentum buffer as a copy of the first gradient, which ``buf * m + grad``
    from a zero buffer also gives, since dampening is always 0 here.
    """
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                value.zero_()


# --- training steps -------------------------------------------------------------------------
class _EagerRunner:
    """Ordinary PyTorch steps on batches gathered on the device."""

    def __init__(self, model: nn.Sequential, head: _Head, data: MnistTensors,
                 settings: TrainSettings, factory: OptimizerFactory | None = None) -> None:
        self.model, self.head, self.data = model, head, data
        self.batch = settings.batch_size
        self.steps = len(data.x_train) // self.batch
        self.optimizer = _make_optimizer(model, settings, graph=False, device=data.device,
                                         factory=factory)

    def set_lr(self, lr: float) -> None:
        _set_lr(self.optimizer, lr)

    def run_epoch(self, perm: torch.Tensor, bar: Any = None) -> float:
        total = torch.zeros((), device=self.data.device)
        self.model.train()
        for i in range(self.steps):
            if bar is not None:
                bar.update(1)
            idx = perm[i * self.batch:(i + 1) * self.batch]
            x = _inputs(self.data.x_train.index_select(0, idx), self.head)
            y = self.data.y_train.index_select(0, idx)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.head.loss(self.head.body(x), y)
            loss.backward()
            self.optimizer.step()
            total += loss.detach()
        return total.item() / self.steps


class _GraphRunner:
    """One captured training step, replayed once per batch.

    The step reads its batch through static buffers: the epoch's permutation and a step
    counter on the device, both advanced inside the graph, so a replay needs no host copy.
    """

    def __init__(self, model: nn.Sequential, head: _Head, data: MnistTensors,
                 settings: TrainSettings, factory: OptimizerFactory | None = None) -> None:
        device = data.device
        self.model, self.device = model, device
        self.steps = len(data.x_train) // settings.batch_size
        self.perm = torch.arange(len(data.x_train), device=device)
        self.pos = torch.zeros(1, dtype=torch.long, device=device)
        self.loss_sum = torch.zeros((), device=device)
        rows = self.perm[: self.steps * settings.batch_size].view(self.steps, -1)
        self.optimizer = _make_optimizer(model, settings, graph=True, device=device,
                                         factory=factory)

        def step() -> None:
            idx = rows.index_select(0, self.pos).view(-1)
            x = _inputs(data.x_train.index_select(0, idx), head)
            loss = head.loss(head.body(x), data.y_train.index_select(0, idx))
            loss.backward()
            self.optimizer.step()
            self.loss_sum.add_(loss.detach())
            self.pos.add_(1)

        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        try:
            self.graph = self._capture(step)
            torch.manual_seed(settings.seed)  # warm-up used dropout's RNG; start it afresh
        except BaseException:
            _quiet_sync(device)  # let queued warm-up work finish before restoring over it
            raise
        finally:  # also on failure, so the eager fallback starts from the same weights
            self._restore(saved)
        _zero_optimizer_state(self.optimizer)

    def _capture(self, step: Callable[[], None]) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream (lazy state, cuBLAS/cuDNN setup), then capture."""
        self.model.train()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side), warnings.catch_warnings():
            # capturable=True warns when stepped outside a capture, as warm-up must be.
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            for _ in range(_WARMUP_STEPS):
                self.pos.zero_()  # an epoch may have fewer steps than the warm-up
                self.optimizer.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # Grads set to None, so backward allocates them from the graph's private pool.
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            step()
        torch.cuda.synchronize(self.device)
        return graph

    def _restore(self, saved: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for key, value in self.model.state_dict().items():
                value.copy_(saved[key])

    def set_lr(self, lr: float) -> None:
        _set_lr(self.optimizer, lr)  # a tensor lr (schedule) or the unchanged float

    def run_epoch(self, perm: torch.Tensor) -> float:
        self.perm.copy_(perm)
        self.pos.zero_()
        self.loss_sum.zero_()
        self.model.train()
        for _ in range(self.steps):
            self.graph.replay()
        return self.loss_sum.item() / self.steps


def _quiet_sync(device: torch.device) -> None:
    try:
        torch.cuda.synchronize(device)
    except Exception:  # a failed capture may leave an error to report; the caller has one
        pass


def _evaluate(model: nn.Sequential, head: _Head, data: MnistTensors,
              split: str = "test") -> float:
    """Accuracy of the full model in eval mode on a whole split (``test`` or ``train``)."""
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    model.eval()
    with torch.inference_mode():
        hits = [
            (model(_inputs(x[i:i + EVAL_BATCH], head)).argmax(1) == y[i:i + EVAL_BATCH]).sum()
            for i in range(0, len(x), EVAL_BATCH)
        ]
        correct = int(torch.stack(hits).sum().item())
    model.train()
    return correct / len(x)


# --- entry point ----------------------------------------------------------------------------
def train_and_evaluate(model: nn.Sequential, data: MnistTensors, settings: TrainSettings, *,
                       use_graph: bool | None = None,
                       numerics: Numerics | None = None,
                       optimizer_factory: OptimizerFactory | None = None,
                       track_train_accuracy: bool = False,
                       loss_fn: LossFn | None = None,
                       penalty: Callable[[], torch.Tensor] | None = None,
                       stop_at: float | None = None) -> TrainResult:
    """Train ``model`` with ``settings`` and return per-epoch test accuracy and loss.

    ``stop_at``: where the pass rule is "the best epoch reaches a threshold", the first
    epoch that reaches it decides, and training stops there (``stopped_early``).

    ``use_graph``: None tries a CUDA graph on CUDA and runs eagerly elsewhere; True asks for
    one (falling back to eager, with the reason in ``note``); False forces eager.
    ``optimizer_factory`` replaces the torch optimizer ``settings`` names (its ``lr`` and
    schedule are then ignored). ``track_train_accuracy`` also measures accuracy on the whole
    training set after each epoch (over- and underfitting are read from it). ``loss_fn``
    (output, labels) replaces the cross-entropy chosen from the model's last layer, for
    frameworks whose loss is set apart from the model (Keras's ``compile``); ``penalty()``
    is added to every step's loss (Keras's weight regularizers).
    """
    numerics = numerics or Numerics()
    device = data.device
    if len(data.x_train) < settings.batch_size:
        raise ValueError(f"{len(data.x_train)} training images are fewer than one batch "
                         f"of {settings.batch_size}")
    head = _split_head(model, loss_fn, penalty)
    _check_activations(model, head, settings.batch_size, data)
    _cap_gpu_memory(device)
    start = time.perf_counter()
    model.to(device)
    with _numerics(numerics):
        torch.manual_seed(settings.seed)  # CPU and every CUDA device: dropout masks
        order = torch.Generator(device=device)
        order.manual_seed(settings.seed)
        _check_output(model, head, data)
        runner, mode, note = _make_runner(model, head, data, settings, use_graph,
                                          optimizer_factory)
        setup_seconds = time.perf_counter() - start
        accuracy, losses, lrs, train_accuracy = [], [], [], []
        steps = len(data.x_train) // settings.batch_size
        with training_bar(settings.epochs * steps, f"seed {settings.seed}") as bar:
            for epoch in range(settings.epochs):
                if optimizer_factory is None:  # a factory's optimizer keeps its own rates
                    lrs.append(settings.lr_at(epoch))
                    runner.set_lr(lrs[-1])
                perm = torch.randperm(len(data.x_train), generator=order, device=device)
                if isinstance(runner, _EagerRunner):
                    losses.append(runner.run_epoch(perm, bar))
                else:
                    losses.append(runner.run_epoch(perm))
                    if bar is not None:
                        bar.update(steps)
                accuracy.append(_evaluate(model, head, data))
                if bar is not None:
                    bar.set_postfix_str(f"epoch {epoch + 1}: test accuracy {accuracy[-1]:.2%}")
                if track_train_accuracy:
                    train_accuracy.append(_evaluate(model, head, data, "train"))
                if stop_at is not None and accuracy[-1] >= stop_at:
                    break
        model.zero_grad(set_to_none=True)  # drop grads that live in a graph's memory pool
        determinism = _provenance(settings, device)
    return TrainResult(
        test_accuracy=accuracy, train_loss=losses, best_accuracy=max(accuracy),
        final_accuracy=accuracy[-1], seconds=time.perf_counter() - start, device=str(device),
        mode=mode, note=note, determinism=determinism, lr_per_epoch=lrs,
        setup_seconds=setup_seconds, train_accuracy=train_accuracy,
        nonfinite_loss=not all(math.isfinite(v) for v in losses),
        epochs_planned=settings.epochs, stopped_early=len(accuracy) < settings.epochs,
    )


def _make_runner(model: nn.Sequential, head: _Head, data: MnistTensors,
                 settings: TrainSettings, use_graph: bool | None,
                 factory: OptimizerFactory | None = None,
                 ) -> tuple[_EagerRunner | _GraphRunner, str, str]:
    """A graph runner when capture works, else eager with the reason."""
    blocker = _graph_blocker(model, settings, data.device, use_graph,
                             custom_optimizer=factory is not None)
    if blocker is None:
        try:
            return _GraphRunner(model, head, data, settings, factory), "cuda-graph", ""
        except Exception as exc:  # any capture failure: train eagerly, say why
            model.zero_grad(set_to_none=True)
            torch.manual_seed(settings.seed)
            blocker = f"CUDA graph capture failed ({type(exc).__name__}: {exc})"
    note = f"{blocker}; trained eagerly" if blocker else ""
    return _EagerRunner(model, head, data, settings, factory), "eager", note
