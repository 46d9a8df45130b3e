"""Student models as data: described in the worker, rebuilt and checked on the trusted side."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from grader.feedback import GradingFailure
from grader.models.constraints import (
    check_allowed_layers,
    check_hidden_layers,
    check_hidden_units,
    check_output_shape,
    check_parameters,
    check_required_layers,
    count_parameters,
    hidden_units,
)
from grader.models.rebuild import ModelSpecError, format_layer, rebuild, validate_spec
from grader.sandboxed import wire
from grader.sandboxed.limits import Limits
from grader.sandboxed.models.describe import DescribeError, describe_model
from grader.sandboxed.models.layers import WHITELIST, Arg
from grader.worker.client import SubmissionError, Worker
from grader.worker.proxy import Student

MLP_LAYERS = ["Flatten", "Linear", "ReLU", "Softmax", "Dropout"]  # problems 2C-2E
CNN_LAYERS = ["Linear", "Conv2d", "MaxPool2d", "BatchNorm2d", "Dropout", "ReLU", "Softmax",
              "Flatten"]  # problem 3G


# --- models ---------------------------------------------------------------------------


def sample_mlp() -> nn.Sequential:
    """The handout's sample network: 20 hidden units."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(20, 10), nn.Softmax(dim=1))


def deep_mlp() -> nn.Sequential:
    """A 2E answer: 3 hidden layers, 1000 hidden units."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 500), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(500, 300), nn.ReLU(), nn.Dropout(0.2), nn.Linear(300, 200),
                         nn.ReLU(), nn.Linear(200, 10), nn.Softmax(dim=1))


def cnn(batchnorm: bool = True, dropout: bool = True) -> nn.Sequential:
    """A 3G answer: convolutions, BatchNorm2d and Dropout, well under 1M parameters."""
    norm = nn.BatchNorm2d if batchnorm else (lambda _: nn.Identity())
    drop = nn.Dropout if dropout else (lambda _: nn.Identity())
    layers = [nn.Conv2d(1, 32, 3, padding=1), norm(32), nn.ReLU(), nn.MaxPool2d(2), drop(0.25),
              nn.Conv2d(32, 64, 3), norm(64), nn.ReLU(), nn.MaxPool2d(2), drop(0.25),
              nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), drop(0.5),
              nn.Linear(128, 10), nn.Softmax(dim=1)]
    return nn.Sequential(*(layer for layer in layers if type(layer) is not nn.Identity))


def assorted() -> nn.Sequential:
    """Every whitelisted type, with non-default arguments wherever there are some."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding="same", bias=False),
        nn.BatchNorm2d(8, eps=1e-3, momentum=None),
        nn.LeakyReLU(0.2, inplace=True),
        nn.MaxPool2d((3, 3), stride=2, padding=1, ceil_mode=True),
        nn.Conv2d(8, 16, kernel_size=(3, 5), stride=(2, 1), dilation=2, groups=2),
        nn.Dropout2d(0.3),
        nn.Tanh(),
        nn.Flatten(start_dim=1, end_dim=-1),
        nn.BatchNorm1d(672, affine=False, track_running_stats=False),
        nn.Sigmoid(),
        nn.Dropout(0.0, inplace=True),
        nn.Linear(672, 64, bias=False),
        nn.ReLU(),
        nn.Linear(64, 10),
        nn.LogSoftmax(dim=-1),
    )


MODELS = [sample_mlp, deep_mlp, cnn, assorted]


def failure(error: type[Exception], func: Callable, *args, **kwargs) -> str:
    """Run a call that must be refused and return its Markdown message."""
    with pytest.raises(error) as info:
        func(*args, **kwargs)
    return str(info.value)


