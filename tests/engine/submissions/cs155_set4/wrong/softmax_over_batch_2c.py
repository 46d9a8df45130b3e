# expect-fail-only: build_model_2c
# bug: 2C ends with nn.Softmax(dim=0): the right shape, but each image's probabilities are normalised across the batch
# expect-hint: build_model_2c: normalises over the batch
"""CS155 Set 4: the reference's models, except that 2C's softmax runs over the batch."""

import torch.nn as nn

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_2c():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
        nn.Softmax(dim=0),
    )


def build_model_2d():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 150), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(150, 50), nn.ReLU(),
        nn.Linear(50, 10),
        nn.Softmax(dim=1),
    )


def build_model_2e():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 400), nn.ReLU(),
        nn.Linear(400, 300), nn.ReLU(),
        nn.Linear(300, 200), nn.ReLU(),
        nn.Linear(200, 10),
    )


def build_model_3g():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )
