"""update: one plain SGD step, W <- W - lr * dW and b <- b - lr * db, with self.lr."""

from __future__ import annotations

import pytest

from grader.testing import (
    GradingFailure,
    SubmissionError,
    as_array,
    fail,
    fixed_rate,
    fixed_rate_message,
    without_hint,
)

from .common import (
    assert_arrays,
    check_keys,
    one_hot,
    random_weights,
    reference_net,
    splits,
    student_net,
    tolerance,
    weights_of,
)


def _step(student, rng, lr):
    """(the step the student took, the step SGD takes, the keys) for one update(grads)."""
    hidden = (6, 5)
    weights = random_weights(rng, [8, *hidden, 3])
    x, y = rng.normal(0, 1, (7, 8)), one_hot(rng.integers(0, 3, 7), 3)
    ref = reference_net(hidden, "relu", weights, lr=lr)
    grads = ref.backward(ref.forward(x), y)
    net = student_net(student, hidden_dims=hidden, lr=lr, data=splits(rng))
    net.weights = weights
    net.update(grads)
    got = weights_of(net)
    keys = [f"{p}{layer}" for layer in (1, 2, 3) for p in ("W", "b")]
    check_keys(got, keys, what="`self.weights` after `update`")
    taken = {k: weights[k] - as_array(got[k], name=k) for k in keys}
    wanted = {k: lr * grads[f"d{k}"] for k in keys}
    # float32 weights round each W to ~1e-7 relative: judge the step at that precision
    precision = tolerance(as_array(got["W1"], name="W1"), 1e-6, 1e-9)
    return taken, wanted, keys, precision


def _judge(student, rng, lr, keys, *, context, factors=None) -> None:
    """Judge one step; a wrong step that follows a number of its own, whatever `lr` is,
    is told so first (its "constant factor" would only mislead)."""
    taken, wanted, all_keys, precision = _step(student, rng, lr)
    try:
        assert_arrays(taken, wanted, keys, **precision, context=context, factors=factors)
    except GradingFailure as wrong:
        other = lr / 4
        try:
            taken_other, wanted_other, _, _ = _step(student, rng, other)
        except (GradingFailure, SubmissionError):
            raise wrong from None  # the probe at another rate tells nothing: the real failure
        rate = fixed_rate({lr: [(taken[k], wanted[k] / lr) for k in all_keys],
                           other: [(taken_other[k], wanted_other[k] / other)
                                   for k in all_keys]})
        if rate is None:
            raise
        fail(fixed_rate_message(rate, [lr, other], function="update", source="`self.lr`")
             + "\n\n" + without_hint(str(wrong)))


@pytest.mark.graded(points=2, function="update")
@pytest.mark.parametrize("lr", [0.37, 0.02])
def test_update_is_sgd_step(student, rng, lr):
    """every W and b moves by -lr * gradient, with the lr given to NN(lr=...)"""
    _judge(student, rng, lr, [f"{p}{layer}" for layer in (1, 2, 3) for p in ("W", "b")],
           context=f"the step `W_before - W_after` of one `update(grads)` with "
                   f"`NN(lr={lr})` must be lr * dW",
           factors={"the batch size (64)": 64, "-1": -1})


@pytest.mark.graded(points=1, function="update")
def test_update_changes_biases(student, rng):
    """the biases are updated too"""
    _judge(student, rng, 0.5, ["b1", "b2", "b3"],
           context="the step `b_before - b_after` of one `update(grads)` with "
                   "`NN(lr=0.5)` must be lr * db")
