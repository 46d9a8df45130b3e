"""Problems 1.4 to 1.7, on a CUDA GPU: each learning rate, architecture and setting the
report claims is trained here with the notebook's network, and its curves must show the
claimed behaviour (rules in ``grader.train.regimes``). Without a GPU these tests are skipped
(0 points, never counted as passed); CI runs the same path on a small subset on the CPU."""

from __future__ import annotations

import pytest

from grader.testing import fail

from .claims import CLAIMS
from .common import require_jax

CASES = [
    ("BASELINE", 0, "1.4: BASELINE reaches 97 % test accuracy"),
    ("SLOW_LEARNING_RATE", 0.5, "1.5(a): the slow learning rate converges slowly"),
    ("OSCILLATING_LEARNING_RATE", 0.5, "1.5(b): the oscillating learning rate oscillates "
                                       "but converges"),
    ("DIVERGING_LEARNING_RATE", 0.5, "1.5(c): the diverging learning rate diverges"),
    ("UNDERFITTING_LAYER_SIZES", 0.5, "1.6: the underfitting layer sizes underfit"),
    ("OVERFITTING", 1, "1.7: the overfitting setting overfits"),
]


@pytest.mark.gpu
@pytest.mark.parametrize("claim", [
    # a claim's dict leaves keys out for BASELINE's values: BASELINE is trained in each
    pytest.param(name, marks=pytest.mark.graded(
        points=points, function=name, name=title,
        uses=[] if name == "BASELINE" else ["BASELINE"]), id=name)
    for name, points, title in CASES
])
def test_claim_holds(student, claim, trainer, feedback, curves):
    require_jax()  # the claims come from the notebook's namespace, loaded with JAX
    result = CLAIMS[claim](student, trainer)
    feedback.append(result.feedback())
    curves.extend(result.curves())
    if not result.verdict:
        fail(f"{result.claim}: not what the report claims. {result.verdict.why}.")
