"""The report's answers as the grader reads them: whole numbers, lists, the sweep's table."""

from __future__ import annotations

import math
from typing import Any

from grader.testing import MissingAttribute, fail

from .common import SETTINGS


def declared(student: Any, key: str, what: str) -> Any:
    """The value of the report variable named in ``pack.toml`` (``[settings.answers]`` and
    friends), or a failure that names the variable to define."""
    try:
        return getattr(student, key)
    except MissingAttribute:
        fail(f"Your file defines no `{key}` ({what}): fill it in in the block "
             "\"Your report's answers\" at the end of the template.")


def whole(value: Any, name: str) -> int:
    """A whole number (``3`` or ``3.0``), not a bool or a string."""
    if value is None:
        fail(f"`{name}` is not filled in yet (it is `None`).")
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and (not math.isfinite(value) or value != int(value))):
        fail(f"`{name}` must be a whole number, not `{value!r:.60}`.")
    return int(value)


def whole_list(value: Any, name: str) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        fail(f"`{name}` must be a list of whole numbers, not `{value!r:.60}`.")
    return [whole(v, f"{name}[{i}]") for i, v in enumerate(value)]


def sweep_results(student: Any) -> dict[float, tuple[float, float]]:
    """``SWEEP_RESULTS``: factor -> (mean, std) of the final validation accuracy, checked:
    5 distinct factors in the handout's range, fractions in [0, 1], a non-negative std."""
    wd = SETTINGS["weight_decay"]
    name = wd["results"]
    raw = declared(student, name, "2.4's factors and your mean ± std final validation "
                                  "accuracy for each")
    if raw is None:
        fail(f"`{name}` is not filled in yet (it is `None`): give `{{factor: (mean, std), "
             "...}` for your 5 factors.")
    if not isinstance(raw, dict):
        fail(f"`{name}` must be a dict `{{factor: (mean, std), ...}}`, not "
             f"`{type(raw).__name__}`.")
    low, high = wd["factor_range"]
    out: dict[float, tuple[float, float]] = {}
    for factor, value in raw.items():
        if isinstance(factor, bool) or not isinstance(factor, int | float) \
                or not math.isfinite(factor):
            fail(f"`{name}`: the key `{factor!r:.40}` must be a regularization factor "
                 "(a number).")
        if not low * (1 - 1e-9) <= factor <= high * (1 + 1e-9):
            fail(f"`{name}`: factor {factor:g} is outside the handout's range "
                 f"[{low:g}, {high:g}].")
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           and math.isfinite(v) for v in value)):
            fail(f"`{name}[{factor:g}]` must be `(mean, std)`, two numbers, not "
                 f"`{value!r:.60}`.")
        mean, std = float(value[0]), float(value[1])
        if mean > 1.0 or std > 1.0:
            fail(f"`{name}[{factor:g}]` = ({mean:g}, {std:g}): give accuracies as fractions, "
                 f"as Keras reports them, not percentages: ({mean / 100:g}, {std / 100:g}).")
        if not 0.0 <= mean <= 1.0 or std < 0.0:
            fail(f"`{name}[{factor:g}]` = ({mean:g}, {std:g}): the mean must be in [0, 1] "
                 "and the standard deviation at least 0.")
        out[float(factor)] = (mean, std)
    if len(out) != wd["factors"]:
        fail(f"`{name}` has {len(out)} factor(s); the handout asks for {wd['factors']} "
             f"factors from {low:g} to {high:g}.")
    return dict(sorted(out.items()))


def training_dict(student: Any, key: str, *, fixed_epochs: int | None = None,
                  max_epochs: int = 50) -> tuple[int, int]:
    """``{"epochs": E, "batch_size": B}`` from the report block, validated."""
    raw = declared(student, key, "the epochs and batch size you trained with")
    if not isinstance(raw, dict) or set(raw) - {"epochs", "batch_size"}:
        fail(f"`{key}` must be a dict with keys `epochs` and `batch_size` only, not "
             f"`{raw!r:.80}`.")
    epochs = whole(raw.get("epochs", fixed_epochs), f"{key}['epochs']")
    batch = whole(raw.get("batch_size", 128), f"{key}['batch_size']")
    if fixed_epochs is not None and epochs != fixed_epochs:
        fail(f"`{key}['epochs']` is {epochs}; the handout says to train for {fixed_epochs}.")
    if not 1 <= epochs <= max_epochs or not 1 <= batch <= 4096:
        fail(f"`{key}`: epochs must be from 1 to {max_epochs} and the batch size from 1 to "
             f"4096, not {epochs} and {batch}.")
    return epochs, batch
