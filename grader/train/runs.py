"""Several seeded runs of one model, summarized as handouts ask: mean ± std of the final
test accuracy (population std, as ``np.std`` gives students)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from grader.train.loop import TrainResult

__all__ = ["Runs"]


@dataclass
class Runs:
    runs: list[TrainResult] = field(default_factory=list)

    @property
    def finals(self) -> list[float]:
        return [r.final_accuracy for r in self.runs]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.finals)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.finals) if len(self.finals) > 1 else 0.0
