"""Recognising a learning rate written into an update instead of the one it is given.

A hard-coded rate looks, to an array comparison, like "off by a constant factor": the factor
is (their number / the given rate), and it changes with the rate the test gives. Calling the
update at two different rates tells the two apart: a step that follows its own number moves
by the same implied rate whatever it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Steps = Sequence[tuple[np.ndarray, np.ndarray]]  # (step taken, gradient) per parameter


def implied_rate(steps: Steps) -> float | None:
    """The rate that turns each gradient into the step taken (the median of the elementwise
    ratios where the gradient is not tiny), or None when the steps are not one rate times
    the gradients (a sign error in some parameters, a skipped bias, another rule)."""
    ratios = []
    for step, gradient in steps:
        step = np.asarray(step, dtype=np.float64).ravel()
        gradient = np.asarray(gradient, dtype=np.float64).ravel()
        if step.shape != gradient.shape:
            return None
        big = np.abs(gradient) > 1e-3 * max(float(np.abs(gradient).max(initial=0.0)), 1e-12)
        ratios.append(step[big] / gradient[big])
    if not ratios or not sum(r.size for r in ratios):
        return None
    every = np.concatenate(ratios)
    rate = float(np.median(every))
    if not np.isfinite(rate) or rate == 0:
        return None
    if not np.allclose(every, rate, rtol=1e-2, atol=0):
        return None
    return rate


def fixed_rate(steps_by_rate: Mapping[float, Steps]) -> float | None:
    """The learning rate an update uses whatever it is given, or None.

    ``steps_by_rate`` maps each rate given (at least two different ones) to the steps taken
    with it. It is a fixed rate when every call implies the same rate though the calls were
    given different ones (it may equal one of them: right only while the rate is that)."""
    if len(set(steps_by_rate)) < 2:
        raise ValueError("fixed_rate needs the update run at two or more different rates")
    implied = [implied_rate(steps) for steps in steps_by_rate.values()]
    if any(rate is None for rate in implied):
        return None
    first = implied[0]
    if not all(np.isclose(rate, first, rtol=1e-2) for rate in implied):
        return None
    return first


def fixed_rate_message(rate: float, given: Sequence[float], *, function: str,
                       source: str, takes_rate: bool = False) -> str:
    """What to tell the student when `fixed_rate` found one. ``source`` is where the rate
    should come from (``self.lr``, the global ``learning_rate``, a parameter)."""
    told = " and ".join(f"{g:g}" for g in given)
    if abs(rate - 1.0) <= 1e-2:
        return (f"`{function}` steps by the gradient itself whatever rate it is given (it was "
                f"given {told}): multiply the gradient by the learning rate from {source}.")
    cause = (f"it ignores {source} and uses another rate" if takes_rate
             else f"a number written into `{function}` instead of {source}?")
    return (f"`{function}` steps with a learning rate of {rate:.4g} whatever rate it is given "
            f"(it was given {told}, and each step was {rate:.4g} times the gradient): {cause}")