def assert_parts(message: str, parts: list[str]) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# --- describe -> rebuild round trip ---------------------------------------------------


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_rebuilt_model_has_the_same_structure(make):
    model = make()
    spec = describe_model(model)
    rebuilt = rebuild(spec, WHITELIST)
    assert type(rebuilt) is nn.Sequential
    assert [type(layer) for layer in rebuilt] == [type(layer) for layer in model]
    assert str(rebuilt) == str(model)
    assert count_parameters(rebuilt) == count_parameters(model)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]
    assert [b.shape for b in rebuilt.buffers()] == [b.shape for b in model.buffers()]
    assert describe_model(rebuilt) == spec
    check_output_shape(rebuilt)


def test_parameter_counts_match_the_handout_method():
    assert count_parameters(sample_mlp()) == 784 * 20 + 20 + 20 * 10 + 10
    assert count_parameters(cnn()) == 315_338
    frozen = sample_mlp()
    frozen[1].weight.requires_grad_(False)
    assert count_parameters(frozen) == 20 + 20 * 10 + 10


def test_description_is_plain_json_and_crosses_the_wire_unchanged():
    spec = describe_model(assorted())
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec
    tree, arrays = wire.encode(spec)
    assert arrays == []
    a, b = socket.socketpair()
    with a, b:
        wire.send(a, {"value": tree}, arrays)
        header, arrays = wire.recv(b)
    assert wire.decode(header["value"], arrays) == spec


STUDENT_FILE = """
from torch import nn

def build():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(20, 10), nn.Softmax(dim=1))

class Doubled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)

def doubled():
    return nn.Sequential(nn.Flatten(), Doubled(784, 10))
"""


def test_the_worker_describes_and_the_trusted_side_rebuilds(tmp_path):
    (tmp_path / "solution.py").write_text(STUDENT_FILE)
    limits = Limits(call_timeout_s=60, load_timeout_s=60, memory_mb=4096)
    worker = Worker(tmp_path / "solution.py", tmp_path, limits=limits)
    worker.start()
    try:
        student = Student(worker)
        spec = student.engine("describe_model", student.build())
        assert spec == describe_model(sample_mlp())
        with pytest.raises(SubmissionError) as info:
            student.engine("describe_model", student.doubled())
    finally:
        worker.stop()
    assert str(rebuild(spec, MLP_LAYERS)) == str(sample_mlp())
    assert "layer 2 is `Doubled`, a subclass of `nn.Linear`" in info.value.message


def test_numpy_numbers_are_sent_as_python_numbers():
    layer = nn.Linear(np.int64(784), 10)
    layer2 = nn.Dropout(np.float32(0.25))
    spec = describe_model(nn.Sequential(nn.Flatten(), layer, layer2))
    assert type(spec[1]["args"]["in_features"]) is int
    assert type(spec[2]["args"]["p"]) is float
    rebuild(spec, WHITELIST)


def test_nested_sequential_is_flattened_in_order():
    model = nn.Sequential(nn.Flatten(),
                          nn.Sequential(nn.Linear(784, 64), nn.Sequential(nn.ReLU())),
                          nn.Linear(64, 10))
    spec = describe_model(model)
    assert [e["type"] for e in spec] == ["Flatten", "Linear", "ReLU", "Linear"]
    rebuilt = rebuild(spec, MLP_LAYERS)
    assert len(rebuilt) == 4 and count_parameters(rebuilt) == count_parameters(model)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, on importing dynamo
def test_a_compiled_model_is_described_as_the_model_it_wraps():
    assert describe_model(torch.compile(sample_mlp())) == describe_model(sample_mlp())


def test_a_stateless_layer_may_be_reused():
    relu = nn.ReLU()
    spec = describe_model(nn.Sequential(nn.Flatten(), nn.Linear(784, 32), relu,
                                        nn.Linear(32, 32), relu, nn.Linear(32, 10)))
    assert [e["type"] for e in spec].count("ReLU") == 2


# --- describe refusals ----------------------------------------------------------------


class MyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


