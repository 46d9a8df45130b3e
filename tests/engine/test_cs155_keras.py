"""CS155 Set 4 with Keras models: read in the problems' PyTorch terms, held to the model's
own outputs (a forged description earns nothing), and trained by the pack's own path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.feedback import GradingFailure  # noqa: E402
from grader.models.constraints import count_parameters, hidden_units  # noqa: E402
from grader.models.keras_as_torch import as_torch  # noqa: E402
from grader.models.keras_rebuild import check_keras_spec, rebuild_keras  # noqa: E402
from grader.packs import load_pack  # noqa: E402
from grader.sandboxed.models.keras_describe import describe_keras  # noqa: E402
from grader.worker.client import Worker  # noqa: E402
from grader.worker.proxy import Student  # noqa: E402

from .known import SUBMISSIONS  # noqa: E402

PACK = load_pack("cs155_set4")
KERAS_FILE = SUBMISSIONS / "cs155_set4" / "correct" / "keras_written.py"
layers = keras.layers


def _mlp(hidden: int = 100, trainable: bool = True) -> Any:
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                             layers.Dense(hidden, activation="relu", trainable=trainable),
                             layers.Dense(10, activation="softmax")])


class _InProcess:
    """A student whose engine calls run here, on a Keras model built here (no worker), with
    ``edit`` applied to what the describer returns: a forged description."""

    def __init__(self, model: Any, edit: Any = None) -> None:
        self.model, self.edit = model, edit

    def build_model_2c(self) -> Any:
        return self.model

    def engine(self, name: str, model: Any, *args: Any, doing: str = "", **kwargs: Any) -> Any:
        if name == "model_framework":
            return "keras"
        described = describe_keras(model, *args, **kwargs)
        return self.edit(described) if self.edit else described


def test_a_keras_model_reads_as_its_pytorch_twin():
    from tests.cs155_set4.common import checked

    found = checked(_InProcess(_mlp()), "2C")
    assert [e["type"] for e in found.spec] == ["Flatten", "Linear", "ReLU", "Linear", "Softmax"]
    assert hidden_units(found.spec)[0] == 100
    assert count_parameters(found.model) == 784 * 100 + 100 + 100 * 10 + 10


def test_a_forged_keras_description_earns_nothing():
    """The description says ReLU, the model computed something else: the rebuild, given the
    model's own weights, does not reproduce its outputs."""
    from tests.cs155_set4.common import checked

    def forge(described: dict) -> dict:
        described["outputs"] = np.asarray(described["outputs"])[::-1].copy()
        return described

    with pytest.raises(GradingFailure, match="rebuild is not your model"):
        checked(_InProcess(_mlp(), forge), "2C")

    def unweighed(described: dict) -> dict:
        del described["weights"]
        return described

    with pytest.raises(GradingFailure, match="weights and outputs could not be read"):
        checked(_InProcess(_mlp(), unweighed), "2C")


def test_a_frozen_keras_layer_is_counted_and_trained():
    """`trainable=False` hides nothing from a parameter limit: a PyTorch hand-in cannot
    freeze a layer either (its rebuild trains every layer)."""
    spec = check_keras_spec(describe_keras(_mlp(trainable=False)))
    view = as_torch(rebuild_keras(spec))
    assert count_parameters(view.model) == 784 * 100 + 100 + 100 * 10 + 10


@pytest.fixture(scope="module")
def keras_student():
    worker = Worker(KERAS_FILE, KERAS_FILE.parent, limits=PACK.limits, load=PACK.load_options)
    worker.start()
    yield Student(worker)
    worker.stop()


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["2C", "3G"])
def test_keras_rebuild_trains_through_the_pack_path(keras_student, small_mnist, problem):
    """One epoch on 600 real MNIST images, as tests/engine/test_cs155_smoke.py does for
    PyTorch: the plumbing, not the thresholds."""
    from tests.cs155_set4.common import train_problem

    _, results = train_problem(keras_student, problem, small_mnist, epochs=1, seeds=[0])
    (result,) = results
    assert len(result.test_accuracy) == 1 and result.mode == "eager"
    assert result.best_accuracy > 0.3  # far above chance (0.1)
