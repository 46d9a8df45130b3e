"""On a CUDA GPU: Problem 2.4's sweep re-run by the grader (5 factors x 3 replicates x 40
epochs) must reproduce the report's mean accuracies, and Problem 3.1's CNN must reach 99 %
validation accuracy. The models are rebuilt here from their Keras layers and trained by the
grader's own loop with the student's compile settings; no student code runs during training.
Without a GPU these tests are skipped with that reason (0 points, never counted as passed);
tests/engine/test_keras_smoke.py runs the same path on the CPU on a small subset."""

from __future__ import annotations

import pytest

from grader.testing import fail

from .answers import sweep_results, training_dict
from .common import SETTINGS, student_model
from .training import describe_cnn_runs, run_sweep, sweep_plot, sweep_table, train_cnn

WD = SETTINGS["weight_decay"]


@pytest.mark.gpu
@pytest.mark.graded(points=2, function=WD["results"],
                    uses=[SETTINGS["models"]["weight_decay"], WD["training"]],
                    name="2.4: the sweep, re-run by the grader, reproduces your accuracies")
def test_sweep_reproduces_report(student, mnist_pixels_on_gpu, feedback, curves):
    reported = sweep_results(student)
    epochs, batch = training_dict(student, WD["training"], fixed_epochs=WD["epochs"])
    models = {f: student_model(student, "weight_decay", f) for f in reported}
    sweep = run_sweep(models, mnist_pixels_on_gpu, epochs=epochs, batch_size=batch,
                      replicates=WD["replicates"])
    table, failed = sweep_table(sweep, reported, WD["tolerance"], WD["standard_errors"])
    seconds = sum(r.seconds for f in sweep for r in f.runs)
    feedback.append(f"The grader trained each factor's model {WD['replicates']} times "
                    f"({epochs} epochs, batch size {batch}, "
                    f"{models[sweep[0].factor].training().describe()}; {seconds:.0f} s in all):"
                    f"\n\n{table}")
    curves.append(sweep_plot(sweep))
    if failed:
        fail(f"Your reported mean accuracy is not reproduced for factor(s) "
             f"{', '.join(f'{f:g}' for f in failed)}: it lies further from the grader's "
             f"mean than the allowed gap ({100 * WD['tolerance']:.1f} points, or "
             f"{WD['standard_errors']:g} standard errors of the difference if wider); see "
             "the table.")


@pytest.mark.gpu
@pytest.mark.graded(points=3, function=SETTINGS["models"]["cnn"],
                    uses=[SETTINGS["cnn"]["training"]],
                    name="3.1: the CNN reaches 99 % validation accuracy")
def test_cnn_reaches_99_percent(student, mnist_pixels_on_gpu, feedback, curves):
    model = student_model(student, "cnn")
    if not model.spec.of_kind("Conv2D"):
        fail("`build_cnn()` has no `Conv2D` layer.")
    epochs, batch = training_dict(student, SETTINGS["cnn"]["training"],
                                  max_epochs=SETTINGS["cnn"]["max_epochs"])
    passed, results = train_cnn(model, mnist_pixels_on_gpu, epochs=epochs, batch_size=batch)
    feedback.append(describe_cnn_runs(model, results, epochs, batch))
    curves.extend({"title": f"3.1 CNN, run {i} (seed {r.determinism.get('seed', '?')})",
                   "x_label": "epoch", "y_label": "validation accuracy",
                   "series": {"validation accuracy": list(r.test_accuracy)},
                   "threshold": SETTINGS["cnn"]["threshold"], "determinism": r.determinism}
                  for i, r in enumerate(results, 1))
    if not passed:
        fail(f"Best validation accuracy {max(r.best_accuracy for r in results):.2%} is below "
             f"{SETTINGS['cnn']['threshold']:.0%} in all {len(results)} runs.")