class DoubledLinear(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class MySequential(nn.Sequential):
    pass


class Reshape(nn.Module):
    def forward(self, x):
        return x.view(len(x), -1)


def _hooked_layer() -> nn.Sequential:
    model = sample_mlp()
    model[1].register_forward_hook(lambda module, args, out: out * 0)
    return model


def _pre_hooked_model() -> nn.Sequential:
    model = sample_mlp()
    model.register_forward_pre_hook(lambda module, args: args)
    return model


def _replaced_forward() -> nn.Sequential:
    model = sample_mlp()
    model[2].forward = lambda x: x
    return model


def _shared_linear() -> nn.Sequential:
    shared = nn.Linear(64, 64)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), shared, nn.ReLU(), shared,
                         nn.Linear(64, 10))


def _tensor_argument() -> nn.Sequential:
    model = sample_mlp()
    model[3].p = torch.tensor(0.1)
    return model


def _loop() -> nn.Sequential:
    outer, inner = nn.Sequential(nn.ReLU()), nn.Sequential()
    outer.add_module("1", inner)
    inner.add_module("0", outer)
    return outer


DESCRIBE_REFUSALS = {
    "custom-module": (MyNet, ["custom `nn.Module` subclass `MyNet`",
                              "build your model as `nn.Sequential(...)`"]),
    "linear-subclass": (lambda: nn.Sequential(nn.Flatten(), DoubledLinear(784, 10)),
                        ["layer 2 is `DoubledLinear`, a subclass of `nn.Linear`",
                         "use `nn.Linear` itself"]),
    "gelu": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.GELU()),
             ["layer 3, `nn.GELU(", "is not allowed", "`Linear`, `Conv2d`"]),
    "custom-layer": (lambda: nn.Sequential(Reshape(), nn.Linear(784, 10)),
                     ["layer 1 is `Reshape`, a custom `nn.Module`"]),
    "forward-hook": (_hooked_layer, ["layer 2, `nn.Linear`, has a forward hook"]),
    "model-pre-hook": (_pre_hooked_model, ["The model has a forward pre-hook"]),
    "replaced-forward": (_replaced_forward, ["layer 3, `nn.ReLU`, has its `forward` method "
                                             "replaced"]),
    "sequential-subclass": (lambda: MySequential(nn.Flatten(), nn.Linear(784, 10)),
                            ["`MySequential`, a subclass of `nn.Sequential`"]),
    "nested-subclass": (lambda: nn.Sequential(nn.Flatten(), MySequential(nn.Linear(784, 10))),
                        ["The nested block `model[1]` is `MySequential`"]),
    "single-layer": (lambda: nn.Linear(784, 10), ["a single `nn.Linear`, not an `nn.Sequential`"]),
    "function": (lambda: (lambda x: x), ["must be an `nn.Sequential`", "got a `function`"]),
    "none": (lambda: None, ["forget to `return` the model"]),
    "class": (lambda: nn.Sequential, ["the class `Sequential` itself"]),
    "shared-weights": (_shared_linear, ["layer 5 is the same `nn.Linear` object as layer 3"]),
    "tensor-argument": (_tensor_argument, ["layer 4, `nn.Dropout`: `p` is a `Tensor`"]),
    "return-indices": (lambda: nn.Sequential(nn.MaxPool2d(2, return_indices=True)),
                       ["`return_indices=True`"]),
    "too-many-layers": (lambda: nn.Sequential(*[nn.ReLU() for _ in range(201)]),
                        ["more than 200 layers"]),
    "loop": (_loop, ["`model[1][0]` is a block that contains itself"]),
}


@pytest.mark.parametrize("name", DESCRIBE_REFUSALS)
def test_describe_refuses_what_cannot_be_rebuilt(name):
    make, parts = DESCRIBE_REFUSALS[name]
    assert_parts(failure(DescribeError, describe_model, make()), parts)


def test_describe_refuses_layers_outside_the_problem_when_told():
    message = failure(DescribeError, describe_model, cnn(), allowed=MLP_LAYERS)
    assert_parts(message, ["layer 1, `nn.Conv2d`, is not allowed here",
                           "`Flatten`, `Linear`, `ReLU`, `Softmax` and `Dropout`"])


