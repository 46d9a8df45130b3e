"""Problems 1.4 to 1.7: the report's claims, verified by training Problem 1's network on the
trusted side with each claimed setting and reading the curves (``grader.train.regimes``).

A claim holds when one of up to ``SETTINGS["claims"]["seeds"]`` seeded runs shows the
claimed behaviour (the student saw it in one run of theirs); the baseline is one run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.testing import MnistTensors, TrainResult
from grader.testing import regimes as rules

from .common import SETTINGS, claimed_rate, claimed_settings, claimed_sizes, mlp_settings
from .training import MlpSettings, curve_dict, train_mlp, with_outliers


@dataclass
class ClaimRuns:
    """What was trained for one claim, and the verdict."""

    claim: str
    settings: MlpSettings
    verdict: rules.Verdict
    runs: list[TrainResult]
    baseline: TrainResult | None = None

    def feedback(self) -> str:
        lines = [f"**{self.claim}**: trained with {self.settings.describe()}."]
        for i, run in enumerate(self.runs, 1):
            lines.append(f"- run {i} (seed {run.determinism.get('seed', '?')}): "
                         f"train {_curve(run.train_accuracy)}; test {_curve(run.test_accuracy)}")
        if self.baseline is not None:
            lines.append(f"- baseline (BASELINE, seed 0): train "
                         f"{_curve(self.baseline.train_accuracy)}")
        lines += ["", ("It holds: " if self.verdict else "It does not hold: ")
                  + self.verdict.why + "."]
        last = self.runs[-1]
        lines.append(f"Trained by the grader on {last.device} ({last.mode}), "
                     f"{last.seconds:.1f} s per run.")
        return "\n".join(lines)

    def curves(self) -> list[dict]:
        return [curve_dict(f"{self.claim}, run {i}", r) for i, r in enumerate(self.runs, 1)]


def _curve(values: list[float]) -> str:
    return ", ".join(f"{100 * v:.1f}" for v in values) + " %"


class Trainer:
    """Trains the notebook's MLP, remembering runs: the baseline serves several claims."""

    def __init__(self, data: MnistTensors, *, epochs: int | None = None,
                 seeds: list[int] | None = None) -> None:
        self.data, self.epochs = data, epochs
        self.seeds = seeds if seeds is not None else list(SETTINGS["claims"]["seeds"])
        self._runs: dict[tuple, TrainResult] = {}
        self._outliers: MnistTensors | None = None

    def run(self, settings: MlpSettings, seed: int) -> TrainResult:
        key = (settings, seed)
        if key not in self._runs:
            if settings.create_outliers and self._outliers is None:
                self._outliers = with_outliers(self.data)
            self._runs[key] = train_mlp(settings, self.data, seed=seed, epochs=self.epochs,
                                        outliers=self._outliers)
        return self._runs[key]


def curve(result: TrainResult) -> rules.Curve:
    return rules.Curve(result.train_accuracy, result.test_accuracy, result.nonfinite_loss)


def _verify(claim: str, settings: MlpSettings, trainer: Trainer,
            check: Callable[[rules.Curve], rules.Verdict],
            baseline: TrainResult | None = None) -> ClaimRuns:
    runs: list[TrainResult] = []
    verdict = rules.Verdict(False, "not trained")
    for seed in trainer.seeds:
        runs.append(trainer.run(settings, seed))
        verdict = check(curve(runs[-1]))
        if verdict:
            break
    return ClaimRuns(claim, settings, verdict, runs, baseline)


def baseline_settings(student: Any) -> MlpSettings:
    return mlp_settings(student, "BASELINE")


def verify_baseline(student: Any, trainer: Trainer) -> ClaimRuns:
    """Problem 1.4: BASELINE reaches the threshold test accuracy (final epoch)."""
    threshold = SETTINGS["claims"]["baseline_threshold"]
    settings = baseline_settings(student)

    def check(c: rules.Curve) -> rules.Verdict:
        ok = c.test[-1] >= threshold
        return rules.Verdict(ok, f"test accuracy after the last epoch is {100 * c.test[-1]:.2f} %"
                                 f" ({'at least' if ok else 'below'} {100 * threshold:.0f} %)")

    return _verify("1.4 baseline", settings, trainer, check)


def _with_rate(student: Any, name: str) -> tuple[MlpSettings, MlpSettings]:
    base = baseline_settings(student)
    return base, dataclasses.replace(base, learning_rate=claimed_rate(student, name))


def verify_slow(student: Any, trainer: Trainer) -> ClaimRuns:
    base, settings = _with_rate(student, "SLOW_LEARNING_RATE")
    reference = trainer.run(base, trainer.seeds[0])
    return _verify("1.5(a) slow convergence", settings, trainer,
                   lambda c: rules.slow(c, curve(reference)), reference)


def verify_oscillating(student: Any, trainer: Trainer) -> ClaimRuns:
    _, settings = _with_rate(student, "OSCILLATING_LEARNING_RATE")
    return _verify("1.5(b) oscillates but converges", settings, trainer,
                   rules.converges_with_oscillations)


def verify_diverging(student: Any, trainer: Trainer) -> ClaimRuns:
    _, settings = _with_rate(student, "DIVERGING_LEARNING_RATE")
    return _verify("1.5(c) diverges", settings, trainer, rules.diverges)


def verify_underfitting(student: Any, trainer: Trainer) -> ClaimRuns:
    base = baseline_settings(student)
    settings = dataclasses.replace(
        base, layer_sizes=claimed_sizes(student, "UNDERFITTING_LAYER_SIZES"))
    reference = trainer.run(base, trainer.seeds[0])
    return _verify("1.6 underfitting", settings, trainer,
                   lambda c: rules.underfits(c, curve(reference)), reference)


def verify_overfitting(student: Any, trainer: Trainer) -> ClaimRuns:
    settings = mlp_settings(student, "OVERFITTING",
                            claimed_settings(student, "OVERFITTING"))
    return _verify("1.7 overfitting", settings, trainer, rules.overfits)


CLAIMS: dict[str, Callable[[Any, Trainer], ClaimRuns]] = {
    "BASELINE": verify_baseline,
    "SLOW_LEARNING_RATE": verify_slow,
    "OSCILLATING_LEARNING_RATE": verify_oscillating,
    "DIVERGING_LEARNING_RATE": verify_diverging,
    "UNDERFITTING_LAYER_SIZES": verify_underfitting,
    "OVERFITTING": verify_overfitting,
}
