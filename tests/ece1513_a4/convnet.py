"""Problem 2's convnet as data: its stax layer list, optimizer and training settings, and
the data setting its training ran on, all read from the worker and validated here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.testing import described, fail, validated

from .common import SETTINGS, problem1, problem2, problem2_start

TRAIN_IMAGES = 60_000
OPTIMIZER_NAMES = ("opt_update", "opt_init", "get_params")


@dataclass(frozen=True)
class Convnet:
    spec: list[dict]
    shapes: list[tuple]
    optimizer: dict
    batch_size: int
    num_epochs: int
    create_outliers: bool
    outliers_where: str  # the call that set create_outliers, for feedback

    def steps(self, images: int = TRAIN_IMAGES) -> int:
        return (images // self.batch_size) * self.num_epochs


def stax_model(student: Any) -> tuple[list[dict], list[tuple]]:
    """The layer list of Problem 2's ``predict`` (``stax.serial``), checked for the grader's
    whitelist and for 10 outputs; the output shape after each layer."""
    from grader.testing import check_stax_spec

    p2 = problem2(student)
    name = SETTINGS["convnet"]["model"]
    if not p2.has(name):
        fail(f"Problem 2 defines no `{name}`: the notebook's "
             f"`init_random_params, {name} = stax.serial(...)`. {problem2_start(student)}.")
    init = SETTINGS["convnet"]["init"]
    if not p2.has(init):
        fail(f"Problem 2 defines no `{init}`: keep the notebook's "
             f"`{init}, {name} = stax.serial(...)`. {problem2_start(student)}.")
    if _inherited(student, p2, name):
        fail(_model_not_run(student, p2, name))
    spec = described(student, "describe_stax", p2.handle(name), p2.handle(init),
                     what=f"Problem 2's `{name}` ({problem2_start(student)}) is not a "
                          "`stax.serial(...)` model",
                     doing=f"reading the layers of Problem 2's `{name}`")
    shapes = validated(spec, lambda layers: check_stax_spec(layers, (28, 28, 1)))
    if tuple(shapes[-1]) != (10,):
        fail(f"Your convnet ends with output shape {tuple(shapes[-1])} per image; it must "
             "end with 10 scores, one per class (the last `stax.Dense` must be "
             "`stax.Dense(10)`).")
    return spec, shapes


def _inherited(student: Any, p2: Any, name: str) -> bool:
    """Whether Problem 2's ``name`` is still Problem 1's (Problem 2 never rebound it)."""
    p1 = problem1(student)
    return p1.has(name) and p1.handle(name)._handle.id == p2.handle(name)._handle.id


def _model_not_run(student: Any, p2: Any, name: str) -> str:
    """Why Problem 2 has no model of its own: usually its ``stax.serial(...)`` assignment
    calls a function of the notebook, so definitions-only loading could not run it."""
    calls = student.engine("top_level_calls", p2, "serial", doing="finding `stax.serial`")
    text = (f"Problem 2 never defines its own `{name}`: the grader still sees Problem 1's "
            f"MLP `{name}` ({problem2_start(student)}).")
    if not calls:
        return text + f" Define `init_random_params, {name} = stax.serial(...)` in Problem 2."
    last = calls[-1]
    foreign = [a["expr"] for a in last["args"]
               if isinstance(a, dict) and "(" in a.get("expr", "")
               and not a["expr"].startswith("stax.")]
    text += (f" Your `stax.serial(...)` at {last['where']} was not run when the grader "
             "loaded your file: it runs definitions only, and a top-level statement may "
             "call nothing but `stax` and `optimizers`.")
    if foreign:
        text += (" It calls " + ", ".join(f"`{f}`" for f in foreign[:3])
                 + ", a function of your notebook: build the model from `stax` layers only "
                   "(the grader can rebuild only those).")
    return text


def _integer(p2: Any, name: str, low: int, high: int) -> int:
    if not p2.has(name):
        fail(f"Problem 2 uses `{name}`, which your notebook does not define.")
    value = getattr(p2, name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        fail(f"Problem 2's `{name}` must be a whole number from {low} to {high}, "
             f"not `{value!r}`.")
    return value


def _optimizer(student: Any, p2: Any, steps: int) -> dict:
    from grader.testing import optimizer_factory

    names = [n for n in OPTIMIZER_NAMES if p2.has(n)]
    if not names:
        fail("Problem 2 defines no optimizer: the notebook's "
             "`opt_init, opt_update, get_params = optimizers.momentum(learning_rate, 0.9)`.")
    spec = described(student, "describe_jax_optimizer", p2.handle(names[0]), steps,
                     what=f"`{names[0]}` does not come from `jax.example_libraries.optimizers`",
                     doing=f"reading the optimizer behind `{names[0]}`")
    validated(spec, lambda raw: optimizer_factory(raw, steps))
    return spec


def _outliers(student: Any, p2: Any) -> tuple[bool, str]:
    """Whether the data Problem 2 trains on had ``create_outliers`` on: the last top-level
    ``mnist(...)`` call of the file decides, as it did in the student's own run."""
    found = student.engine("top_level_calls", p2, "mnist",
                           doing="finding the `mnist(...)` calls")
    if not found:
        return False, "no `mnist(...)` call found: clean data, as `mnist()` loads by default"
    last = found[-1]
    value = last["kwargs"].get("create_outliers", last["args"][0] if last["args"] else None)
    how = f"`mnist(...)` at {last['where']}"
    if value is None and p2.has("mnist"):
        signature = student.engine("describe_signature", p2.handle("mnist"))
        default = [p for p in signature if p["name"] == "create_outliers"]
        value = default[0].get("value", False) if default else False
        how += " (the default of your `mnist`)"
    if not isinstance(value, bool):
        return False, f"{how} passes `create_outliers` as an expression; taken as False"
    return value, how


def convnet(student: Any) -> Convnet:
    """Everything Problem 2's training needs, validated; fails with the student's fix."""
    spec, shapes = stax_model(student)
    p2 = problem2(student)
    batch_size = _integer(p2, "batch_size", 1, 4096)
    num_epochs = _integer(p2, "num_epochs", 1, SETTINGS["convnet"]["max_epochs"])
    steps = (TRAIN_IMAGES // batch_size) * num_epochs
    optimizer = _optimizer(student, p2, steps)
    outliers, where = _outliers(student, p2)
    return Convnet(spec, shapes, optimizer, batch_size, num_epochs, outliers, where)