def test_describe_refuses_a_global_module_hook():
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, a, o: o)
    try:
        message = failure(DescribeError, describe_model, sample_mlp())
    finally:
        handle.remove()
    assert "global forward hook" in message
    describe_model(sample_mlp())


def test_describe_names_the_nested_position():
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(784, 10), nn.GELU()))
    assert "layer 3 (`model[1][1]`), `nn.GELU(" in failure(DescribeError, describe_model, model)


# --- rebuild refusals -----------------------------------------------------------------


def _sample_with(position: int, **args) -> list[dict]:
    spec = describe_model(sample_mlp())
    spec[position - 1]["args"].update(args)
    return spec


def _linear(**args) -> list[dict]:
    return [{"type": "Linear", "args": {"in_features": 784, "out_features": 10, **args}}]


def _conv(**args) -> list[dict]:
    base = {"in_channels": 1, "out_channels": 8, "kernel_size": 3}
    return [{"type": "Conv2d", "args": {**base, **args}}]


REBUILD_REFUSALS = {
    "unknown-type": ([{"type": "GELU", "args": {}}],
                     ["layer 1: `GELU()`: not a supported layer type"]),
    "unknown-arg": (_linear(init="xavier"),
                    ["`Linear(784, 10, init='xavier')`: unknown argument init",
                     "`Linear` takes in_features, out_features, bias"]),
    "p-1.5": (_sample_with(4, p=1.5), ["layer 4: `Dropout(p=1.5)`: p must be in [0, 1]"]),
    "p-nan": (_sample_with(4, p=float("nan")), ["p must be a number in [0, 1]; got `nan`"]),
    "p-string": (_sample_with(4, p="0.1"),
                 ["p must be a number in [0, 1]; got `'0.1'` (a string)"]),
    "kernel-0": (_conv(kernel_size=0),
                 ["`Conv2d(1, 8, kernel_size=0)`: kernel_size must be an integer in [1, 15]"]),
    "kernel-triple": (_conv(kernel_size=[3, 3, 3]), ["kernel_size must be an integer in [1, 15] "
                                                     "or a pair of them"]),
    "bool-for-int": (_linear(in_features=True),
                     ["in_features must be an integer in [1, 100000]; got `True` (a bool)"]),
    "float-for-int": (_linear(out_features=10.0), ["out_features must be an integer"]),
    "string-for-int": (_linear(in_features="784"), ["got `'784'` (a string)"]),
    "int-for-bool": (_linear(bias=1), ["bias must be True or False; got `1`"]),
    "huge": (_linear(in_features=10**400), ["in_features must be an integer in [1, 100000]"]),
    "missing-arg": ([{"type": "Linear", "args": {"in_features": 784}}],
                    ["`Linear(784)`: out_features is required"]),
    "padding-mode": (_conv(padding_mode="reflect"), ["padding_mode must be 'zeros'"]),
    "padding-word": (_conv(padding="full"), ["or 'same' or 'valid'"]),
    "torch-refuses": (_conv(in_channels=3, groups=2),
                      ["`Conv2d(3, 8, kernel_size=3, groups=2)`: PyTorch refuses this layer",
                       "divisible by groups"]),
    "too-many-parameters": (_linear(in_features=100_000, out_features=1_000),
                            ["100,001,000 parameters", "at most 50,000,000"]),
    "201-layers": ([{"type": "ReLU", "args": {}}] * 201, ["201 layers; at most 200"]),
    "empty": ([], ["no layers"]),
    "not-a-list": ({"type": "Linear", "args": {}}, ["must be a list of layers"]),
    "tuple-not-list": (tuple(_linear()), ["must be a list of layers"]),
    "entry-not-dict": (["Linear"], ["layer 1: expected"]),
    "extra-key": ([{"type": "ReLU", "args": {}, "forward": "x"}], ["layer 1: expected"]),
    "args-not-dict": ([{"type": "ReLU", "args": []}], ["layer 1: expected"]),
    "type-not-string": ([{"type": ["Linear"], "args": {}}], ["not a supported layer type"]),
}


