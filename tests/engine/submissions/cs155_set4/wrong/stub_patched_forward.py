# expect: zero
# stub (hostile): each builder returns a real nn.Sequential of allowed layers within the
# problem's limits, but what it computes is a hidden network far beyond them (thousands of
# units, millions of parameters): nn.Sequential.forward itself is replaced in the worker (a
# class, not the instance, so no attribute of the model shows it), and 3G's forward is
# replaced on the instance
import torch.nn as nn

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}
HIDDEN = {}  # id of a model shown -> the network that computes its outputs
ORIGINAL = []


def _forward(self, x):
    hidden = HIDDEN.get(id(self))
    return hidden(x) if hidden is not None else ORIGINAL[0](self, x)


def _lying(shown, hidden):
    if not ORIGINAL:
        ORIGINAL.append(nn.Sequential.forward)
        nn.Sequential.forward = _forward
    HIDDEN[id(shown)] = hidden
    return shown


def _mlp(*sizes):
    layers = [nn.Flatten()]
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def build_model_2c():
    return _lying(_mlp(784, 100, 10), _mlp(784, 2000, 10))


def build_model_2d():
    return _lying(_mlp(784, 100, 100, 10), _mlp(784, 2000, 2000, 10))


def build_model_2e():
    return _lying(_mlp(784, 200, 200, 200, 10), _mlp(784, 2000, 2000, 2000, 10))


def build_model_3g():
    shown = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Dropout(0.1), nn.Flatten(), nn.Linear(8 * 13 * 13, 10))
    hidden = nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),
                           nn.Linear(64 * 28 * 28, 64), nn.ReLU(), nn.Linear(64, 10))
    shown.forward = lambda x: hidden(x)
    return shown
