"""The options of a grading run, each declared once.

:data:`OPTIONS` is the one table: from it the plugin adds its pytest options, the runner
builds the command line of its pytest process from a :class:`GradeOptions`, and the `grader`
command adds the flags its verbs show. :class:`GradeOptions` holds what a caller chooses:
each of its fields is carried by one entry of the table, except the runner's own budget and
progress terminal (:data:`RUNNER_FIELDS`); the entries without a field are filled in by the
runner from the run itself (the pack, the submission, the state file).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the `grader` command does not import pytest for its flags
    import pytest

GPU_MODES = ("run", "defer", "only", "auto")
LOAD_MODES = ("definitions", "all")


@dataclass(frozen=True)
class GradeOptions:
    """What a caller chooses for one grading run (:data:`OPTIONS` says how each reaches the
    pytest process)."""

    public_only: bool = False
    fast: bool = False
    load_mode: str | None = None
    overall_timeout_s: float | None = None
    landlock: bool = True
    gpu_tests: str = "run"  # run | defer | only | auto (see the plugin's --gpu-tests)
    train_on_cpu: bool = False  # grader check --train: the gpu tests, trained on the CPU
    select: str | None = None   # a pytest -k expression (grader check --train PROBLEM)
    progress_fd: int | None = None  # a terminal for training progress bars (train.progress)


# the fields the runner itself acts on: no pytest option carries them
RUNNER_FIELDS = ("overall_timeout_s", "progress_fd")


@dataclass(frozen=True)
class CliForm:
    """How one verb of the `grader` command shows an option: the help text (``""``: the
    pytest option's, None: the flag alone), and its own default where it differs."""

    verb: str
    help: str | None = ""
    default: str | None = None


@dataclass(frozen=True)
class Option:
    """One option of a grading run, as pytest, the runner and the `grader` command see it."""

    flag: str  # the pytest flag
    help: str  # what `pytest --help` says
    field: str | None = None  # the GradeOptions field it carries; None: the runner's run value
    switch: bool = False  # a flag without a value
    inverted: bool = False  # a switch given when its field is False (--no-landlock)
    choices: tuple[str, ...] | None = None
    default: str | None = None
    pytest_dest: str | None = None  # set for pytest's own options, which the plugin leaves
    cli: tuple[CliForm, ...] = ()  # the verbs of the `grader` command that show it

    @property
    def dest(self) -> str:
        """The name pytest (and argparse) keep its value under."""
        return self.pytest_dest or self.flag.lstrip("-").replace("-", "_")

    def pytest_args(self, value: Any) -> list[str]:
        """The arguments that give pytest ``value`` (none for an unset value or a default
        switch)."""
        if self.switch:
            return [self.flag] if bool(value) != self.inverted else []
        return [] if value is None or value == "" else [self.flag, str(value)]

    def parser_kwargs(self, help_text: str | None, default: str | None) -> dict[str, Any]:
        """``add_argument`` keywords, for pytest's parser and argparse alike."""
        kwargs: dict[str, Any] = {"help": help_text}
        if self.switch:
            kwargs["action"] = "store_true"
        if self.choices:
            kwargs["choices"] = self.choices
        if default is not None:
            kwargs["default"] = default
        return kwargs

    def form(self, verb: str) -> CliForm | None:
        """How ``verb`` shows this option (None: it does not)."""
        return next((f for f in self.cli if f.verb == verb), None)


OPTIONS: tuple[Option, ...] = (
    Option("--submission", "the student's file, notebook, folder or zip"),
    Option("--assignment", "the assignment pack (default: from the test path)"),
    Option("--public-only", "run only visible tests", field="public_only", switch=True,
           cli=(CliForm("grade", "only the tests students see"),)),
    Option("--fast", "leave out slow and gpu tests", field="fast", switch=True,
           cli=(CliForm("grade"), CliForm("batch"))),
    Option("--load-mode", "load only definitions (default) or run all top-level code",
           field="load_mode", choices=LOAD_MODES, cli=(CliForm("grade"),)),
    Option("--gpu-tests", "the tests graded later (marked gpu, or with a --later-marks mark): "
                          "run them (gpu ones skip without CUDA), defer them to a later batch, "
                          "run only them, or auto: defer them when there is no CUDA GPU",
           field="gpu_tests", choices=GPU_MODES, default="run",
           cli=(CliForm("grade", "the tests graded later (gpu, or deferred by the pack): run "
                                 "(default), defer, only, or auto (defer without a CUDA GPU)"),
                CliForm("gradescope", None, default="auto"))),
    Option("--later-marks", "comma-separated marks of the tests graded later (default: gpu)",
           default="gpu"),
    Option("--train-on-cpu", "run the gpu tests' training on the CPU (grader check --train: "
                             "an estimate of the GPU run)", field="train_on_cpu", switch=True),
    Option("--grader-state", "(internal) where to record outcomes"),
    Option("--no-landlock", "(debug) no file-system sandbox", field="landlock", switch=True,
           inverted=True),
    Option("-k", "pytest's own: the tests whose names match an expression", field="select",
           pytest_dest="keyword"),
)


def add_pytest_options(group: pytest.OptionGroup) -> None:
    """The plugin's options, on pytest's option group (pytest's own are left to it)."""
    for option in OPTIONS:
        if option.pytest_dest is None:
            group.addoption(option.flag, **option.parser_kwargs(option.help, option.default))


def pytest_args(options: GradeOptions, run: Mapping[str, object]) -> list[str]:
    """The pytest arguments that carry ``options``, and ``run``'s values (dest -> value) for
    the options without a field."""
    args: list[str] = []
    for option in OPTIONS:
        value = getattr(options, option.field) if option.field else run[option.dest]
        args += option.pytest_args(value)
    return args


def add_cli_options(parser: argparse.ArgumentParser, verb: str, *fields: str) -> None:
    """The flags ``verb`` shows, in the table's order (only those of ``fields`` if given:
    a verb's own arguments may stand between them)."""
    for option in OPTIONS:
        form = option.form(verb)
        if form is not None and (not fields or option.field in fields):
            parser.add_argument(option.flag, **option.parser_kwargs(
                option.help if form.help == "" else form.help,
                option.default if form.default is None else form.default))


def cli_values(args: argparse.Namespace, verb: str) -> dict[str, Any]:
    """The GradeOptions fields of the flags ``verb`` shows, from its parsed arguments."""
    values = {}
    for option in OPTIONS:
        if option.form(verb) is not None:
            value = getattr(args, option.dest)
            values[option.field] = not value if option.inverted else value
    return values
