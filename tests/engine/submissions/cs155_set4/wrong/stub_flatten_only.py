# expect: zero
# stub: every builder returns a model with no parameters (Flatten, ReLU, Softmax, Dropout)
import torch.nn as nn

TRAINING_2C = {}
TRAINING_2D = {}
TRAINING_2E = {}
TRAINING_3G = {}


def build_model_2c():
    return nn.Sequential(nn.Flatten(), nn.ReLU())


def build_model_2d():
    return nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Dropout(0.5), nn.ReLU())


def build_model_2e():
    return nn.Sequential(nn.Flatten(), nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Softmax(dim=1))


def build_model_3g():
    return nn.Sequential(nn.Dropout(0.5), nn.MaxPool2d(2), nn.Flatten())
