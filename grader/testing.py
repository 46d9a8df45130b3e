"""The one module a pack's tests import: everything a grading test needs, by concern.

Packs are written against this page, not against the engine's internals, which may move.
Each name is imported from its home only when a pack first asks for it (a numpy pack never
pays for importing PyTorch), so this list is the whole public surface and its only copy.

Beyond the engine's own names it gives the two steps every model-grading pack repeats:

- :func:`described`: ask the worker for a description of the student's object, validate it
  here (:func:`validated`), and turn a refusal (in the worker) or a spec error (here) into a
  graded failure;
- :func:`first_passing`: the handout's "best of up to N seeded runs" rule, with
  :func:`run_lines` for its feedback.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import types
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from grader.feedback import MarkdownError, fail

T = TypeVar("T")

# name -> the module it lives in; grouped as a pack author looks for them
_EXPORTS: dict[str, str] = {
    # failing a test with a message for the student
    **dict.fromkeys(("fail", "expect", "GradingFailure", "MarkdownError", "describe_value",
                     "format_number", "show_array", "code", "plain"), "grader.feedback"),
    # the student's code, in its worker
    **dict.fromkeys(("SubmissionError", "MissingAttribute"), "grader.worker.client"),
    # arrays, gradients, statistics, hints
    **dict.fromkeys(("as_array", "assert_allclose", "assert_scalar_close", "pattern_hint",
                     "without_hint", "fixed_rate", "fixed_rate_message", "implied_rate",
                     "central_difference", "sample_indices", "gradient_mismatch",
                     "check_normal", "check_uniform", "Substance", "require_substance",
                     "assert_consistent", "judge_apart", "twin_functions",
                     "plain_functions"), "grader.checks"),
    # models described by the worker, rebuilt and checked here
    **dict.fromkeys(("rebuild", "check_fidelity", "ModelSpecError", "format_layer"),
                    "grader.models.rebuild"),
    "WHITELIST": "grader.sandboxed.models.layers",
    **dict.fromkeys(("check_allowed_layers", "check_computes", "check_hidden_layers",
                     "check_hidden_units", "check_output_shape", "check_parameters",
                     "check_required_layers", "count_parameters"),
                    "grader.models.constraints"),
    **dict.fromkeys(("KerasModel", "KerasSpecError", "Rebuilt", "check_keras_spec",
                     "rebuild_keras", "load_keras_weights", "fidelity_gap", "layer_lines"),
                    "grader.models.keras_rebuild"),
    **dict.fromkeys(("as_torch", "keras_terms"), "grader.models.keras_as_torch"),
    **dict.fromkeys(("StaxSpecError", "check_stax_spec", "rebuild_stax", "load_stax_params",
                     "layer_sequence"), "grader.models.stax"),
    # training on the trusted side
    **dict.fromkeys(("MnistTensors", "TrainResult", "TrainSettings", "SettingsError",
                     "load_mnist_tensors", "parse_settings", "train_and_evaluate"),
                    "grader.train"),
    "Runs": "grader.train.runs",
    **dict.fromkeys(("supports", "train_replicas"), "grader.train.replicas"),
    **dict.fromkeys(("CompileError", "KerasCompile", "parse_compile"),
                    "grader.train.keras_compile"),
    **dict.fromkeys(("OptimizerSpecError", "describe_optimizer", "optimizer_factory"),
                    "grader.train.jax_optimizers"),
    # data
    **dict.fromkeys(("DatasetError", "load_split", "one_hot"), "grader.data"),
    # the pack itself
    **dict.fromkeys(("Pack", "load_pack"), "grader.packs"),
}
# whole modules a pack uses as a namespace of rules (``regimes.slow(...)``)
_MODULES: dict[str, str] = {"regimes": "grader.train.regimes"}

__all__ = sorted([*_EXPORTS, *_MODULES, "described", "first_passing", "pack_of",
                  "reference_module", "run_lines", "validated"])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"grader.testing has no {name!r}; see its __all__")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def pack_of(test_file: str | Path) -> Any:
    """The pack whose tests folder holds ``test_file`` (``pack_of(__file__)``): a pack never
    names itself, so it can be copied and renamed."""
    from grader.packs import load_pack

    folder = Path(test_file).resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pack.toml").is_file():
            return load_pack(candidate.name)
    raise LookupError(f"{test_file} is not inside a pack (no pack.toml above it)")


def reference_module(pack: Any) -> types.ModuleType:
    """The pack's reference solution as a module, imported here, on the trusted side only (the
    worker never sees it): what a test compares the student's answers with."""
    return _imported(pack.name, pack.reference_dir / pack.submission_name)


@functools.cache
def _imported(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"reference_{name}", path)
    if spec is None or spec.loader is None:
        raise LookupError(f"{path}: no reference solution to import")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def described(student: Any, call: str, *args: Any, what: str,
              validate: Callable[[Any], T] | None = None, doing: str = "",
              **kwargs: Any) -> Any:
    """Apply the worker's engine function ``call`` (``describe_model``...) to student objects
    and validate its answer here with ``validate`` (which raises a ``MarkdownError``).

    A refusal in the worker (not a model the grader can read) and a refusal here (a layer or
    setting out of bounds) both fail the test with ``what`` ("`build_model_2c()`") first;
    anything else the student's code raised propagates as usual."""
    from grader.worker.client import SubmissionError

    try:
        raw = student.engine(call, *args, doing=doing or f"reading {what}", **kwargs)
    except SubmissionError as exc:
        if exc.kind == "refused":
            fail(f"{what}: {exc.message}" if what else exc.message)
        raise
    return raw if validate is None else validated(raw, validate, what=what)


def validated(raw: Any, validate: Callable[[Any], T], *, what: str = "") -> T:
    """``validate(raw)`` (data from the worker: a layer list, a settings dict); its refusal, a
    ``MarkdownError``, fails the test with ``what`` first."""
    try:
        return validate(raw)
    except MarkdownError as exc:
        fail(f"{what}: {exc.message}" if what else exc.message)


def first_passing(seeds: Iterable[int], run_one: Callable[[int], T],
                  passes: Callable[[T], bool]) -> tuple[bool, list[T]]:
    """Run ``run_one(seed)`` seed by seed until one run ``passes`` ("the best test accuracy in
    at least one of up to 3 seeded runs"): (whether one did, every run made)."""
    results: list[T] = []
    for seed in seeds:
        results.append(run_one(seed))
        if passes(results[-1]):
            return True, results
    return False, results


def run_lines(results: Sequence[Any], measure: str | None = None) -> list[str]:
    """Markdown for training runs (``TrainResult``): one line per run (its seed, best
    ``measure``, why it stopped, its curve), then where and how the grader trained."""
    lines = []
    for i, r in enumerate(results, 1):
        curve = ", ".join(f"{a:.2%}" for a in r.test_accuracy)
        note = r.stop_note(measure) if measure else r.stop_note()
        stopped = f" ({note})" if r.stopped_early else ""
        lines.append(f"- run {i} (seed {r.determinism.get('seed', '?')}): best "
                     f"**{r.best_accuracy:.2%}**{stopped}; per epoch: {curve}")
    if results:
        last = results[-1]
        lines += ["", f"Trained by the grader on {last.device} ({last.mode}"
                  + (f"; {last.note}" if last.note else "") + f"), {last.seconds:.1f} s per run."]
    return lines
