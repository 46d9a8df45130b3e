"""Problem 1.3, `update(params, batch)`: one step of mini-batch SGD,
``w - learning_rate * dw`` and ``b - learning_rate * db``, with Problem 1's `learning_rate`.

The update rule is judged on its own: while it runs, the section's `loss` is replaced by a
linear form of the parameters whose gradient the grader chose (``grader.sandboxed.probes``), so a
right rule moves every parameter by exactly ``-learning_rate`` times those coefficients,
whatever the student's own `loss` and `predict` do (their bugs are charged to their tests).
An update that differentiates a loss of its own instead is judged against the gradient of
the mean cross-entropy, computed here (torch autograd in float64), never by the submission.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest

from grader.testing import (
    GradingFailure,
    SubmissionError,
    as_array,
    assert_allclose,
    fail,
    fixed_rate,
    fixed_rate_message,
    require_substance,
    without_hint,
)

from .common import SETTINGS, batch, problem1, random_params, reference_gradient

RATE_NAMES = re.compile(r"^(lr|learning_?rate|step_?size|eta|alpha|rate)$", re.I)


def _signature(student) -> list[dict]:
    try:
        return student.engine("describe_signature", problem1(student).handle("update"),
                              doing="reading the parameters of `update`")
    except SubmissionError as exc:
        fail(f"`update` could not be inspected: {exc.message}")


def _caller(student):
    """How to call the student's update: ``update(params, batch)``, or, when its third
    parameter is unambiguously a learning rate, ``update(params, batch, learning_rate)`` with
    the rate the notebook uses. Returns (call, rate, note, whether the rate is a parameter)."""
    p1 = problem1(student)
    signature = _signature(student)
    required = [p for p in signature if p["kind"] == "positional" and not p["default"]]
    rate_parameter = next((p for p in signature[2:3] if RATE_NAMES.match(p["name"])), None)
    if rate_parameter is not None and len(required) <= 3:
        rate, source = _rate_for_parameter(p1, rate_parameter)
        note = (f"Your `update` takes the learning rate as its parameter "
                f"`{rate_parameter['name']}`: the grader called it with {rate:g} ({source}).")
        return (lambda params, data, lr: p1.update(params, data, lr)), rate, note, True
    if len(required) == 2:
        return (lambda params, data, lr: p1.update(params, data)), _global_rate(p1), "", False
    names = [p["name"] for p in signature]
    fail(f"`update({', '.join(names)})`: the notebook calls `update(params, batch)` (one "
         "batch, the learning rate from the global `learning_rate`). A third parameter is "
         "accepted when its name says it is the learning rate (`lr`, `learning_rate`, "
         "`step_size`); change the signature back.")


def _global_rate(p1) -> float:
    if not p1.has("learning_rate"):
        fail("Problem 1 defines no global `learning_rate`, which `update(params, batch)` reads: "
             "keep the notebook's `learning_rate = 0.1` above `update`.")
    return float(p1.learning_rate)


def _rate_for_parameter(p1, parameter: dict) -> tuple[float, str]:
    """The rate the notebook passes: the global `learning_rate`, else the parameter's
    default, else the rate the handout gives."""
    if p1.has("learning_rate"):
        return float(p1.learning_rate), "Problem 1's `learning_rate`"
    if isinstance(parameter.get("value"), int | float) and not isinstance(parameter["value"],
                                                                            bool):
        return float(parameter["value"]), "the parameter's default"
    return float(SETTINGS["update"]["learning_rate"]), "the handout's rate; your file has no " \
        "global `learning_rate`"


def _step(student, sizes, seed, lr=None):
    """(params, data, lr, note, steps): one call of the student's update and the step
    ``before - after`` of every parameter."""
    rng = np.random.default_rng(seed)
    params = random_params(rng, sizes)
    data = batch(rng, 8, sizes[0])
    call, rate, note, _ = _caller(student)
    rate = rate if lr is None else lr
    new = call(params, data, rate)
    if not isinstance(new, list | tuple) or len(new) != len(params):
        fail(f"`update` must return the new parameters as a list of {len(params)} (w, b) "
             f"pairs, like `params`; it returned {type(new).__name__}"
             + (f" of length {len(new)}" if isinstance(new, list | tuple) else "") + ".")
    taken = []
    for i, (pair, old) in enumerate(zip(new, params, strict=True)):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            fail(f"`update(...)[{i}]` must be a (w, b) pair, not {type(pair).__name__}.")
        for name, value, before in (("w", pair[0], old[0]), ("b", pair[1], old[1])):
            got = as_array(value, name=f"update(...)[{i}] {name}", shape=before.shape)
            taken.append((f"layer {i} {name}", before.astype(np.float64) - got))
    return params, data, rate, note, taken


def _judge(taken, wanted, rate, what):
    require_substance("update", [(step, want) for (_, step), want in zip(taken, wanted,
                                                                          strict=True)],
                      name="the step of `update`", then="Following the learning rate")
    for (name, step), want in zip(taken, wanted, strict=True):
        assert_allclose(step, want, name=f"the step of {name} (before - after)",
                        rtol=2e-3, atol=2e-6,
                        context=f"one `update` with `learning_rate = {rate:g}` must move every "
                                f"parameter by learning_rate * {what}; it must use the "
                                "learning rate it is given, not a number written into "
                                "`update`",
                        factors={"the batch size (8)": 8, "-1": -1})


def _coefficients(sizes, w_seed: int, b_seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The gradient of the linear loss that stands in for the student's, layer by layer."""
    return [(np.random.default_rng(w_seed + i).normal(0, 1, (m, n)).astype(np.float32),
             np.random.default_rng(b_seed + i).normal(0, 1, n).astype(np.float32))
            for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]


