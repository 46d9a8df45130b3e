"""Training the student's Keras models on the trusted side: one run, the CNN's pass rule,
and Problem 2.4's weight-decay sweep (factors x replicates), with its table and plot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from grader.testing import (
    Runs,
    TrainResult,
    TrainSettings,
    first_passing,
    rebuild_keras,
    run_lines,
    supports,
    train_and_evaluate,
    train_replicas,
)

from .common import SETTINGS, StudentModel


def train_keras(model: StudentModel, data: Any, *, epochs: int, batch_size: int, seed: int,
                use_graph: bool | None = None, stop_at: float | None = None) -> TrainResult:
    """Rebuild (Keras's initializers, drawn from ``seed``) and train as ``compile`` says: its
    loss, its optimizer and the regularizers' loss terms; test accuracy after each epoch."""
    compiled = model.training()
    rebuilt = rebuild_keras(model.spec, seed=seed)
    settings = TrainSettings(optimizer=compiled.optimizer,
                             lr=float(compiled.optimizer_kwargs.get("lr", 1e-3)),
                             optimizer_kwargs={}, epochs=epochs, batch_size=batch_size,
                             seed=seed)
    return train_and_evaluate(
        rebuilt.model, data, settings, use_graph=use_graph,
        optimizer_factory=compiled.optimizer_factory(),
        loss_fn=compiled.loss_fn(rebuilt.model),
        penalty=rebuilt.penalty if rebuilt.regularized else None, stop_at=stop_at)


# --- Problem 3.1: the CNN's pass rule --------------------------------------------------------
def train_cnn(model: StudentModel, data: Any, *, epochs: int, batch_size: int,
              seeds: list[int] | None = None) -> tuple[bool, list[TrainResult]]:
    """Up to 3 seeded runs; the first whose best epoch reaches the threshold passes."""
    threshold = SETTINGS["cnn"]["threshold"]
    return first_passing(  # the first epoch that reaches the threshold decides
        seeds if seeds is not None else SETTINGS["cnn"]["seeds"],
        lambda seed: train_keras(model, data, epochs=epochs, batch_size=batch_size, seed=seed,
                                 stop_at=threshold),
        lambda result: result.best_accuracy >= threshold)


def describe_cnn_runs(model: StudentModel, results: list[TrainResult], epochs: int,
                      batch_size: int) -> str:
    threshold = SETTINGS["cnn"]["threshold"]
    lines = [f"Threshold: best validation accuracy ≥ {threshold:.1%} in at least one of up to "
             f"{len(SETTINGS['cnn']['seeds'])} seeded runs; {epochs} epochs, batch size "
             f"{batch_size}, {model.training().describe()}.", "",
             *run_lines(results, "validation accuracy"),
             "", "Your model, as rebuilt:", "", model.summary()]
    return "\n".join(lines)


# --- Problem 2.4: the sweep ------------------------------------------------------------------
@dataclass
class FactorRuns(Runs):
    factor: float = 0.0


def train_replicates(model: StudentModel, data: Any, *, epochs: int, batch_size: int,
                     seeds: list[int]) -> list[TrainResult]:
    """The runs of ``seeds`` trained at once (``grader.train.replicas``): each is the run
    :func:`train_keras` gives for its seed. One by one where the model cannot be batched."""
    compiled = model.training()
    rebuilt = [rebuild_keras(model.spec, seed=seed) for seed in seeds]
    if supports(rebuilt[0].model, compiled.optimizer) or not compiled.batchable:
        return [train_keras(model, data, epochs=epochs, batch_size=batch_size, seed=seed)
                for seed in seeds]
    names = {id(t): n for n, t in rebuilt[0].model.named_parameters()}
    penalty = [(names[id(t)], l1, l2) for t, l1, l2 in rebuilt[0].regularized]
    settings = [TrainSettings(optimizer=compiled.optimizer, lr=0.0, optimizer_kwargs={},
                              epochs=epochs, batch_size=batch_size, seed=seed) for seed in seeds]
    return train_replicas([r.model for r in rebuilt], data, settings,
                          optimizer_factory=compiled.optimizer_factory(),
                          loss_fn=compiled.loss_fn(rebuilt[0].model), penalty=penalty)


def run_sweep(models: dict[float, StudentModel], data: Any, *, epochs: int, batch_size: int,
              replicates: int, concurrent: bool = True) -> list[FactorRuns]:
    """Every factor's model trained ``replicates`` times (seeds 0, 1, ...: the same seeds
    for every factor, so factors are compared on the same initializations and orders). With
    ``concurrent``, all the runs train as one batched model when the factors' models differ
    only in their regularizers' factors (each replicate with its own weight decay), else each
    factor's replicates together."""
    seeds = list(range(replicates))
    if concurrent:
        together = _sweep_together(models, data, epochs=epochs, batch_size=batch_size,
                                   seeds=seeds)
        if together is not None:
            return together
    out = []
    for factor, model in models.items():
        if concurrent:
            runs = train_replicates(model, data, epochs=epochs, batch_size=batch_size,
                                    seeds=seeds)
        else:
            runs = [train_keras(model, data, epochs=epochs, batch_size=batch_size, seed=seed)
                    for seed in seeds]
        out.append(FactorRuns(runs=runs, factor=factor))
    return out


def _sweep_together(models: dict[float, StudentModel], data: Any, *, epochs: int,
                    batch_size: int, seeds: list[int]) -> list[FactorRuns] | None:
    """The whole sweep (factors x seeds) as one batched model, each replicate with its own
    regularization; None when the factors' models differ in more than that."""
    first = next(iter(models.values()))
    compiled = first.training()
    if not compiled.batchable or any(_without_factors(m.raw) != _without_factors(first.raw)
                                     for m in models.values()):
        return None
    runs = [(factor, seed, rebuild_keras(model.spec, seed=seed))
            for factor, model in models.items() for seed in seeds]
    probe = runs[0][2]
    if supports(probe.model, compiled.optimizer):
        return None
    names = {id(t): n for n, t in probe.model.named_parameters()}
    order = [names[id(t)] for t, _, _ in probe.regularized]
    coefficients: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in order}
    for _, _, rebuilt in runs:
        own = {id(t): n for n, t in rebuilt.model.named_parameters()}
        found = {own[id(t)]: (l1, l2) for t, l1, l2 in rebuilt.regularized}
        if set(found) != set(order):
            return None
        for name in order:
            coefficients[name][0].append(found[name][0])
            coefficients[name][1].append(found[name][1])
    penalty = [(name, l1s, l2s) for name, (l1s, l2s) in coefficients.items()]
    settings = [TrainSettings(optimizer=compiled.optimizer, lr=0.0, optimizer_kwargs={},
                              epochs=epochs, batch_size=batch_size, seed=seed)
                for _, seed, _ in runs]
    results = train_replicas([r.model for _, _, r in runs], data, settings,
                             optimizer_factory=compiled.optimizer_factory(),
                             loss_fn=compiled.loss_fn(probe.model), penalty=penalty)
    return [FactorRuns(runs=results[i * len(seeds):(i + 1) * len(seeds)], factor=factor)
            for i, factor in enumerate(models)]


