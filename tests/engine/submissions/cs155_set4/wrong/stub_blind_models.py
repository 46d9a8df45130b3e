# expect: zero
# stub: models whose output cannot depend on the image: Dropout(p=1) zeroes every input before
# the classifier, so each model answers its bias whatever it is shown
import torch.nn as nn

TRAINING_2C = {"optimizer": "SGD", "lr": 0.1}
TRAINING_2D = {"optimizer": "SGD", "lr": 0.1}
TRAINING_2E = {"optimizer": "SGD", "lr": 0.1}
TRAINING_3G = {"optimizer": "SGD", "lr": 0.1}


def build_model_2c():
    return nn.Sequential(nn.Flatten(), nn.Dropout(1.0), nn.Linear(784, 10))


def build_model_2d():
    return nn.Sequential(nn.Flatten(), nn.Dropout(1.0), nn.Linear(784, 10), nn.ReLU(),
                         nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10))


def build_model_2e():
    return nn.Sequential(nn.Flatten(), nn.Dropout(1.0), nn.Linear(784, 10), nn.ReLU(),
                         nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                         nn.Linear(10, 10))


def build_model_3g():
    return nn.Sequential(nn.Dropout(1.0), nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
