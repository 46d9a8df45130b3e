"""Trusted-side training of rebuilt student models on MNIST.

``parse_settings`` validates the student's training settings, ``load_mnist_tensors`` puts
MNIST on the device, and ``train_and_evaluate`` trains (as a CUDA graph where possible) and
reports test accuracy per epoch.
"""

from grader.train.data import MNIST_MEAN, MNIST_STD, MnistTensors, load_mnist_tensors
from grader.train.loop import EVAL_BATCH, Numerics, TrainResult, train_and_evaluate
from grader.train.settings import (
    OPTIMIZERS,
    SettingsError,
    TrainSettings,
    parse_settings,
)

__all__ = [
    "EVAL_BATCH",
    "MNIST_MEAN",
    "MNIST_STD",
    "OPTIMIZERS",
    "MnistTensors",
    "Numerics",
    "SettingsError",
    "TrainResult",
    "TrainSettings",
    "load_mnist_tensors",
    "parse_settings",
    "train_and_evaluate",
]
