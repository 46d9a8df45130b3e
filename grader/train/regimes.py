"""Read a training run's accuracy curves the way a handout's questions do: did this learning
rate converge slowly, oscillate but converge, or diverge; does this network underfit or
overfit. Each check returns whether the claim holds and a sentence with the numbers.

The rules work on per-epoch accuracies (what students copy into their reports), and they
were calibrated on real logs: the ECE1513 seed report (learning rate 0.01 slow at 94 %, 1
oscillating to 97 %, 2 stuck at chance; layer sizes [784, 1, 1, 10] at 21 %; an overfitting
run at 99 % train and 64.5 % test) and the grader's own runs (docs/benchmarks.md).

- **diverges**: a non-finite loss, or final training accuracy at chance level (at most
  ``CHANCE``), or final training accuracy at least ``COLLAPSE`` below the best it reached.
- **converges**: does not diverge and ends with training accuracy of at least
  ``CONVERGED``.
- **oscillates**: training accuracy falls from one epoch to the next by at least
  ``OSCILLATION_DROP`` at least once (a well-tuned run rises every epoch until it saturates).
- **slow**: does not diverge or oscillate, its training accuracy is behind the baseline's
  at every epoch (ties allowed once both saturate at ``SATURATED``) and on average by at
  least ``SLOW_GAP``, and it is still rising over the last third of the epochs. (Both runs
  may end near 100 %: slow is about how long it takes.)
- **underfits**: a finite run whose final training accuracy stays at least ``UNDERFIT_GAP``
  below the baseline's.
- **overfits**: at the end, training accuracy is at least ``OVERFIT_GAP`` above test
  accuracy, test accuracy has fallen at least ``OVERFIT_FALL`` from its best epoch, and
  training accuracy kept rising after that epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CHANCE", "COLLAPSE", "CONVERGED", "OSCILLATION_DROP", "OVERFIT_FALL", "OVERFIT_GAP",
    "SATURATED", "SLOW_GAP", "UNDERFIT_GAP", "Curve", "Verdict", "converges_with_oscillations",
    "diverges", "oscillates", "overfits", "slow", "underfits",
]

CHANCE = 0.2
COLLAPSE = 0.2
CONVERGED = 0.9
OSCILLATION_DROP = 0.002
SLOW_GAP = 0.01
SATURATED = 0.999
UNDERFIT_GAP = 0.1
OVERFIT_GAP = 0.02
OVERFIT_FALL = 0.005


@dataclass(frozen=True)
class Curve:
    """Accuracy after each epoch on the training and the test set."""

    train: Sequence[float]
    test: Sequence[float]
    nonfinite_loss: bool = False

    def __post_init__(self) -> None:
        if not self.train or len(self.train) != len(self.test):
            raise ValueError("a curve needs one train and one test accuracy per epoch")


@dataclass(frozen=True)
class Verdict:
    holds: bool
    why: str

    def __bool__(self) -> bool:
        return self.holds


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if math.isfinite(x) else str(x)


def _largest_drop(values: Sequence[float]) -> tuple[float, int]:
    """The largest fall from one epoch to the next, and the (0-based) epoch it ends at."""
    drops = [(values[i - 1] - values[i], i) for i in range(1, len(values))]
    return max(drops, default=(0.0, 0))


def diverges(curve: Curve) -> Verdict:
    final, best = curve.train[-1], max(curve.train)
    if curve.nonfinite_loss or not math.isfinite(final):
        return Verdict(True, "the loss became NaN or infinite")
    if final <= CHANCE:
        return Verdict(True, f"training accuracy ends at {_pct(final)}, chance level "
                             f"(at most {_pct(CHANCE)})")
    if final <= best - COLLAPSE:
        return Verdict(True, f"training accuracy collapsed from {_pct(best)} to {_pct(final)}")
    return Verdict(False, f"training accuracy ends at {_pct(final)}, above chance, "
                          "with a finite loss")


def oscillates(curve: Curve) -> Verdict:
    drop, epoch = _largest_drop(curve.train)
    if drop >= OSCILLATION_DROP:
        return Verdict(True, f"training accuracy fell by {100 * drop:.2f} points from epoch "
                             f"{epoch - 1} to epoch {epoch}")
    return Verdict(False, f"training accuracy never fell by {100 * OSCILLATION_DROP:.1f} "
                          f"points or more between epochs (largest fall "
                          f"{100 * max(drop, 0.0):.2f} points)")


def converges_with_oscillations(curve: Curve) -> Verdict:
    diverged = diverges(curve)
    if diverged:
        return Verdict(False, f"it diverged: {diverged.why}")
    if curve.train[-1] < CONVERGED:
        return Verdict(False, f"it did not converge: training accuracy ends at "
                              f"{_pct(curve.train[-1])}, below {_pct(CONVERGED)}")
    moving = oscillates(curve)
    if not moving:
        return Verdict(False, f"it converged without oscillating: {moving.why}")
    return Verdict(True, f"{moving.why}, and it still converged to "
                         f"{_pct(curve.train[-1])} training accuracy")


def slow(curve: Curve, baseline: Curve) -> Verdict:
    diverged = diverges(curve)
    if diverged:
        return Verdict(False, f"it diverged: {diverged.why}")
    moving = oscillates(curve)
    if moving:
        return Verdict(False, f"it oscillates rather than converging slowly: {moving.why}")
    epochs = min(len(curve.train), len(baseline.train))
    gaps = [baseline.train[i] - curve.train[i] for i in range(epochs)]
    ahead = [i for i, gap in enumerate(gaps) if gap < 0 and curve.train[i] < SATURATED]
    if ahead:
        i = ahead[0]
        return Verdict(False, f"it is ahead of the baseline at epoch {i} "
                              f"({_pct(curve.train[i])} against {_pct(baseline.train[i])})")
    mean_gap = sum(gaps) / epochs
    if mean_gap < SLOW_GAP:
        return Verdict(False, f"over {epochs} epochs its training accuracy is on average only "
                              f"{100 * mean_gap:.2f} points behind the baseline's (slow means "
                              f"at least {100 * SLOW_GAP:.1f})")
    start = curve.train[(2 * len(curve.train)) // 3 - 1] if len(curve.train) >= 3 else \
        curve.train[0]
    if curve.train[-1] <= start and len(curve.train) >= 2:
        return Verdict(False, f"it stopped improving at {_pct(curve.train[-1])} (a plateau "
                              "is not slow convergence)")
    return Verdict(True, f"its training accuracy stays behind the baseline's at every epoch, "
                         f"by {100 * mean_gap:.1f} points on average (epoch 0: "
                         f"{_pct(curve.train[0])} against {_pct(baseline.train[0])}), and is "
                         f"still rising at the end ({_pct(curve.train[-1])})")


def underfits(curve: Curve, baseline: Curve) -> Verdict:
    if curve.nonfinite_loss:
        return Verdict(False, "the loss became NaN or infinite: that is divergence, not "
                              "underfitting")
    mine, theirs = curve.train[-1], baseline.train[-1]
    if mine > theirs - UNDERFIT_GAP:
        return Verdict(False, f"its training accuracy reaches {_pct(mine)}, within "
                              f"{100 * UNDERFIT_GAP:.0f} points of the baseline's "
                              f"{_pct(theirs)}: it fits the training data")
    return Verdict(True, f"its training accuracy stays at {_pct(mine)}, far below the "
                         f"baseline's {_pct(theirs)}")


def overfits(curve: Curve) -> Verdict:
    train, test = curve.train, curve.test
    if curve.nonfinite_loss:
        return Verdict(False, "the loss became NaN or infinite")
    gap = train[-1] - test[-1]
    best = max(range(len(test)), key=lambda i: test[i])
    fall = test[best] - test[-1]
    rise = train[-1] - train[best]
    if gap < OVERFIT_GAP:
        return Verdict(False, f"at the end training accuracy ({_pct(train[-1])}) is not "
                              f"{100 * OVERFIT_GAP:.0f} points above test accuracy "
                              f"({_pct(test[-1])})")
    if fall < OVERFIT_FALL or rise <= 0:
        return Verdict(False, f"test accuracy did not fall while training accuracy rose: "
                              f"best test {_pct(test[best])} at epoch {best}, final "
                              f"{_pct(test[-1])}; training accuracy {_pct(train[best])} then, "
                              f"{_pct(train[-1])} at the end")
    return Verdict(True, f"training accuracy rose from {_pct(train[best])} to "
                         f"{_pct(train[-1])} after epoch {best} while test accuracy fell from "
                         f"its best {_pct(test[best])} to {_pct(test[-1])}")