@pytest.mark.parametrize("name", REBUILD_REFUSALS)
def test_rebuild_refuses_bad_descriptions(name):
    spec, parts = REBUILD_REFUSALS[name]
    assert_parts(failure(ModelSpecError, rebuild, spec, WHITELIST), parts)


def test_rebuild_refuses_layers_outside_the_problem():
    message = failure(ModelSpecError, rebuild, describe_model(cnn()), MLP_LAYERS)
    assert_parts(message, ["layer 1: `Conv2d(1, 32, kernel_size=3, padding=1)`: `Conv2d` is not "
                           "allowed here", "`Flatten`, `Linear`, `ReLU`, `Softmax` and `Dropout`"])


def test_rebuild_rejects_an_allowed_list_that_is_a_pack_bug():
    with pytest.raises(ValueError):
        rebuild(_linear(), ["Linear", "GELU"])
    with pytest.raises(ValueError):
        rebuild(_linear(), "Linear")


def test_validated_values_are_clean():
    spec = [{"type": "Dropout", "args": {"p": 0}},
            {"type": "MaxPool2d", "args": {"kernel_size": (2, 3), "stride": None}},
            {"type": "BatchNorm2d", "args": {"num_features": 4, "momentum": None}}]
    clean = validate_spec(spec, WHITELIST)
    assert type(clean[0]["args"]["p"]) is float
    assert clean[1]["args"] == {"kernel_size": [2, 3], "stride": None}
    model = rebuild(spec, WHITELIST)
    assert model[1].kernel_size == (2, 3) and model[2].momentum is None


# --- format_layer ---------------------------------------------------------------------


@pytest.mark.parametrize(("layer", "text"), [
    (nn.Linear(784, 128), "Linear(784, 128)"),
    (nn.Linear(784, 128, bias=False), "Linear(784, 128, bias=False)"),
    (nn.Conv2d(1, 32, 3, padding=1), "Conv2d(1, 32, kernel_size=3, padding=1)"),
    (nn.Conv2d(1, 32, (3, 5), stride=2), "Conv2d(1, 32, kernel_size=(3, 5), stride=2)"),
    (nn.Conv2d(1, 32, 3, padding="same"), "Conv2d(1, 32, kernel_size=3, padding='same')"),
    (nn.MaxPool2d(2), "MaxPool2d(2)"),
    (nn.MaxPool2d(2, stride=2), "MaxPool2d(2)"),
    (nn.MaxPool2d(3, stride=1), "MaxPool2d(3, stride=1)"),
    (nn.BatchNorm2d(32), "BatchNorm2d(32)"),
    (nn.BatchNorm1d(32, momentum=None), "BatchNorm1d(32, momentum=None)"),
    (nn.Dropout(0.1), "Dropout(p=0.1)"),
    (nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (nn.Softmax(dim=1), "Softmax(dim=1)"),
    (nn.Flatten(), "Flatten()"),
])
def test_format_layer_shows_only_non_default_arguments(layer, text):
    assert format_layer(describe_model(nn.Sequential(layer))[0]) == text


@pytest.mark.parametrize(("entry", "text"), [
    ("Linear", "'Linear'"),
    ({"type": 3}, "3()"),
    ({"type": "Linear", "args": {"out_features": 10}}, "Linear(out_features=10)"),
    ({"type": "X`y", "args": {"a": "`" * 500}}, "'X'y'(a='''''''"),
])
def test_format_layer_never_fails_on_garbage(entry, text):
    shown = format_layer(entry)
    assert shown.startswith(text) and "`" not in shown and len(shown) <= 120


# --- constraints ----------------------------------------------------------------------


def test_hidden_units_sum_every_linear_but_the_last():
    assert hidden_units(describe_model(sample_mlp())) == (20, ["Linear(784, 20)"])
    assert hidden_units(describe_model(deep_mlp())) == (
        1000, ["Linear(784, 500)", "Linear(500, 300)", "Linear(300, 200)"])
    assert hidden_units(describe_model(cnn())) == (128, ["Linear(2304, 128)"])
    assert hidden_units(describe_model(nn.Sequential(nn.Flatten()))) == (0, [])


def test_check_hidden_units():
    check_hidden_units(describe_model(sample_mlp()), 100)
    check_hidden_units(describe_model(deep_mlp()), 1000)
    wide = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, 10))
    message = failure(GradingFailure, check_hidden_units, describe_model(wide), 100)
    assert_parts(message, ["`Linear(784, 128)` + `Linear(128, 64)` = 192 hidden units, limit 100",
                           "the last Linear layer, `Linear(64, 10)`, is the output and does not "
                           "count"])


