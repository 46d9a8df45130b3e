"""CS155 Set 4: your models for problems 2C, 2D, 2E and 3G.

For each problem, write
- ``build_model_XX()``: return a fresh ``nn.Sequential`` made ONLY of the layers that problem
  allows (``nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), ...)``). Do not write
  your own ``nn.Module`` subclass: the grader reads your layer list and rebuilds the same
  model itself, then trains it with its own loop on MNIST and measures test accuracy.
  The input is a batch of shape (N, 1, 28, 28); the output must have shape (N, 10). Ending
  with ``nn.Softmax(dim=1)`` is fine: the grader then trains with categorical cross-entropy
  on the probabilities (computed stably from the logits before the softmax).
- ``TRAINING_XX``: a dict of training settings:
    ``"optimizer"``: "SGD", "Adam", "AdamW" or "RMSprop";
    ``"lr"``: the learning rate (default: PyTorch's default for that optimizer);
    ``"optimizer_kwargs"``: optional dict of that optimizer's documented arguments
        (SGD: momentum, nesterov, weight_decay; Adam/AdamW: betas, eps, weight_decay,
        amsgrad; RMSprop: alpha, eps, momentum, weight_decay, centered);
    ``"epochs"`` (1..50) and ``"batch_size"``: default 10 and 32, as the handout says;
    ``"step_size"`` and ``"gamma"``: optional, multiply the learning rate by gamma every
        step_size epochs (PyTorch's StepLR).
"Hidden units" are the outputs of every Linear layer except the last one (the output layer);
activations and Dropout do not count. Accuracy is the best test accuracy over the epochs.

Keras works too (as in earlier years of the course): a builder may return a
``keras.Sequential`` (``from tensorflow.keras.layers import Dense`` or ``from keras.layers
import ...``). The rules read ``Dense`` as ``Linear`` (its ``activation`` as a ReLU/Softmax
layer), ``Conv2D`` as ``Conv2d``, ``MaxPooling2D`` as ``MaxPool2d`` and
``BatchNormalization`` as ``BatchNorm2d``. Parameters are counted as PyTorch counts them
(BatchNormalization's moving mean and variance, which Keras's ``count_params()`` includes,
are not). ``model.compile(...)`` is ignored: the grader trains with ``TRAINING_XX``.
"""

import torch.nn as nn

# Problem 2C: at most 100 hidden units; only Flatten, Linear, ReLU, Softmax, Dropout.
# Target: test accuracy >= 0.975.
TRAINING_2C = {}  # choose: e.g. {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2c():
    # Sample network with 20 hidden units (from the handout's sample code): make it better.
    raise NotImplementedError("build_model_2c: return nn.Sequential(...) with <= 100 hidden units")


# Problem 2D: at most 200 hidden units and at least 2 hidden layers; same layers as 2C.
# Target: test accuracy >= 0.98.
TRAINING_2D = {}  # choose: e.g. {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2d():
    raise NotImplementedError("build_model_2d: <= 200 hidden units in >= 2 hidden layers")


# Problem 2E (extra credit): at most 1000 hidden units and at least 3 hidden layers.
# Target: test accuracy >= 0.983.
TRAINING_2E = {}  # choose: e.g. {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2e():
    raise NotImplementedError("build_model_2e: <= 1000 hidden units in >= 3 hidden layers")


# Problem 3G: only Linear, Conv2d, MaxPool2d, BatchNorm2d, Dropout, ReLU, Softmax, Flatten;
# fewer than 1,000,000 parameters; at least one Dropout and one BatchNorm2d layer.
# Trained for exactly 10 epochs with batch size 32 (fixed by the handout: leave them out or
# keep them at 10 and 32). Target: test accuracy >= 0.985.
TRAINING_3G = {}  # choose: e.g. {"optimizer": "Adam", "lr": 1e-3}


def build_model_3g():
    raise NotImplementedError(
        "build_model_3g: a CNN (Conv2d, BatchNorm2d, MaxPool2d, Dropout, ...) with < 1M parameters"
    )
