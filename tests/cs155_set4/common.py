"""Shared helpers of the CS155 Set 4 suite: the student's models as data, rebuilt here.

The worker builds the student's model and describes it (layer types and constructor
arguments); everything after that happens on this trusted side: the whitelist check, the
rebuild with torch's own constructors, the constraint checks and the training.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest

from grader.feedback import GradingFailure, fail
from grader.models.constraints import check_allowed_layers, check_computes
from grader.models.layers import WHITELIST
from grader.models.rebuild import ModelSpecError, check_fidelity, rebuild
from grader.packs import load_pack
from grader.train import (
    HANDOUT_DEFAULTS,
    SettingsError,
    TrainSettings,
    parse_settings,
    train_and_evaluate,
)
from grader.worker.client import SubmissionError

PACK = load_pack("cs155_set4")
PROBLEMS: dict[str, dict] = PACK.settings["problems"]


def cases(points: float, *, needs: str | None = None, tag: str = "builder",
          marks: tuple = (), visibility: str = "visible") -> list:
    """One pytest param per problem (that has setting ``needs``), graded and tagged with
    that problem's builder (or training dict) name, so feedback names what to fix."""
    params = []
    for name, problem in PROBLEMS.items():
        if needs and needs not in problem:
            continue
        mark = pytest.mark.graded(points=points, function=problem[tag],
                                  visibility=visibility)
        params.append(pytest.param(name, marks=(mark, *marks), id=name))
    return params


PROBE = np.random.default_rng(155).random((8, 1, 28, 28), dtype=np.float32)


def describe(student: Any, problem: str, *, probe: bool = False) -> list[dict] | tuple:
    """The layer list of the student's model for ``problem``, built and described remotely;
    with ``probe``, also the model's own weights and outputs on the probe images."""
    builder = PROBLEMS[problem]["builder"]
    model = getattr(student, builder)()
    try:
        spec = student.engine("describe_model", model, doing=f"describing `{builder}()`")
    except SubmissionError as exc:
        if exc.kind == "refused":
            fail(f"`{builder}()`: {exc.message}")
        raise
    if not probe:
        return spec
    try:  # a model that breaks is told where by the checks of its rebuild
        return spec, student.engine("probe_model", model, PROBE,
                                    doing=f"running `{builder}()` on probe images")
    except SubmissionError as exc:
        return spec, exc.message


def rebuilt(student: Any, problem: str) -> tuple[list[dict], Any]:
    """(layer list, the model rebuilt here from the allowed layers of ``problem``).

    Every rule of the problem is checked on a model that computes something (see
    ``check_computes``): an empty or parameter-free model satisfies "at most 100 hidden units"
    without doing any of the work, so it earns nothing.
    """
    spec, probe = describe(student, problem, probe=True)
    allowed = PROBLEMS[problem]["allowed"]
    builder = PROBLEMS[problem]["builder"]
    check_allowed_layers(spec, allowed)
    try:
        model = rebuild(spec, allowed)
    except ModelSpecError as exc:
        fail(f"`{builder}()`: {exc.message}")
    try:
        check_computes(model)
    except GradingFailure as exc:
        fail(f"`{builder}()` does not compute anything from the image yet, so the problem's "
             f"rules are not checked on it: {exc.message}")
    # The description must be the model's: the rebuild, given its weights, computes its
    # outputs (a description that was not read from a real model earns nothing).
    differs = probe if isinstance(probe, str) else check_fidelity(copy.deepcopy(model), probe,
                                                                  PROBE)
    if differs:
        fail(f"`{builder}()`: the grader rebuilds your model from its layer list, and that "
             f"rebuild is not your model: {differs}. Build it from standard layers only.")
    return spec, model


