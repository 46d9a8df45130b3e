"""What ``import tensorflow as tf`` gives a Keras submission in the worker: Keras 3 on PyTorch.

TensorFlow is never installed where grading runs. A pack that grades Keras code aliases
``tensorflow`` to this module and ``tensorflow.keras.*`` to ``keras.*`` (``import_aliases`` in
its ``pack.toml``), so ``from tensorflow import keras``, ``tf.keras.layers.Dense`` and
``from tensorflow.keras.layers import Dense`` all reach Keras 3. The few TensorFlow helpers
course notebooks call around their models have Keras equivalents (``tf.random.set_seed``);
everything else is TensorFlow-only, and touching it raises an error that names the API and
says so, instead of a bare ``AttributeError`` about a module the student never heard of.
"""

from __future__ import annotations

import types
from typing import Any

import keras

__all__ = ["TensorFlowOnlyError", "keras"]
__path__: list[str] = []  # a package: `tensorflow.keras` resolves through the import aliases
__version__ = f"served by Keras {keras.__version__} on PyTorch (no TensorFlow)"

random = types.SimpleNamespace(set_seed=keras.utils.set_random_seed)


def executing_eagerly() -> bool:
    """Keras asks this once ``tensorflow`` is imported; PyTorch always runs eagerly."""
    return True


def _keep_keras_off_tensorflow_paths() -> None:
    """Keras checks whether TensorFlow imports before taking its TensorFlow code paths
    (``isinstance(x, tf.TensorShape)`` and the like); this module would say yes."""
    try:
        from keras.src.utils import module_utils

        module_utils.tensorflow._available = False
    except (ImportError, AttributeError):  # another Keras layout: nothing to switch off
        pass


_keep_keras_off_tensorflow_paths()
float32, float64, int32, int64 = "float32", "float64", "int32", "int64"


class TensorFlowOnlyError(AttributeError):
    """A TensorFlow API that Keras 3 on PyTorch does not have."""


def _only(name: str) -> TensorFlowOnlyError:
    return TensorFlowOnlyError(
        f"`tf.{name}` is a TensorFlow-only API. The grader runs your Keras code with Keras 3 "
        "on PyTorch, without TensorFlow: build the model from `keras.layers` only "
        "(`keras.ops` for any math), as the handout's layers and regularizers are.")


def __getattr__(name: str) -> Any:
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    raise _only(name)
