"""Shared helpers of the CS155 Set 4 suite: the student's models as data, rebuilt here.

The worker builds the student's model and describes it (layer types and constructor
arguments); everything after that happens on this trusted side: the whitelist check, the
rebuild with torch's own constructors, the constraint checks and the training.

A builder may return a PyTorch ``nn.Sequential`` or a Keras ``Sequential`` (earlier years of
the course used Keras). A Keras model is described by ``describe_keras``, validated and
rebuilt in PyTorch (``grader.models.keras_rebuild``) and read in the problems' PyTorch terms
(``grader.models.keras_as_torch``: ``Dense`` is ``Linear``, ...), so the same rules, counts
and training apply to both. Its ``compile`` is ignored: the ``TRAINING_XX`` dict rules.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader.testing import (
    WHITELIST,
    GradingFailure,
    SubmissionError,
    TrainSettings,
    as_torch,
    check_allowed_layers,
    check_computes,
    check_fidelity,
    check_keras_spec,
    described,
    fail,
    fidelity_gap,
    first_passing,
    keras_terms,
    pack_of,
    parse_settings,
    rebuild,
    rebuild_keras,
    run_lines,
    train_and_evaluate,
    validated,
)

PACK = pack_of(__file__)
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


@dataclasses.dataclass(frozen=True)
class Read:
    """A builder's model, read and rebuilt here: ``spec[i]`` describes ``model[i]`` in the
    problems' PyTorch vocabulary; ``differs`` is "" when the rebuild, given the student's
    own weights, computes the student's own outputs, else what differs (or, when ``ran`` is
    False, why the student's model could not run on the probe images); ``penalty`` is a
    Keras model's weight regularization, for training."""

    spec: list[dict]
    model: nn.Sequential
    differs: str
    ran: bool = True
    penalty: Callable[[], torch.Tensor] | None = None


def describe(student: Any, problem: str, *, probe: bool = False) -> list[dict] | tuple:
    """The layer list of the student's PyTorch model for ``problem``, built and described
    remotely; with ``probe``, also the model's own weights and outputs on the probe images."""
    builder = PROBLEMS[problem]["builder"]
    return _describe_torch(student, builder, getattr(student, builder)(), probe)


def _describe_torch(student: Any, builder: str, model: Any, probe: bool
                    ) -> list[dict] | tuple:
    spec = described(student, "describe_model", model, what=f"`{builder}()`",
                     doing=f"describing `{builder}()`")
    if not probe:
        return spec
    try:  # a model that breaks is told where by the checks of its rebuild
        return spec, student.engine("probe_model", model, PROBE,
                                    doing=f"running `{builder}()` on probe images")
    except SubmissionError as exc:
        return spec, exc.message


def read(student: Any, problem: str, allowed: Any = None, seed: int = 0) -> Read:
    """Build the student's model for ``problem`` in the worker and rebuild it here, from
    layers in ``allowed`` (PyTorch names; every whitelisted layer when None). A Keras model's
    rebuild is initialized as Keras would, from ``seed``."""
    builder = PROBLEMS[problem]["builder"]
    model = getattr(student, builder)()
    framework = student.engine("model_framework", model, doing=f"reading `{builder}()`")
    if framework == "keras":
        return _read_keras(student, builder, model, allowed, seed)
    spec, probe = _describe_torch(student, builder, model, probe=True)
    if allowed is not None:
        check_allowed_layers(spec, allowed)
    rebuilt_model = validated(spec, lambda layers: rebuild(
        layers, allowed if allowed is not None else WHITELIST), what=f"`{builder}()`")
    if isinstance(probe, str):  # the model itself could not run on the probe images
        return Read(spec, rebuilt_model, probe, ran=False)
    return Read(spec, rebuilt_model, check_fidelity(copy.deepcopy(rebuilt_model), probe, PROBE))


def _read_keras(student: Any, builder: str, model: Any, allowed: Any, seed: int) -> Read:
    """A Keras model: validated and rebuilt by ``grader.models.keras_rebuild`` (which refuses
    what it would not reproduce), then read in the problems' PyTorch terms."""
    raw = described(student, "describe_keras", model, probe=PROBE[:, 0], what=f"`{builder}()`",
                    doing=f"reading the Keras model `{builder}()` returns")
    keras_spec = validated(raw, check_keras_spec, what=f"`{builder}()`")
    rebuilt_keras = rebuild_keras(keras_spec, seed=seed)
    view = as_torch(rebuilt_keras)
    if allowed is not None:
        with explained(view.spec):
            check_allowed_layers(view.spec, allowed)
    gap = fidelity_gap(keras_spec, raw, PROBE)
    differs = "the model's own weights and outputs could not be read" if gap is None else gap
    return Read(view.spec, view.model, differs,
                penalty=rebuilt_keras.penalty if rebuilt_keras.regularized else None)


