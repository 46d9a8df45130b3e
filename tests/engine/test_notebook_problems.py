"""A course notebook's problems read as the template's builders: headings in the handout's
numbering, the model a section trains, and the settings found there (no code runs)."""

from __future__ import annotations

import ast

import pytest

from grader.sandboxed.submission.definitions import prepare
from grader.sandboxed.submission.notebook_problems import (
    derive_problems,
    find_problem_headings,
    parse_notebook_rules,
)
from grader.sandboxed.submission.source import Source

RULES = parse_notebook_rules({
    "model_calls": ["torch.nn.Sequential", "keras.models.Sequential",
                    "tensorflow.keras.models.Sequential"],
    "problems": {"2C": ["build_model_2c", "TRAINING_2C"], "2D": ["build_model_2d", "TRAINING_2D"],
                 "3G": ["build_model_3g", "TRAINING_3G"]}})
IMPORTS = "import torch\nimport torch.nn as nn\n"


def derived(text: str, markdown: list[tuple[int, str]] | None = None):
    source = Source(text, "nb.py", markdown=markdown or [])
    prepared = prepare(source)
    result = derive_problems(prepared.parsed, prepared.statements, text.splitlines(),
                             source.markdown, prepared.module_aliases, RULES, source.where)
    namespace: dict = {}
    exec(compile(ast.Module(body=[*prepared.statements, *result.statements], type_ignores=[]),
                 "nb.py", "exec"), namespace)
    return result, namespace


