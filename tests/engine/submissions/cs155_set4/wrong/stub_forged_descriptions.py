# expect: zero
# stub (hostile): every builder returns a string, and the hand-in replaces the grader's
# describe_model and probe_model in the worker (the module, sys.modules, the server's bound
# table) with functions that describe a valid model that was never built
import gc
import sys
import types

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


def fake_describe(model, allowed=None):
    return [dict(layer) for layer in SPEC]


def fake_probe(model, images):
    rng = np.random.default_rng(0)
    state = {}
    for i, layer in enumerate(SPEC):
        if layer["type"] == "Linear":
            a = layer["args"]
            state[f"{i}.weight"] = rng.normal(0, 0.05, (a["out_features"], a["in_features"])
                                              ).astype(np.float32)
            state[f"{i}.bias"] = np.zeros(a["out_features"], np.float32)
    return {"state": state, "outputs": rng.normal(0, 1, (len(images), 10)).astype(np.float32)}


def _forge():
    for name in ("grader.sandboxed.models.describe",):
        module = sys.modules.get(name) or types.ModuleType(name)
        module.describe_model = fake_describe
        module.probe_model = fake_probe
        sys.modules[name] = module
    for obj in gc.get_objects():
        if type(obj).__name__ == "Server" and hasattr(obj, "engine_functions"):
            obj.engine_functions["describe_model"] = fake_describe
            obj.engine_functions["probe_model"] = fake_probe
    server = sys.modules.get("grader.sandboxed.server")
    if server is not None:
        server.ENGINE_CALLS["describe_model"] = ("solution", "fake_describe")
        server.ENGINE_CALLS["probe_model"] = ("solution", "fake_probe")


TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_2c():
    _forge()
    return "a model"


def build_model_2d():
    _forge()
    return "a model"


def build_model_2e():
    _forge()
    return "a model"


def build_model_3g():
    _forge()
    return "a model"
