"""Problem 2.2's pass rule: the mean final test accuracy of ``runs`` seeded trainings of the
rebuilt convnet reaches the threshold; mean ± std is what the handout asks students to
report, so the feedback gives the same numbers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from grader.testing import MnistTensors, Runs

from .common import SETTINGS
from .convnet import Convnet
from .training import curve_dict, train_convnets, with_outliers


@dataclass
class ConvnetRuns(Runs):

    def curves(self) -> list[dict]:
        return [curve_dict(f"2.2 convnet, run {i}", r, threshold=SETTINGS["convnet"]["threshold"])
                for i, r in enumerate(self.runs, 1)]


def train_convnet_runs(net: Convnet, data: MnistTensors, *, runs: int | None = None,
                       epochs: int | None = None, seeds: list[int] | None = None) -> ConvnetRuns:
    """``runs`` seeded trainings (seeds 0, 1, ...) on the data the notebook trains on,
    trained together where they can be."""
    count = runs or SETTINGS["convnet"]["runs"]
    train_data = with_outliers(data) if net.create_outliers else data
    chosen = seeds if seeds is not None else list(range(count))
    return ConvnetRuns(train_convnets(net.spec, net.optimizer, train_data,
                                      batch_size=net.batch_size,
                                      epochs=epochs or net.num_epochs, seeds=chosen))


def describe_convnet_runs(student: Any, net: Convnet, summary: ConvnetRuns) -> str:
    from grader.testing import describe_optimizer

    threshold = SETTINGS["convnet"]["threshold"]
    layers = ", ".join(layer["type"] for layer in net.spec)
    lines = [
        f"Your convnet ({layers}) was rebuilt and trained {len(summary.runs)} times with "
        f"{describe_optimizer(net.optimizer)}, batch size {net.batch_size}, "
        f"{net.num_epochs} epochs.",
        f"Data: {'create_outliers=True' if net.create_outliers else 'clean MNIST'} "
        f"({net.outliers_where}).",
        "",
        f"Test accuracy after the last epoch: **{100 * summary.mean:.2f} % ± "
        f"{100 * summary.std:.2f} %** (mean ± std over {len(summary.runs)} runs; the "
        f"threshold is a mean of {100 * threshold:.0f} %).",
    ]
    for i, r in enumerate(summary.runs, 1):
        per_epoch = ", ".join(f"{100 * a:.2f}" for a in r.test_accuracy)
        lines.append(f"- run {i} (seed {r.determinism.get('seed', '?')}): "
                     f"{100 * r.final_accuracy:.2f} %; per epoch: {per_epoch}")
    reported = _reported(student)
    if reported:
        lines += ["", f"Your report: {reported}."]
    last = summary.runs[-1]
    lines += ["", f"Trained by the grader on {last.device} ({last.mode}), "
                  f"{last.seconds:.1f} s per run."]
    return "\n".join(lines)


def _reported(student: Any) -> str:
    report = student.worker.load_report or {}
    if "CONVNET_ACCURACY" not in report.get("names", ()):
        return ""
    value = student.CONVNET_ACCURACY
    if (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        mean, std = (v / 100 if v > 1 else v for v in value)
        return f"{100 * mean:.2f} % ± {100 * std:.2f} %"
    return f"`CONVNET_ACCURACY = {value!r}` (expected `(mean, std)`)"


def clean_data_hint(net: Convnet, data: MnistTensors) -> str:
    """One run on clean data, to show what ``create_outliers=True`` cost."""
    clean = dataclasses.replace(net, create_outliers=False)
    run = train_convnet_runs(clean, data, runs=1).runs[0]
    return (f"\n\nYour notebook trains Problem 2 on the data loaded with "
            f"`create_outliers=True` ({net.outliers_where}): half of the first 30,000 "
            f"training images carry a wrong label. With clean data "
            f"(`mnist(create_outliers=False)`), one run of the same convnet and settings "
            f"reaches {100 * run.final_accuracy:.2f} %.")
