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


def _placeholder(name: str) -> type:
    """A class nothing is an instance of: Keras's ``isinstance(x, tf.Tensor)`` checks say no,
    and constructing one says the API is TensorFlow-only."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise _only(name)

    return type(name.rpartition(".")[2], (), {"__init__": refuse, "__module__": __name__})


Tensor, TensorShape, TensorSpec = (_placeholder(f"tf.{n}") for n in
                                   ("Tensor", "TensorShape", "TensorSpec"))
SparseTensor, RaggedTensor, Variable, DType = (_placeholder(f"tf.{n}") for n in
                                               ("SparseTensor", "RaggedTensor", "Variable",
                                                "DType"))
data = types.SimpleNamespace(Dataset=_placeholder("tf.data.Dataset"))


def _keep_keras_off_tensorflow_paths() -> None:
    """Keras asks whether TensorFlow imports before taking its TensorFlow code paths; with
    this module aliased the answer would be yes. Its lazy ``tensorflow`` handle is made to
    answer no from now on (the placeholders above cover the one question being asked while
    this module imports)."""
    try:
        from keras.src.utils import module_utils
    except ImportError:  # another Keras layout: nothing to switch off
        return
    lazy = getattr(module_utils, "tensorflow", None)
    base = getattr(module_utils, "LazyModule", None)
    if lazy is None or base is None or not isinstance(lazy, base):
        return

    class NeverAvailable(type(lazy)):
        available = property(lambda self: False)

    lazy.__class__ = NeverAvailable


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