def test_check_hidden_layers():
    check_hidden_layers(describe_model(deep_mlp()), 3)
    check_hidden_layers(describe_model(sample_mlp()), 1)
    shallow = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    message = failure(GradingFailure, check_hidden_layers, describe_model(shallow), 2)
    assert_parts(message, ["2 hidden layers needed; your model has 1: `Linear(784, 100)` "
                           "(then the output layer `Linear(100, 10)`)"])
    linear = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    assert_parts(failure(GradingFailure, check_hidden_layers, describe_model(linear), 1),
                 ["1 hidden layer needed; your model has 0", "`Linear(784, 10)`, is the output"])
    assert "no `Linear` layer" in failure(GradingFailure, check_hidden_layers,
                                          describe_model(nn.Sequential(nn.Flatten())), 1)


def test_check_allowed_layers():
    check_allowed_layers(describe_model(deep_mlp()), MLP_LAYERS)
    check_allowed_layers(describe_model(cnn()), CNN_LAYERS)
    message = failure(GradingFailure, check_allowed_layers, describe_model(cnn()), MLP_LAYERS)
    assert_parts(message, ["layer 1 `Conv2d(1, 32, kernel_size=3, padding=1)`",
                           "layer 2 `BatchNorm2d(32)`", "and 1 more",
                           "The allowed layers are `Flatten`, `Linear`, `ReLU`, `Softmax` and "
                           "`Dropout`"])
    leaky = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.LeakyReLU())
    assert "layer 3 `LeakyReLU()`" in failure(GradingFailure, check_allowed_layers,
                                               describe_model(leaky), CNN_LAYERS)


def test_check_parameters():
    model = rebuild(describe_model(cnn()), CNN_LAYERS)
    check_parameters(model, describe_model(cnn()), 1_000_000)
    big = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1),
                        nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                        nn.Flatten(), nn.Linear(64 * 14 * 14, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    spec = describe_model(big)
    model = rebuild(spec, CNN_LAYERS)
    total = count_parameters(model)
    assert total == 1_625_994
    message = failure(GradingFailure, check_parameters, model, spec, 1_000_000)
    assert_parts(message, ["Fewer than 1,000,000 parameters required; yours has 1,625,994",
                           "the largest layers are `Linear(12544, 128)` with 1,605,760, "
                           "`Conv2d(32, 64, kernel_size=3, padding=1)` with 18,496 and "
                           "`Linear(128, 10)` with 1,290", "pooling"])
    failure(GradingFailure, check_parameters, model, spec, total)  # "fewer than" is strict
    check_parameters(model, spec, total + 1)


def test_check_required_layers():
    check_required_layers(describe_model(cnn()), ["Dropout", "BatchNorm2d"])
    message = failure(GradingFailure, check_required_layers, describe_model(cnn(batchnorm=False)),
                      ["Dropout", "BatchNorm2d"])
    assert message == "At least one `BatchNorm2d` layer is required; your model has none."
    bare = describe_model(cnn(batchnorm=False, dropout=False))
    message = failure(GradingFailure, check_required_layers, bare, ["Dropout", "BatchNorm2d"])
    assert_parts(message, ["At least one `Dropout` layer is required",
                           "At least one `BatchNorm2d` layer is required"])


# --- output shape ---------------------------------------------------------------------


def _output_failure(*layers: nn.Module, **kwargs) -> str:
    model = rebuild(describe_model(nn.Sequential(*layers)), WHITELIST)
    return failure(GradingFailure, check_output_shape, model, **kwargs)


@pytest.mark.parametrize("last", [nn.Softmax(dim=0), nn.LogSoftmax(dim=0), nn.Softmax(dim=-2)])
def test_a_softmax_over_the_batch_is_caught_though_the_shape_is_right(last):
    """The audit's survivor: `Softmax(dim=0)` gives (N, 10), normalised across the batch."""
    message = _output_failure(nn.Flatten(), nn.Linear(784, 10), last)
    assert "normalises over the batch" in message and "(dim=1)" in message


@pytest.mark.parametrize("last", [nn.Softmax(dim=1), nn.Softmax(dim=-1), nn.LogSoftmax(dim=1),
                                  nn.Linear(10, 10)])
def test_a_softmax_over_each_example_is_right(last):
    model = rebuild(describe_model(nn.Sequential(nn.Flatten(), nn.Linear(784, 10), last)),
                    WHITELIST)
    check_output_shape(model)


def test_output_shape_passes_and_leaves_the_model_as_it_was():
    model = rebuild(describe_model(cnn()), CNN_LAYERS)
    model.train()
    before = [b.clone() for b in model.buffers()]
    check_output_shape(model)
    assert model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True))
    model.eval()
    check_output_shape(model)
    assert not model.training


