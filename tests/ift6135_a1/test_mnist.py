"""The real-data threshold: the handout's 97 % validation accuracy on MNIST.

The student's own ``train_loop`` trains on the first 50,000 training images with the settings
in pack.toml; the validation accuracy is then recomputed here, on the trusted side, from the
weights it returns (the student's own logs are only shown for comparison), on the handout's
validation split: the last 10,000 training images, which never reach the worker. The code is
given MNIST's test set as ``valid`` and ``test`` instead, so its own per-epoch logs still mean
something; a train_loop that trains on what it is given as validation data gains nothing.

Memory: Gradescope gives 768 MB. The images go to the worker as float64, so that the usual
float64 weights do not make numpy cast the whole training set on every evaluation, and as
files mapped copy-on-write (see grader.sandboxed.wire), so that they sit in the page cache, not
twice in private memory; this process keeps only the validation split.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from grader.testing import DatasetError, as_array, fail, load_split, one_hot

from .common import reference_net, student_net, weights_of

HELD_OUT = ("It is recomputed from your final weights on the handout's validation split (the "
            "last 10,000 training images), which your code never received.")


@pytest.mark.slow
@pytest.mark.timeout(900)  # the pack's 120 s per test is for unit tests, not training
@pytest.mark.graded(points=5, function="train_loop")
def test_mnist_validation_accuracy(student, pack, curves, feedback):
    """train_loop reaches the handout's validation accuracy on real MNIST"""
    cfg = pack.settings["mnist"]
    try:
        train, held_out = _train_and_validation(cfg["n_train"])
        given = _part(*load_split("test"), slice(None))
    except DatasetError as exc:
        pytest.skip(f"not run: MNIST is not available where grading runs ({exc})")
    hidden = tuple(cfg["hidden_dims"])
    settings = {k: cfg[k] for k in ("lr", "batch_size", "activation", "init_method", "seed")}
    net = student_net(student, hidden_dims=hidden, data=(train, given, given), **settings)
    del train, given  # in the worker now
    with student.worker.time_limit(cfg["timeout_s"]):
        net.train_loop(cfg["epochs"])
    ref = reference_net(hidden, cfg["activation"], data=(held_out, held_out, held_out))
    ref.weights = {k: as_array(v, name=k).astype(np.float32) for k, v in weights_of(net).items()}
    _, accuracy, _ = ref.compute_loss_and_accuracy(*held_out)
    logs = net.train_logs
    logged = logs.get("validation_accuracy") or [float("nan")]
    with contextlib.suppress(Exception):  # a log we cannot plot costs no points
        curves.append({"title": "train_loop on MNIST (your own logs)", "x_label": "epoch",
                       "y_label": "accuracy", "threshold": cfg["threshold"],
                       "series": {k: [float(v) for v in np.ravel(logs.get(k, []))]
                                  for k in ("train_accuracy", "validation_accuracy")}})
    setup = (f"`NN(hidden_dims={hidden}, " + ", ".join(f"{k}={v!r}" for k, v in settings.items())
             + f")`, `train_loop({cfg['epochs']})` on {cfg['n_train']:,} MNIST images")
    if accuracy < cfg["threshold"]:
        fail(f"Validation accuracy {accuracy:.2%} is below the required "
             f"{cfg['threshold']:.1%}, with {setup}. {HELD_OUT} Your own log said "
             f"{float(logged[-1]):.2%} (on the 10,000 images your code was given as `valid`: "
             "MNIST's test set).")
    feedback.append(f"Validation accuracy {accuracy:.2%}. {HELD_OUT}")


def _train_and_validation(n_train: int) -> tuple[tuple, tuple]:
    """The first ``n_train`` training images and the rest as validation, float64 in [0, 1]
    with one-hot float64 labels (the handout's mnist.pkl.gz split)."""
    images, labels = load_split("train")
    return (_part(images, labels, slice(None, n_train)),
            _part(images, labels, slice(n_train, None)))


def _part(images: np.ndarray, labels: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    X = images[rows].reshape(-1, 28 * 28).astype(np.float64)
    X /= 255
    return X, one_hot(labels[rows], dtype=np.float64)