@contextmanager
def explained(spec: list[dict]) -> Iterator[None]:
    """A rule's failure on a Keras model also shows how the rule read each Keras layer (the
    rules speak PyTorch: `Linear`, `Conv2d`, ...); a PyTorch model's message is unchanged."""
    try:
        yield
    except GradingFailure as exc:
        terms = keras_terms(spec)
        if not terms:
            raise
        fail(f"{exc.message}\n\n{terms}")


def checked(student: Any, problem: str, seed: int = 0) -> Read:
    """The model for ``problem``, rebuilt here from the layers the problem allows.

    Every rule of the problem is checked on a model that computes something (see
    ``check_computes``): an empty or parameter-free model satisfies "at most 100 hidden units"
    without doing any of the work, so it earns nothing.
    """
    builder = PROBLEMS[problem]["builder"]
    found = read(student, problem, PROBLEMS[problem]["allowed"], seed)
    try:
        check_computes(found.model)
    except GradingFailure as exc:
        fail(f"`{builder}()` does not compute anything from the image yet, so the problem's "
             f"rules are not checked on it: {exc.message}")
    # The description must be the model's: the rebuild, given its weights, computes its
    # outputs (a description that was not read from a real model earns nothing).
    if found.differs:
        fail(f"`{builder}()`: the grader rebuilds your model from its layer list, and that "
             f"rebuild is not your model: {found.differs}. Build it from standard layers only.")
    return found


def rebuilt(student: Any, problem: str) -> tuple[list[dict], Any]:
    """(layer list, the model rebuilt here from the allowed layers of ``problem``), checked
    as :func:`checked` says."""
    found = checked(student, problem)
    return found.spec, found.model


def not_a_stub(student: Any, problem: str) -> None:
    """The problem's builder returns a model the grader can read, with parameters, whose output
    depends on the image where it runs: the evidence the training settings ask for. A model
    with a layer this problem forbids, or that breaks at a layer, still counts here (those
    bugs are charged to the builder's tests, once)."""
    builder = PROBLEMS[problem]["builder"]
    found = read(student, problem)
    try:
        check_computes(found.model, must_run=False)
    except GradingFailure as exc:
        fail(f"The training settings count once `{builder}()` builds a model that computes "
             f"something: {exc.message}")
    # tied to the model that was built: the rebuild given its weights computes its outputs
    # (a model that breaks at a layer has no outputs to compare: the rule above is enough)
    differs = found.differs
    if not found.ran:
        differs = "" if _breaks(found.model) else f"the model itself could not run: {differs}"
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
    return validated(raw, lambda value: parse_settings(
        value, fixed={**fixed, "seed": seed}, defaults={**PACK.settings["defaults"], **fixed}),
        what=f"`{name}`")


def train_problem(student: Any, problem: str, data: Any, *, epochs: int | None = None,
                  seeds: list[int] | None = None) -> tuple[bool, list]:
    """Train the student's model for ``problem`` on the trusted side, by the pass rule.

    A fresh rebuild per run; each run uses the next seed; the first run whose best epoch
    reaches the threshold passes (the handout grades "the best test accuracy reached").
    ``epochs`` overrides the student's (the CPU smoke path trains one epoch).
    """
    threshold = PROBLEMS[problem]["threshold"]

    def run_one(seed: int) -> Any:
        chosen = settings(student, problem, seed=seed)
        if epochs is not None:
            chosen = dataclasses.replace(chosen, epochs=epochs)
        found = checked(student, problem, seed)
        # the first epoch that reaches the threshold decides: training stops there
        return train_and_evaluate(found.model, data, chosen, penalty=found.penalty,
                                  stop_at=threshold)

    return first_passing(seeds if seeds is not None else PACK.settings["pass_rule"]["seeds"],
                         run_one, lambda result: result.best_accuracy >= threshold)


def describe_runs(problem: str, results: list) -> str:
    """Markdown: each run's best accuracy and its per-epoch curve, and how it was trained."""
    threshold = PROBLEMS[problem]["threshold"]
    return "\n".join([f"Threshold: best test accuracy >= {threshold:.1%} in at least one of up "
                      f"to {len(PACK.settings['pass_rule']['seeds'])} seeded runs.", "",
                      *run_lines(results)])


def run_curves(problem: str, results: list) -> list[dict]:
    """Per-epoch test accuracy of each run, for the batch feedback's plots, with the seeds
    and numerics settings that make the run repeatable."""
    return [{"title": f"{problem}, run {i} (seed {r.determinism.get('seed', '?')})",
             "x_label": "epoch", "y_label": "test accuracy",
             "series": {"test accuracy": list(r.test_accuracy),
                        "train loss": list(r.train_loss)},
             "threshold": PROBLEMS[problem]["threshold"], "determinism": r.determinism}
            for i, r in enumerate(results, 1)]