def labels(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    found = find_problem_headings(text.splitlines(), ast.parse(text).body)
    return [f"{h.major or ''}{(h.part or '').upper()}" for h in found]


@pytest.mark.parametrize("heading", [
    "# ## Problem 2C", "# 2C", "# Problem 2, part C", "# 2(c) Modeling", "# Q2c", "# 2.C",
    '"""## Problem 2 - C: Modeling Part 1"""', "# problem 2 part (c)"])
def test_a_heading_naming_the_part_and_its_problem(heading):
    assert labels([heading]) == ["2C"]


@pytest.mark.parametrize("lines", [
    ["# Problem 2", "x = 1", "# (c)"], ['"""# 2 Depth vs Width"""', '"""### Problem C"""'],
    ["# Problem 2: Depth vs Width", "# **Part C**"]])
def test_a_part_under_its_problem(lines):
    assert labels(lines)[-1] == "C" and labels(lines)[0] == "2"


@pytest.mark.parametrize("line", [
    "# 10 epochs of training", "# Part of the model", "# 2 hidden layers", "x = [\n    3e-4]",
    "# see problem 2 below"])
def test_prose_and_code_that_name_no_part(line):
    assert all(not label.endswith(tuple("ABCDEFGH")) for label in labels(["y = 0", line]))


NOTEBOOK = IMPORTS + '''
train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000)
hidden = 100

"""## Problem C: at most 100 hidden units"""
layers = [nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)]
model = nn.Sequential(*layers).to(device)
optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9)
for epoch in range(1, 13):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

"""## Problem D"""
hidden = 150
model = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 40),
                      nn.ReLU(), nn.Linear(40, 10))
'''


def test_each_section_builds_its_model_with_the_values_it_had_then():
    result, namespace = derived(NOTEBOOK)
    c, d = namespace["build_model_2c"](), namespace["build_model_2d"]()
    assert c[1].out_features == 100 and d[1].out_features == 150  # `hidden` as it was there
    assert namespace["build_model_2c"]() is not c  # a fresh model each call
    assert namespace["TRAINING_2C"] == {"optimizer": "SGD", "lr": 0.05,
                                        "optimizer_kwargs": {"momentum": 0.9}, "epochs": 12,
                                        "batch_size": 64}  # the training loader's, not test's
    # 2D has no optimizer or loop of its own: the code before it is read, and it says where
    assert namespace["TRAINING_2D"]["optimizer"] == "SGD"
    note_c = next(n for n in result.notes if n.startswith("Problem 2C"))
    assert "built at nb.py, line 10" in note_c and "epochs 12 from nb.py, line 12" in note_c
    assert any("3G" in n and "build_model_3g" in n for n in result.notes)  # none found: said


def test_the_template_contract_wins():
    text = NOTEBOOK + ("\ndef build_model_2c():\n"
                       "    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n")
    result, namespace = derived(text)
    assert namespace["build_model_2c"]()[1].out_features == 10
    assert "TRAINING_2C" not in namespace
    assert not any(n.startswith("Problem 2C") for n in result.notes)


def test_keras_sequential_grown_by_add_with_compile_and_fit_settings():
    text = ("from tensorflow.keras.models import Sequential\n"
            "from tensorflow.keras.layers import Dense, Flatten\n\n"
            '"""# Problem 2C"""\n'
            "model = Sequential()\nmodel.add(Flatten(input_shape=(28, 28)))\n"
            "model.add(Dense(100, activation='relu'))\nmodel.add(Dense(10, activation='softmax'))\n"
            "model.compile(loss='categorical_crossentropy', optimizer='rmsprop')\n"
            "model.fit(x_train, y_train, batch_size=32, epochs=10, validation_split=0.1)\n")
    source = Source(text, "nb.py")
    prepared = prepare(source)
    result = derive_problems(prepared.parsed, prepared.statements, text.splitlines(), [],
                             prepared.module_aliases, RULES, source.where)
    builder, training = result.statements[:2]
    assert [ast.unparse(s) for s in builder.body][1:4] == [
        "model.add(Flatten(input_shape=(28, 28)))", "model.add(Dense(100, activation='relu'))",
        "model.add(Dense(10, activation='softmax'))"]
    assert ast.literal_eval(training.value) == {"optimizer": "RMSprop", "lr": 1e-3,
                                               "epochs": 10, "batch_size": 32}


def test_markdown_cells_of_an_ipynb_are_where_its_headings_are():
    text = IMPORTS + "model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
    result, namespace = derived(text, markdown=[(3, "### Problem 3, part G")])
    assert "build_model_3g" in namespace and "TRAINING_3G" in namespace
    assert "no literal optimizer or epochs or batch size" in result.notes[0]


def test_models_under_no_heading_are_pointed_at():
    text = IMPORTS + "model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
    result, namespace = derived(text)
    assert "build_model_2c" not in namespace
    assert "nb.py, line 3" in result.notes[0] and "under no heading" in result.notes[0]


@pytest.mark.parametrize("raw", [
    {"model_calls": [], "problems": {"2C": ["b", "t"]}},
    {"model_calls": ["torch.nn.Sequential"], "problems": {"C2": ["b", "t"]}},
    {"model_calls": ["torch.nn.Sequential"], "problems": {"2C": ["b"]}},
    {"model_calls": ["torch.nn.Sequential"], "problems": {"2C": ["b", "t"]}, "extra": 1}])
def test_a_pack_with_a_bad_notebook_table_is_refused(raw):
    with pytest.raises(ValueError, match=r"\[pack.notebook\]"):
        parse_notebook_rules(raw)


def test_a_model_grown_in_a_loop_keeps_the_loop_and_not_its_variable():
    text = IMPORTS + ("n = len(train_set)\nunits = [30, 20]\n"
                      '"""## Problem 2D"""\n'
                      "model = nn.Sequential(nn.Flatten())\nprevious = 784\n"
                      "for n in units:\n    model.append(nn.Linear(previous, n))\n")
    result, _ = derived(text)
    body = [ast.unparse(s) for s in result.statements[0].body]
    assert body[0] == "units = [30, 20]" and not any(line.startswith("n =") for line in body)
    assert any(line.startswith("for n in units") for line in body)


def test_keras_default_rates_are_the_trusted_sides():
    """The worker-side copy of Keras' default rates agrees with the one training uses."""
    from grader.sandboxed.submission.notebook_problems import _KERAS_DEFAULT_LR
    from grader.train.keras_compile import OPTIMIZERS

    for name, rate in _KERAS_DEFAULT_LR.items():
        assert OPTIMIZERS[name][1]["learning_rate"][1] == rate, name
