"""train_loop (minibatch SGD, logs per epoch) and evaluate.

Both are judged with the reference's versions of the methods they call standing in for the
student's (initialize_weights, forward, backward, update, loss, compute_loss_and_accuracy):
what is graded here is the loop and its bookkeeping, and a bug in a helper is charged to that
helper's tests only. The grader watches ``backward`` and ``update`` while the student's
train_loop runs, so it can tell full-batch training, a missing update or a stuck minibatch from
real minibatch SGD. Shuffling, and dropping or keeping the last partial batch, are both
accepted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.testing import as_array, assert_scalar_close, fail

from .common import (
    EVALUATE_HELPERS,
    TRAINING_HELPERS,
    judged,
    learnable_splits,
    random_weights,
    reference_net,
    reference_twin,
    student_net,
    tolerance,
    weights_of,
)

# a set with a last partial minibatch, and one that splits into whole minibatches
N_TRAINS, BATCH = (150, 128), 32
HIDDEN = (16, 12)
JUDGED = (" (train_loop ran with the grader's own forward, backward, update, loss and "
          "initialize_weights in place of yours, so this is about the loop itself.)")


def _train(student, data, feedback, run, check, **settings) -> None:
    """Run the student's train_loop (``run(net)``) with the reference's helpers standing in,
    and judge it with ``check(net, result)``."""
    net = student_net(student, data=data, **settings)
    judged(net, reference_twin(**settings), TRAINING_HELPERS, lambda: run(net),
           lambda result: check(net, result), function="train_loop", feedback=feedback,
           attribute=False)


def _final(net, hidden, data, split: int):
    """(loss, accuracy) of the reference on ``data[split]`` with the student's final weights."""
    ref = reference_net(hidden, "relu", {k: np.asarray(v, np.float64)
                                         for k, v in weights_of(net).items()})
    loss, accuracy, _ = ref.compute_loss_and_accuracy(*data[split])
    return float(loss), float(accuracy)


def _argument(call: list, position: int, name: str) -> dict:
    """A spied call is [arg summaries..., kwargs summary]."""
    value = call[position] if len(call) > position + 1 else call[-1].get(name, {})
    return value if isinstance(value, dict) else {}


def _batches(calls: list) -> list[tuple[int, list[float]]]:
    """(batch size, row sums of the inputs) of every backward(cache, labels) call."""
    batches = []
    for call in calls:
        labels = _argument(call, 1, "labels")
        inputs = _argument(call, 0, "cache").get("Z0", {})
        size = labels.get("shape", [-1])[0] if labels.get("shape") else -1
        batches.append((size, inputs.get("row_sums", []) if isinstance(inputs, dict) else []))
    return batches


@pytest.mark.graded(points=2, function="train_loop")
def test_train_loop_uses_minibatches(student, rng, feedback):
    """each epoch runs forward/backward/update on every minibatch of `batch_size` examples,
    whether or not the training set splits into whole minibatches"""
    for n_train in N_TRAINS:
        _check_minibatches(student, learnable_splits(rng, n=n_train), feedback)


def _check_minibatches(student, data, feedback) -> None:
    n_train = len(data[0][0])

    def run(net):
        net.spy("backward")
        net.spy("update")
        net.train_loop(2)
        return _batches(net.spied("backward")), len(net.spied("update"))

    def check(net, result):
        batches, updates = result
        sizes = [size for size, _ in batches]
        full, partial = n_train // BATCH, n_train % BATCH
        per_epoch = {full, full + (1 if partial else 0)}
        if not sizes:
            fail("`train_loop` never called `self.backward(cache, labels)`: each minibatch "
                 "needs a forward pass, a backward pass and an update.")
        setup = f"`NN(batch_size={BATCH})`, {n_train} training examples, `train_loop(2)`"
        if any(s > BATCH for s in sizes):
            fail(f"`backward` saw batches of sizes {sorted(set(sizes))} with {setup}: no batch "
                 f"may exceed `batch_size` = {BATCH} (training on the whole set at once?).")
        if len(sizes) not in {2 * c for c in per_epoch}:
            fail(f"`backward` ran {len(sizes)} times with {setup}; expected "
                 f"{' or '.join(str(2 * c) for c in sorted(per_epoch))} "
                 f"(ceil or floor of {n_train}/{BATCH} = {n_train / BATCH:.2f} per epoch).")
        if updates != len(sizes):
            fail(f"`update` ran {updates} times but `backward` {len(sizes)} times with "
                 f"{setup}: every minibatch's gradients must be applied with "
                 "`self.update(grads)`.")
        known = {round(float(r), 5) for r in data[0][0].sum(axis=1)}
        per = len(sizes) // 2
        for epoch in range(2):
            rows = [r for _, sums in batches[epoch * per:(epoch + 1) * per] for r in sums]
            seen = {r for r in rows if r in known}
            if rows and len(seen) < n_train - BATCH + 1:
                fail(f"In epoch {epoch + 1} the minibatches held only {len(seen)} different "
                     f"training examples of {n_train}: an epoch is one pass over the whole "
                     "training set, each minibatch a different slice of it.")

    _train(student, data, feedback, run, check, hidden_dims=(8, 6), lr=0.05,
           batch_size=BATCH, seed=0)