@contextlib.contextmanager
def _global_rate_set(p1, rate, takes_rate):
    """The global `learning_rate` set to ``rate`` for a while, unless the rate is update's
    parameter (then the call passes it). A jitted update is traced again for new shapes and
    reads the new value."""
    if takes_rate:
        yield
        return
    before = p1.learning_rate
    p1.learning_rate = rate
    try:
        yield
    finally:
        p1.learning_rate = before


def _check(student, sizes, seed, feedback, lr=None):
    """The rule, judged with a loss of known gradient in place of the student's; if the
    student's update does not go through the global `loss`, its own step is judged against
    the reference gradient of the mean cross-entropy."""
    p1 = problem1(student)
    coefficients = _coefficients(sizes, seed, seed + 100)
    try:
        with p1.standing_in_linear("loss", coefficients):
            _, _, rate, note, taken = _step(student, sizes, seed, lr)
        _judge(taken, [rate * c for pair in coefficients for c in pair], rate,
               "the gradient of `loss` (here a loss of known gradient stood in for yours)")
    except (GradingFailure, SubmissionError) as probe_failure:
        params, data, rate, note, taken = _step(student, sizes, seed, lr)
        wanted = [rate * g for pair in reference_gradient(params, data) for g in pair]
        try:
            _judge(taken, wanted, rate, "the gradient of the mean cross-entropy")
        except GradingFailure:
            raise probe_failure from None
        feedback.append("Your `update` does not differentiate the global `loss`: it was judged "
                        "with its own loss, against the gradient of the mean cross-entropy.")
    if note and note not in feedback:
        feedback.append(note)
    own = _own_step_note(student, sizes, seed, lr)
    if own:
        feedback.append(own)


def _own_step_note(student, sizes, seed, lr) -> str:
    """Say when the rule is right but the student's own loss makes the step wrong."""
    try:
        params, data, rate, _, taken = _step(student, sizes, seed, lr)
        wanted = [rate * g for pair in reference_gradient(params, data) for g in pair]
        if all(np.allclose(step, want, rtol=2e-3, atol=2e-6)
               for (_, step), want in zip(taken, wanted, strict=True)):
            return ""
    except (GradingFailure, SubmissionError):
        pass
    return ("With a loss of known gradient in place of yours, your `update` takes exactly the "
            "right step, so it keeps its points; with your own `loss` the step is not the "
            "gradient of the mean cross-entropy: the difference comes from your `loss` or "
            "`predict`, whose tests say more.")


@pytest.mark.graded(points=0.375, function="update")  # x2 sizes
@pytest.mark.parametrize("sizes", [[6, 5, 10], [9, 4, 3, 10]], ids=["one_hidden", "two_hidden"])
def test_update_is_one_sgd_step(student, sizes, feedback):
    """every w and b moves by -learning_rate times the gradient of the loss"""
    _check(student, sizes, seed=sum(sizes), feedback=feedback)


@pytest.mark.graded(points=0.25, function="update")
def test_update_uses_learning_rate(student, feedback):
    """the step follows the global `learning_rate` when it changes"""
    _, rate, _, takes_rate = _caller(student)
    changed = rate / 4 if rate > 0 else 0.05
    try:
        _check_at(student, changed, takes_rate, feedback)
    except GradingFailure as wrong:
        _fail_if_rate_is_fixed(student, [changed, changed / 2], takes_rate, wrong)
        raise


def _check_at(student, rate, takes_rate, feedback) -> None:
    """The rule judged with the learning rate changed to ``rate``."""
    with _global_rate_set(problem1(student), rate, takes_rate):
        _check(student, [11, 7, 10], seed=3, feedback=feedback,
               lr=rate if takes_rate else None)


def _fail_if_rate_is_fixed(student, rates, takes_rate, wrong) -> None:
    """A step that follows a number of its own whatever rate it is given is told so, in
    place of the "constant factor" the array comparison would suggest."""
    sizes = [11, 7, 10]
    p1 = problem1(student)
    steps = {}
    for i, rate in enumerate(rates):
        coefficients = _coefficients(sizes, 50 + 10 * i, 70 + 10 * i)
        try:
            with _global_rate_set(p1, rate, takes_rate), \
                    p1.standing_in_linear("loss", coefficients):
                _, _, _, _, taken = _step(student, sizes, 3 + i, rate if takes_rate else None)
        except (GradingFailure, SubmissionError):
            return
        gradients = [c for pair in coefficients for c in pair]
        steps[rate] = [(step, g) for (_, step), g in zip(taken, gradients, strict=True)]
    fixed = fixed_rate(steps)
    if fixed is not None:
        source = "its `learning_rate` parameter" if takes_rate else "the global `learning_rate`"
        fail(fixed_rate_message(fixed, rates, function="update", source=source,
                                takes_rate=takes_rate) + "\n\n" + without_hint(str(wrong)))