def test_output_shape_names_where_the_shapes_stop_matching():
    message = _output_failure(nn.Conv2d(1, 8, 3, padding=1), nn.Flatten(), nn.Linear(784, 128),
                              nn.ReLU(), nn.Linear(128, 10))
    assert_parts(message, ["layer 3 `Linear(784, 128)` received a tensor of shape (2, 6272)",
                           "after the convolutions and Flatten there are 6272 features, not 784",
                           "use `Linear(6272, 128)`", "PyTorch:"])


@pytest.mark.parametrize(("layers", "parts"), [
    ((nn.Linear(784, 10),),
     ["layer 1 `Linear(784, 10)` received a tensor of shape (2, 1, 28, 28)",
      "add `nn.Flatten()` before it"]),
    ((nn.Flatten(), nn.Conv2d(1, 8, 3)),
     ["layer 2 `Conv2d(1, 8, kernel_size=3)` received a tensor of shape (2, 784)",
      "needs a 4-dimensional input", "put it before `Flatten`"]),
    ((nn.Conv2d(1, 8, 3), nn.BatchNorm2d(16)),
     ["layer 2 `BatchNorm2d(16)` received a tensor of shape (2, 8, 26, 26)",
      "it expects 16 channels but the tensor has 8: use `BatchNorm2d(8)`"]),
    ((nn.Conv2d(1, 8, 3), nn.Conv2d(4, 8, 3)),
     ["it expects 4 channels but the tensor has 8: use `Conv2d(8, 8, kernel_size=3)`"]),
    ((nn.Conv2d(1, 8, 15), nn.Conv2d(8, 8, 15)),
     ["layer 2 `Conv2d(8, 8, kernel_size=15)` received a tensor of shape (2, 8, 14, 14)",
      "the image is only 14×14 here"]),
    ((nn.Flatten(), nn.BatchNorm1d(100)),
     ["it expects 100 features but the tensor has 784: use `BatchNorm1d(784)`"]),
], ids=["no-flatten", "conv-after-flatten", "batchnorm-channels", "conv-channels",
        "image-too-small", "batchnorm1d-features"])
def test_output_shape_explains_common_mismatches(layers, parts):
    assert_parts(_output_failure(*layers), parts)


def test_output_with_the_wrong_number_of_classes():
    message = _output_failure(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 5),
                              nn.Softmax(dim=1))
    assert_parts(message, ["the model outputs shape (2, 5); it must be (2, 10)",
                           "your last `Linear` layer, `Linear(128, 5)`, must have "
                           "out_features=10"])