@pytest.mark.graded(points=2, function="train_loop")
def test_train_loop_learns(student, rng, feedback):
    """on an easy problem the training loss falls from epoch to epoch"""
    data = learnable_splits(rng, n=240)
    epochs = 6
    settings = {"hidden_dims": HIDDEN, "lr": 0.02, "batch_size": 16, "seed": 1}
    ref_losses = reference_net(HIDDEN, "relu", data=data, **{k: v for k, v in settings.items()
                                                              if k != "hidden_dims"}
                               ).train_loop(epochs)["train_loss"]

    def run(net):
        logs = net.train_loop(epochs)
        return logs if isinstance(logs, dict) else net.train_logs

    def check(net, logs):
        losses = [float(v) for v in as_array(logs.get("train_loss", []), name="train_loss")]
        if len(losses) < epochs:
            fail(f"`train_logs['train_loss']` has {len(losses)} entries after "
                 f"`train_loop({epochs})`; expected one per epoch.")
        if not losses[-1] < 0.8 * losses[0]:
            fail(f"The training loss did not fall: per epoch {[round(v, 4) for v in losses]}. "
                 f"The reference, with the same settings, goes "
                 f"{[round(float(v), 4) for v in ref_losses]}. Is `update` called for every "
                 "minibatch, and are the weights initialised only once, before the first "
                 "epoch?" + JUDGED)
        final_loss, _ = _final(net, HIDDEN, data, 0)
        assert_scalar_close(losses[-1], final_loss, name="the last `train_loss` in train_logs",
                            rtol=1e-3, atol=1e-6,
                            context="recomputed from your final weights: the log must "
                                    "measure the weights training ended with")

    _train(student, data, feedback, run, check, **settings)


@pytest.mark.graded(points=1, function="train_loop")
def test_train_logs_filled_per_epoch(student, rng, feedback):
    """train_logs gets one entry per epoch for each of its four curves"""
    data = learnable_splits(rng, n=64)
    hidden = (8, 6)
    settings = {"hidden_dims": hidden, "lr": 0.05, "batch_size": 16, "seed": 0}

    def run(net):
        net.train_loop(3)
        return net.train_logs

    def check(net, logs):
        for key in ("train_accuracy", "validation_accuracy", "train_loss", "validation_loss"):
            values = logs.get(key) if isinstance(logs, dict) else None
            if values is None or len(values) != 3:
                got = "missing" if values is None else f"{len(values)} entries"
                fail(f"`train_logs['{key}']` after `train_loop(3)`: {got}, expected 3.")
            if not all(math.isfinite(float(v)) for v in values):
                fail(f"`train_logs['{key}']` holds non-finite values: {values}.")
        # The logs measure the model: the last validation entries are those of the final
        # weights (which a log of made-up numbers is not).
        loss, accuracy = _final(net, hidden, data, 1)
        context = "recomputed on `self.valid` from your final weights"
        assert_scalar_close(logs["validation_loss"][-1], loss, rtol=1e-3, atol=1e-6,
                            name="the last `validation_loss` in train_logs", context=context)
        assert_scalar_close(logs["validation_accuracy"][-1], accuracy, rtol=0, atol=1e-9,
                            name="the last `validation_accuracy` in train_logs",
                            context=context)

    _train(student, data, feedback, run, check, **settings)


@pytest.mark.graded(points=2, function="evaluate")
def test_evaluate_reports_test_loss_and_accuracy(student, rng, feedback):
    """evaluate() returns (loss, accuracy) on the test set, for the current weights"""
    data = learnable_splits(rng, n=120)
    hidden = (8, 6)
    net = student_net(student, hidden_dims=hidden, data=data)
    weights = random_weights(rng, [data[0][0].shape[1], *hidden, data[0][1].shape[1]])
    net.weights = weights
    # Expected values come from the reference on the same weights; evaluate runs with the
    # reference's forward, loss and compute_loss_and_accuracy in place of the student's, so
    # that a bug there is graded by their tests, not a second time here.
    loss, accuracy, _ = reference_net(hidden, "relu", weights).compute_loss_and_accuracy(
        *data[2])

    def check(result):
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"`evaluate()` should return `(test_loss, test_accuracy)`, got "
                 f"{result!r:.200}.")
        context = "for the test set (`self.test`) and the current weights"
        assert_scalar_close(result[1], accuracy, name="the accuracy from `evaluate()`",
                            context=context, rtol=0, atol=1e-9)
        assert_scalar_close(result[0], loss, name="the loss from `evaluate()`", context=context,
                            **tolerance(result[0], 1e-5, 1e-8))

    judged(net, reference_twin(hidden_dims=hidden), EVALUATE_HELPERS, lambda: net.evaluate(),
           check, function="evaluate", feedback=feedback)
