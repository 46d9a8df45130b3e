# expect: zero
# stub (hostile): no model is built; each builder returns data shaped like what the grader
# reads from a valid model (its layer list, that list in a dict with outputs, a state_dict)
import collections

import numpy as np

SPEC = [{"type": "Flatten", "args": {}},
        {"type": "Linear", "args": {"in_features": 784, "out_features": 50, "bias": True}},
        {"type": "ReLU", "args": {}},
        {"type": "Linear", "args": {"in_features": 50, "out_features": 50, "bias": True}},
        {"type": "ReLU", "args": {}},
        {"type": "Linear", "args": {"in_features": 50, "out_features": 50, "bias": True}},
        {"type": "ReLU", "args": {}},
        {"type": "Dropout", "args": {"p": 0.1}},
        {"type": "Linear", "args": {"in_features": 50, "out_features": 10, "bias": True}}]

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_2c():
    return [dict(layer) for layer in SPEC]  # the layer list itself


def build_model_2d():
    return {"layers": SPEC, "state": {}, "outputs": np.zeros((8, 10), np.float32)}


def build_model_2e():
    rng = np.random.default_rng(0)  # a state_dict of the layers above
    return collections.OrderedDict(
        (f"{i}.{name}", rng.normal(0, 0.05, shape).astype(np.float32))
        for i, layer in enumerate(SPEC) if layer["type"] == "Linear"
        for name, shape in (("weight", (layer["args"]["out_features"],
                                        layer["args"]["in_features"])),
                            ("bias", (layer["args"]["out_features"],))))


def build_model_3g():
    return [(layer["type"], layer["args"]) for layer in SPEC]