@pytest.mark.parametrize(("layers", "parts"), [
    ((nn.Conv2d(1, 10, 14, stride=14),), ["outputs shape (2, 10, 2, 2)",
                                         "still has shape (10, 2, 2)"]),
    ((nn.Flatten(start_dim=0), nn.Linear(1568, 10)), ["outputs shape (10,)",
                                                       "batch dimension is gone"]),
])
def test_output_of_the_wrong_rank(layers, parts):
    assert_parts(_output_failure(*layers), parts)


def test_other_input_shapes_and_class_counts():
    model = rebuild(describe_model(nn.Sequential(nn.Flatten(), nn.Linear(12, 3))), WHITELIST)
    check_output_shape(model, input_shape=(3, 2, 2), n_classes=3)
    assert "must be (2, 4)" in failure(GradingFailure, check_output_shape, model,
                                       input_shape=(3, 2, 2), n_classes=4)


@pytest.mark.gpu
def test_output_shape_runs_on_the_model_device():
    model = rebuild(describe_model(cnn()), CNN_LAYERS).cuda()
    check_output_shape(model)
    spec = describe_model(nn.Sequential(nn.Flatten(), nn.Linear(100, 10)))
    wrong = rebuild(spec, WHITELIST).cuda()
    assert "received a tensor of shape (2, 784)" in failure(GradingFailure, check_output_shape,
                                                             wrong)


def test_huge_intermediate_tensors_are_refused_before_allocation():
    message = _output_failure(nn.Conv2d(1, 20_000, 15, padding=15))
    assert_parts(message, ["Layer 1 `Conv2d(1, 20000, kernel_size=15, padding=15)` produces a "
                           "tensor of shape (2, 20000, 44, 44)", "77,440,000 values"])


# --- properties -----------------------------------------------------------------------


def _value(arg: Arg) -> st.SearchStrategy:
    """Valid values for one whitelisted argument, kept small so models stay cheap."""
    if arg.kind == "bool":
        values = st.booleans()
    elif arg.kind == "int":
        values = st.integers(int(arg.low), int(min(arg.high, 8)))
    elif arg.kind == "float":
        values = st.floats(arg.low, arg.high, allow_nan=False) | st.integers(0, int(arg.high))
    elif arg.kind == "size":
        small = st.integers(int(arg.low), int(min(arg.high, 4)))
        values = small | st.tuples(small, small).map(list) | st.sampled_from(arg.choices or [1])
    else:
        values = st.sampled_from(arg.choices)
    return values | st.none() if arg.nullable else values


@st.composite
def layer_entries(draw: st.DrawFn) -> dict:
    layer_type = WHITELIST[draw(st.sampled_from(sorted(WHITELIST)))]
    args = {}
    for arg in layer_type.args:
        if arg.required or draw(st.booleans()):
            args[arg.name] = draw(_value(arg))
    return {"type": layer_type.name, "args": args}


@settings(max_examples=150, deadline=None)
@given(st.lists(layer_entries(), min_size=1, max_size=6))
def test_valid_descriptions_rebuild_or_are_refused_and_round_trip(spec):
    try:
        model = rebuild(spec, WHITELIST)
    except ModelSpecError as exc:
        assert "PyTorch refuses this layer" in str(exc)  # e.g. groups not dividing channels
        return
    back = describe_model(model)
    clean = validate_spec(spec, WHITELIST)
    assert [format_layer(e) for e in back] == [format_layer(e) for e in clean]
    assert str(rebuild(back, WHITELIST)) == str(model)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(sorted(WHITELIST) + ["in_features", "p", "type", "args"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "args", "in_features", "out_features", "p", "dim"]) | st.text(),
        inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_json | st.lists(st.fixed_dictionaries({"type": st.sampled_from(sorted(WHITELIST)),
                                               "args": st.dictionaries(st.text(), _json)})))
def test_arbitrary_data_is_refused_with_a_message_never_a_crash(spec):
    try:
        rebuild(spec, WHITELIST)
    except ModelSpecError as exc:
        assert exc.message and len(exc.message) < 2000