def _without_factors(raw: Any) -> Any:
    """A model's description with regularizer factors and layer names left out."""
    if isinstance(raw, dict):
        return {k: _without_factors(v) for k, v in raw.items()
                if k not in ("name", "l1", "l2", "weights", "outputs")}
    if isinstance(raw, list | tuple):
        return [_without_factors(v) for v in raw]
    return raw


def allowed_gap(f: FactorRuns, reported_std: float, tolerance: float,
                standard_errors: float) -> float:
    """How far a reported mean may lie from the grader's: ``tolerance``, or
    ``standard_errors`` standard errors of the difference of the two means if wider (each
    mean over as many replicates as the grader ran)."""
    n = max(1, len(f.runs))
    return max(tolerance, standard_errors * math.sqrt((reported_std ** 2 + f.std ** 2) / n))


def sweep_table(sweep: list[FactorRuns], reported: dict[float, tuple[float, float]],
                tolerance: float, standard_errors: float = 3.0) -> tuple[str, list[float]]:
    """Markdown table (grader's mean ± std next to the report's, the gap allowed) and the
    factors whose reported mean is not reproduced."""
    lines = ["| factor | grader: final validation accuracy (mean ± std) | your report | "
             "allowed gap | reproduced |", "|---|---|---|---|---|"]
    failed = []
    for f in sweep:
        mean, std = reported[f.factor]
        gap = allowed_gap(f, std, tolerance, standard_errors)
        ok = math.isfinite(mean) and abs(mean - f.mean) <= gap + 1e-12
        failed += [] if ok else [f.factor]
        lines.append(f"| {f.factor:g} | {f.mean:.2%} ± {f.std:.2%} | {mean:.2%} ± {std:.2%} | "
                     f"{100 * gap:.2f} points | {'yes' if ok else '**no**'} |")
    best = max(sweep, key=lambda f: f.mean)
    hinton = SETTINGS["weight_decay"]["hinton"]
    lines += ["", f"Best factor: {best.factor:g}, {best.mean:.2%} ± {best.std:.2%}; Hinton's "
                  f"{hinton:.2%} is {100 * (hinton - best.mean):+.2f} points from it."]
    return "\n".join(lines), failed


def sweep_plot(sweep: list[FactorRuns]) -> dict:
    """The handout's figure: final validation accuracy against the factor, with std bars."""
    return {"title": "2.4: final validation accuracy by L2 factor (grader's replicates)",
            "x_label": "regularization factor", "y_label": "validation accuracy",
            "x": [f.factor for f in sweep], "x_scale": "log",
            "series": {"mean of replicates": [f.mean for f in sweep]},
            "errors": {"mean of replicates": [f.std for f in sweep]},
            "threshold": SETTINGS["weight_decay"]["hinton"]}
