# expect: zero
# stub: every builder returns an empty nn.Sequential; the training dicts keep the defaults
import torch.nn as nn

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_2c():
    return nn.Sequential()


def build_model_2d():
    return nn.Sequential()


def build_model_2e():
    return nn.Sequential()


def build_model_3g():
    return nn.Sequential()