def not_a_stub(student: Any, problem: str) -> None:
    """The problem's builder returns a model the grader can read, with parameters, whose output
    depends on the image where it runs: the evidence the training settings ask for. A model
    with a layer this problem forbids, or that breaks at a layer, still counts here (those
    bugs are charged to the builder's tests, once)."""
    spec, probe = describe(student, problem, probe=True)
    builder = PROBLEMS[problem]["builder"]
    try:
        model = rebuild(spec, WHITELIST)
        check_computes(model, must_run=False)
    except ModelSpecError as exc:
        fail(f"`{builder}()`: {exc.message}")
    except GradingFailure as exc:
        fail(f"The training settings count once `{builder}()` builds a model that computes "
             f"something: {exc.message}")
    # tied to the model that was built: the rebuild given its weights computes its outputs
    # (a model that breaks at a layer has no outputs to compare: the rule above is enough)
    if isinstance(probe, dict):
        differs = check_fidelity(copy.deepcopy(model), probe, PROBE)
    else:
        differs = "" if _breaks(model) else f"the model itself could not run: {probe}"
    if differs:
        fail(f"The training settings count beside the model `{builder}()` builds, and the "
             f"grader's rebuild of its layer list is not that model: {differs}.")


def _breaks(model: Any) -> bool:
    try:
        check_computes(model)
    except GradingFailure:
        return True
    return False


def settings(student: Any, problem: str, seed: int = 0) -> TrainSettings:
    """The student's training settings for ``problem``, validated (handout rules applied)."""
    name = PROBLEMS[problem]["training"]
    raw = getattr(student, name)
    fixed = dict(PROBLEMS[problem].get("fixed", {}))
    try:
        return parse_settings(raw, fixed={**fixed, "seed": seed},
                              defaults={**HANDOUT_DEFAULTS, **fixed})
    except SettingsError as exc:
        fail(f"`{name}`: {exc}")


def train_problem(student: Any, problem: str, data: Any, *, epochs: int | None = None,
                  seeds: list[int] | None = None) -> tuple[bool, list]:
    """Train the student's model for ``problem`` on the trusted side, by the pass rule.

    A fresh rebuild per run; each run uses the next seed; the first run whose best epoch
    reaches the threshold passes (the handout grades "the best test accuracy reached").
    ``epochs`` overrides the student's (the CPU smoke path trains one epoch).
    """
    threshold = PROBLEMS[problem]["threshold"]
    results = []
    for seed in seeds if seeds is not None else PACK.settings["pass_rule"]["seeds"]:
        chosen = settings(student, problem, seed=seed)
        if epochs is not None:
            chosen = dataclasses.replace(chosen, epochs=epochs)
        _, model = rebuilt(student, problem)
        result = train_and_evaluate(model, data, chosen, stop_at=threshold)  # the first
        results.append(result)  # epoch that reaches the threshold decides: training stops
        if result.best_accuracy >= threshold:
            return True, results
    return False, results


def describe_runs(problem: str, results: list) -> str:
    """Markdown: each run's best accuracy and its per-epoch curve, and how it was trained."""
    threshold = PROBLEMS[problem]["threshold"]
    lines = [f"Threshold: best test accuracy >= {threshold:.1%} in at least one of up to "
             f"{len(PACK.settings['pass_rule']['seeds'])} seeded runs.", ""]
    for i, r in enumerate(results, 1):
        curve = ", ".join(f"{a:.2%}" for a in r.test_accuracy)
        stopped = f" ({r.stop_note()})" if r.stopped_early else ""
        lines.append(f"- run {i} (seed {r.determinism.get('seed', '?')}): best "
                     f"**{r.best_accuracy:.2%}**{stopped}; per epoch: {curve}")
    last = results[-1]
    lines += ["", f"Trained by the grader on {last.device} ({last.mode}"
              + (f"; {last.note}" if last.note else "") + f"), {last.seconds:.1f} s per run."]
    return "\n".join(lines)


def run_curves(problem: str, results: list) -> list[dict]:
    """Per-epoch test accuracy of each run, for the batch feedback's plots, with the seeds
    and numerics settings that make the run repeatable."""
    return [{"title": f"{problem}, run {i} (seed {r.determinism.get('seed', '?')})",
             "x_label": "epoch", "y_label": "test accuracy",
             "series": {"test accuracy": list(r.test_accuracy),
                        "train loss": list(r.train_loss)},
             "threshold": PROBLEMS[problem]["threshold"], "determinism": r.determinism}
            for i, r in enumerate(results, 1)]
