"""Problems handed in as a course notebook, graded through the template's names.

A course may ask for a Colab notebook (CS155: "build a deep network using PyTorch's
Sequential class" under each problem's heading) while the pack's tests call the template's
``build_model_2c()`` and read ``TRAINING_2C``. For a pack that declares ``[pack.notebook]``,
a hand-in that does not define a problem's builder gets one derived from its notebook:

- the problem's section is found by its heading, in the handout's numbering: "2C",
  "Problem 2C", "2(c)", "Problem 2, part C", or "Problem C" / "(c)" / "Part C" under a
  "Problem 2" heading (or alone, when only one problem has that letter); it ends at the next
  problem heading;
- the model is what the section's optimizer trains (``optim.Adam(model.parameters())``),
  else the first model built there by one of the pack's ``model_calls``
  (``nn.Sequential(...)``), with the ``model.add(...)`` calls that follow it and the
  section's assignments it reads: the builder returns that model, built afresh;
- the training settings are read where they are literal: the optimizer and its rate
  (``torch.optim.X(...)`` or Keras' ``compile(optimizer=...)``), the epochs (``range(N)`` of
  the training loop, ``epochs=N``) and the batch size (``batch_size=N``), from the section
  else from the code before it; what is missing is left to the handout's defaults.

Each finding is reported with its cell and line. Nothing here runs code.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.sandboxed.submission.problem_headings import (
    Heading,
    find_problem_headings,
    problem_sections,
)
from grader.sandboxed.submission.sections import dotted_name

__all__ = ["Derived", "NotebookProblem", "NotebookRules", "derive_problems",
           "find_problem_headings", "parse_notebook_rules"]

MAX_INLINED = 20
"""Assignments a derived builder may copy from the notebook (``layers = [...]``)."""

# optimizer class names as each framework spells them -> the settings' canonical name
_OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
_TORCH_OPTIM = ("torch.optim.",)
_KERAS_OPTIM = ("keras.optimizers.", "tensorflow.keras.optimizers.", "tf.keras.optimizers.")
# Keras' default rates where they differ from PyTorch's (RMSprop: 1e-3 against 1e-2); the
# worker cannot import grader.train.keras_compile, which holds them for the trusted side:
# test_notebook_problems.py checks the two agree
_KERAS_DEFAULT_LR = {"SGD": 0.01, "Adam": 1e-3, "AdamW": 1e-3, "RMSprop": 1e-3}
_RATE_KEYWORDS = ("lr", "learning_rate")
_BUILD_METHODS = frozenset({"add", "append", "add_module", "insert", "extend"})


@dataclass(frozen=True)
class NotebookProblem:
    """One problem: its label in the handout ("2C") and the template's names for it."""

    label: str
    builder: str
    training: str

    @property
    def major(self) -> str:
        return re.match(r"\d+", self.label).group(0)  # type: ignore[union-attr]

    @property
    def part(self) -> str:
        return self.label[len(self.major):].lower()


@dataclass(frozen=True)
class NotebookRules:
    """``[pack.notebook]``: which calls build a model, and the problems to look for."""

    model_calls: tuple[str, ...]
    problems: tuple[NotebookProblem, ...]


def parse_notebook_rules(raw: object) -> NotebookRules | None:
    """Validate ``[pack.notebook]``: ``model_calls = [...]`` and
    ``problems = { "2C" = ["build_model_2c", "TRAINING_2C"], ... }``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"model_calls", "problems"}:
        raise ValueError("[pack.notebook] takes `model_calls` and `problems`")
    calls = raw.get("model_calls", [])
    if not isinstance(calls, list) or not calls or not all(isinstance(c, str) for c in calls):
        raise ValueError("[pack.notebook] model_calls must list dotted names, "
                         "e.g. [\"torch.nn.Sequential\"]")
    problems = raw.get("problems", {})
    if not isinstance(problems, Mapping) or not problems:
        raise ValueError("[pack.notebook] problems must map labels to [builder, training]")
    parsed = []
    for label, names in problems.items():
        if not re.fullmatch(r"\d+[A-Za-z]", label):
            raise ValueError(f"[pack.notebook] problem {label!r}: a label is a number and "
                             "a letter, as the handout numbers it (\"2C\")")
        if (not isinstance(names, list) or len(names) != 2
                or not all(isinstance(n, str) and n.isidentifier() for n in names)):
            raise ValueError(f"[pack.notebook] problem {label}: give [builder, training]")
        parsed.append(NotebookProblem(label.upper(), names[0], names[1]))
    return NotebookRules(tuple(calls), tuple(parsed))


# --- deriving ---------------------------------------------------------------------------


@dataclass
class Derived:
    """New statements to load, notes for the student, and the statements they came from."""

    statements: list[ast.stmt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used_lines: set[int] = field(default_factory=set)


def derive_problems(parsed: Sequence[ast.stmt], kept: Sequence[ast.stmt], lines: Sequence[str],
                    markdown: Sequence[tuple[int, str]], aliases: Mapping[str, str],
                    rules: NotebookRules, where: Callable[[int], str]) -> Derived:
    """Builders and training dicts for the problems whose builder the ``kept`` statements
    do not define (the template's contract wins), from their notebook sections."""
    derived = Derived()
    defined = _defined(kept)
    missing = [p for p in rules.problems if p.builder not in defined]
    if not missing:
        return derived
    sections = problem_sections(find_problem_headings(lines, parsed, markdown),
                                [p.label for p in rules.problems])
    for problem in missing:
        if problem.label not in sections:
            continue
        heading, end = sections[problem.label]
        body = [s for s in parsed if s.lineno >= heading.line and (end is None or s.lineno < end)]
        before = [s for s in parsed if s.lineno < heading.line]
        reader = _Reader(aliases, rules.model_calls)
        model = reader.model(body)
        if model is None:
            derived.notes.append(
                f"Problem {problem.label}: found its section {_quote(heading.text)} but no "
                f"model built there at top level (such as model = nn.Sequential(...)), so "
                f"{problem.builder} is missing.")
            continue
        statements, used = _builder(problem.builder, model, body, before)
        derived.statements.extend(statements)
        derived.used_lines.update(used)
        settings, found = reader.settings(body, before, where)
        derived.statements.append(_training(problem.training, settings, model[0]))
        derived.notes.append(_note(problem, heading, model[0], found, where))
    _unclaimed(parsed, derived, missing, rules, aliases, where)
    return derived


def _unclaimed(parsed: Sequence[ast.stmt], derived: Derived,
               missing: Sequence[NotebookProblem], rules: NotebookRules,
               aliases: Mapping[str, str], where: Callable[[int], str]) -> None:
    """Models built at top level that no problem heading claimed, while some problem is
    still missing: say where they are and what heading would claim them."""
    reader = _Reader(aliases, rules.model_calls)
    claimed = {name for s in derived.statements if isinstance(s, ast.FunctionDef)
               for name in [s.name]}
    still = [p for p in missing if p.builder not in claimed]
    models = [s for s in parsed if reader.builds_model(s) and s.lineno not in derived.used_lines]
    labels = ", ".join(f"{p.label} ({p.builder})" for p in still)
    if still and not models and claimed:
        derived.notes.append(
            f"No section for problem{'s' if len(still) > 1 else ''} {labels} was found in "
            f"this file (a heading such as “Problem {still[0].label}” above its model).")
    if still and models:
        places = ", ".join(where(s.lineno) for s in models[:6])
        derived.notes.append(
            f"Models are built at top level ({places}) under no heading the grader recognises "
            f"for problem{'s' if len(still) > 1 else ''} {labels}: put a markdown heading "
            f"such as “Problem {still[0].label}” (or “({still[0].part})” under "
            f"“Problem {still[0].major}”) above each problem's model, or define "
            f"{still[0].builder}() as the template does.")


def _quote(text: str) -> str:
    text = " ".join(text.strip(" #*_\"'").split())
    return f"“{text[:60]}”"


def _note(problem: NotebookProblem, heading: Heading, model: ast.stmt,
          found: dict[str, str], where: Callable[[int], str]) -> str:
    read = [f"{what} from {place}" for what, place in found.items()]
    assumed = [what for what in ("optimizer", "epochs", "batch size")
               if not any(k.startswith(what) for k in found)]
    text = (f"Problem {problem.label} was read from your notebook's section "
            f"{_quote(heading.text)}: the model built at {where(model.lineno)} is graded as "
            f"{problem.builder}()")
    text += ("; " + ", ".join(read)) if read else ""
    if assumed:
        text += (f"; no literal {' or '.join(assumed)} found there, so the handout's "
                 "default is used" + ("" if "optimizer" not in assumed else
                                      " (there is none for the optimizer: name one)"))
    return text + "."


class _Reader:
    """Reads models and settings from statements, resolving import aliases."""

    def __init__(self, aliases: Mapping[str, str], model_calls: Sequence[str]) -> None:
        self.aliases = aliases
        self.model_calls = tuple(model_calls)

    def dotted(self, func: ast.expr) -> str:
        return dotted_name(func, self.aliases) or ""

    # the model -------------------------------------------------------------------------
    def model(self, body: Sequence[ast.stmt]) -> tuple[ast.Assign, str] | None:
        """The assignment building the model the section trains, and its name."""
        assigned = {name: stmt for stmt in body for name in _assigned_names(stmt)}
        for stmt in body:
            for call in _calls(stmt):
                if self._optimizer_name(call) and call.args:
                    trained = _parameters_of(call.args[0])
                    if trained in assigned and self.builds_model(assigned[trained]):
                        return assigned[trained], trained
        for stmt in body:
            if isinstance(stmt, ast.Assign) and self.builds_model(stmt):
                names = _assigned_names(stmt)
                if len(names) == 1:
                    return stmt, names[0]
        return None

    def builds_model(self, stmt: ast.stmt) -> bool:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            return False
        node: ast.expr = stmt.value
        while isinstance(node, ast.Call):  # nn.Sequential(...).to(device).double()
            if self.dotted(node.func) in self.model_calls:
                return True
            if not isinstance(node.func, ast.Attribute):
                return False
            node = node.func.value
        return False

    # the settings ----------------------------------------------------------------------
    def _optimizer_name(self, call: ast.Call) -> str | None:
        dotted = self.dotted(call.func)
        for prefix in (*_TORCH_OPTIM, *_KERAS_OPTIM):
            if dotted.startswith(prefix) and "." not in dotted[len(prefix):]:
                return dotted[len(prefix):]
        return None

    def settings(self, body: Sequence[ast.stmt], before: Sequence[ast.stmt],
                 where: Callable[[int], str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The TRAINING dict's entries found (section first, then the code before it), and
        for each, where it was read."""
        settings: dict[str, Any] = {}
        found: dict[str, str] = {}
        for scope in (body, list(reversed(before))):
            env = _literals([*before, *body])
            if "optimizer" not in settings:
                self._optimizer(scope, env, settings, found, where)
            if "epochs" not in settings:
                self._keyword(scope, env, ("epochs", "n_epochs", "num_epochs"), "epochs",
                              settings, found, where) or self._epoch_loop(
                    scope, env, settings, found, where)
            if "batch_size" not in settings:
                self._keyword(_training_first(scope), env, ("batch_size",), "batch_size",
                              settings, found, where)
        return settings, found

    def _optimizer(self, scope: Sequence[ast.stmt], env: dict[str, Any],
                   settings: dict[str, Any], found: dict[str, str],
                   where: Callable[[int], str]) -> bool:
        for stmt in scope:
            for call in _calls(stmt):
                chosen = self._optimizer_call(call, env)
                if chosen:
                    settings.update(chosen)
                    rate = f" (rate {chosen['lr']:g})" if "lr" in chosen else ""
                    found[f"optimizer {chosen['optimizer']}{rate}"] = where(call.lineno)
                    return True
        return False

    def _optimizer_call(self, call: ast.Call, env: dict[str, Any]) -> dict[str, Any] | None:
        name = self._optimizer_name(call)
        keras = name is not None and not self.dotted(call.func).startswith(_TORCH_OPTIM)
        if name is None and isinstance(call.func, ast.Attribute) and call.func.attr == "compile":
            given = next((k.value for k in call.keywords if k.arg == "optimizer"),
                         call.args[0] if call.args else None)
            if isinstance(given, ast.Call):
                return self._optimizer_call(given, env)
            text = _literal(given, env) if given is not None else None
            if not isinstance(text, str):
                return None
            canonical = _OPTIMIZER_NAMES.get(text.lower(), text)
            return {"optimizer": canonical, "lr": _KERAS_DEFAULT_LR.get(canonical, 1e-3)}
        if name is None:
            return None
        canonical = _OPTIMIZER_NAMES.get(name.lower(), name)
        chosen: dict[str, Any] = {"optimizer": canonical}
        positional = call.args[1:2] if not keras else call.args[0:1]
        rate = next((k.value for k in call.keywords if k.arg in _RATE_KEYWORDS),
                    positional[0] if positional else None)
        value = _literal(rate, env) if rate is not None else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            chosen["lr"] = float(value)
        elif keras:
            chosen["lr"] = _KERAS_DEFAULT_LR.get(canonical, 1e-3)
        extra = {k.arg: _literal(k.value, env) for k in call.keywords
                 if k.arg and k.arg not in _RATE_KEYWORDS}
        extra = {k: v for k, v in extra.items() if v is not _UNKNOWN}
        if extra and not keras:
            chosen["optimizer_kwargs"] = extra
        return chosen

    def _keyword(self, scope: Sequence[ast.stmt], env: dict[str, Any], names: Sequence[str],
                 key: str, settings: dict[str, Any], found: dict[str, str],
                 where: Callable[[int], str]) -> bool:
        for stmt in scope:
            for call in _calls(stmt):
                for keyword in call.keywords:
                    value = _literal(keyword.value, env) if keyword.arg in names else _UNKNOWN
                    if isinstance(value, int) and not isinstance(value, bool):
                        settings[key] = value
                        found[f"{key.replace('_', ' ')} {value}"] = where(call.lineno)
                        return True
        return False

    def _epoch_loop(self, scope: Sequence[ast.stmt], env: dict[str, Any],
                    settings: dict[str, Any], found: dict[str, str],
                    where: Callable[[int], str]) -> bool:
        """``for epoch in range(N):`` around a training step (``.step()``/``.backward()``,
        or a call of a function given the model)."""
        for stmt in scope:
            if not isinstance(stmt, ast.For) or not isinstance(stmt.iter, ast.Call):
                continue
            if self.dotted(stmt.iter.func) != "range" or not _trains(stmt):
                continue
            bounds = [_literal(a, env) for a in stmt.iter.args]
            if not bounds or not all(isinstance(b, int) for b in bounds):
                continue
            count = bounds[0] if len(bounds) == 1 else bounds[1] - bounds[0]
            settings["epochs"] = count
            found[f"epochs {count}"] = where(stmt.lineno)
            return True
        return False


def _training_first(scope: Sequence[ast.stmt]) -> list[ast.stmt]:
    """Statements that name training data first, then those that name no test data: the
    batch size is the training loader's (``DataLoader(train_set, batch_size=64)``), not the
    test loader's."""
    def words(stmt: ast.stmt) -> str:
        return " ".join(n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(stmt)
                        if isinstance(n, ast.Name | ast.Attribute)).lower() + " " + " ".join(
            k.arg or "" for n in ast.walk(stmt) if isinstance(n, ast.Call)
            for k in n.keywords if isinstance(k.value, ast.Constant) and k.value.value is True)
    train = [s for s in scope if "train" in words(s)]
    neutral = [s for s in scope if s not in train and not re.search(r"test|val", words(s))]
    return [*train, *neutral]


def _trains(loop: ast.For) -> bool:
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr in ("step", "backward", "fit", "train_on_batch")):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and "train" in (
                node.func.id.lower()):
            return True
    return False


# --- the builder ------------------------------------------------------------------------


def _builder(name: str, model: tuple[ast.Assign, str], body: Sequence[ast.stmt],
             before: Sequence[ast.stmt]) -> tuple[list[ast.stmt], set[int]]:
    """``def name(): <assignments it reads>; <model> = ...; <model>.add(...); return <model>``."""
    stmt, variable = model
    after = body[body.index(stmt) + 1:] if stmt in body else []
    grows = [s for s in after if _grows(s, variable)]
    bare = copy.copy(stmt)
    bare.value = _without_device_moves(stmt.value)
    inlined = _inlined([bare, *grows], [s for s in [*before, *body] if s.lineno < stmt.lineno])
    function_body = [copy.deepcopy(s) for s in [*inlined, stmt, *grows]]
    built = function_body[len(inlined)]
    built.value = _without_device_moves(built.value)  # type: ignore[attr-defined]
    function_body.append(_located(ast.Return(value=ast.Name(id=variable, ctx=ast.Load())),
                                  stmt.lineno))
    function = ast.parse(f"def {name}():\n    pass\n").body[0]
    function.body = function_body
    _located(function, stmt.lineno, descend=False)
    function.end_lineno = max(s.end_lineno or s.lineno for s in function_body)
    used = {s.lineno for s in [*inlined, stmt, *grows]}
    return [function], used


def _without_device_moves(value: ast.expr) -> ast.expr:
    """``nn.Sequential(...).to(device)`` -> ``nn.Sequential(...)``: the grader chooses the
    device (and ``device`` may name a GPU the worker must not touch)."""
    while (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
           and value.func.attr in ("to", "cuda", "cpu")):
        value = value.func.value
    return value


def _grows(stmt: ast.stmt, variable: str) -> bool:
    """``model.add(Dense(...))`` and the like: a top-level call that adds layers, or a loop
    (``for n in units: model.add(Dense(n))``) or ``if`` made only of such calls."""
    if isinstance(stmt, ast.For | ast.If):
        return bool(stmt.body) and all(_grows(s, variable) for s in [*stmt.body, *stmt.orelse])
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)
            and stmt.value.func.attr in _BUILD_METHODS
            and isinstance(stmt.value.func.value, ast.Name)
            and stmt.value.func.value.id == variable)


def _inlined(needed: Sequence[ast.stmt], earlier: Sequence[ast.stmt]) -> list[ast.stmt]:
    """The last earlier top-level assignment of each name ``needed`` reads (transitively),
    in source order: ``hidden = 100`` or ``layers = [...]`` as they were at that point."""
    chosen: dict[int, ast.stmt] = {}
    wanted = _reads(needed) - _stores(needed)  # not the loop's own variable, not the model
    seen: set[str] = set()
    while wanted and len(chosen) < MAX_INLINED:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        source = next((s for s in reversed(earlier)
                       if isinstance(s, ast.Assign | ast.AnnAssign) and name in _assigned_names(s)),
                      None)
        if source is not None and id(source) not in chosen:
            chosen[id(source)] = source
            wanted |= _reads([source]) - seen
    return sorted(chosen.values(), key=lambda s: s.lineno)


def _stores(statements: Sequence[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _reads(statements: Sequence[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in statements:
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.Expr) else stmt
        if value is None:
            continue
        for node in ast.walk(value):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
    return names


def _training(name: str, settings: dict[str, Any], at: ast.stmt) -> ast.stmt:
    assign = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                        value=_constant_tree(settings))
    return _located(assign, at.lineno)


def _located(node: ast.stmt, line: int, *, descend: bool = True) -> ast.stmt:
    """Give a statement the grader wrote the student's line (errors point there)."""
    for part in ast.walk(node) if descend else [node]:
        if "lineno" in part._attributes:
            part.lineno = part.end_lineno = line
            part.col_offset = part.end_col_offset = 0
    return node


def _constant_tree(value: Any) -> ast.expr:
    if isinstance(value, dict):
        return ast.Dict(keys=[ast.Constant(value=k) for k in value],
                        values=[_constant_tree(v) for v in value.values()])
    if isinstance(value, list | tuple):
        return ast.Tuple(elts=[_constant_tree(v) for v in value], ctx=ast.Load())
    return ast.Constant(value=value)


# --- small AST readers ------------------------------------------------------------------

_UNKNOWN = object()


def _defined(statements: Sequence[ast.stmt]) -> set[str]:
    """Names the statements define at top level (inside ``if``/``try`` too)."""
    names: set[str] = set()
    for stmt in statements:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
            continue
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
            continue
        names.update(_assigned_names(stmt))
        for block in ("body", "orelse", "finalbody"):
            names |= _defined(getattr(stmt, block, []))
        for handler in getattr(stmt, "handlers", []):
            names |= _defined(handler.body)
    return names


def _assigned_names(stmt: ast.stmt) -> list[str]:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else (
        [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _calls(stmt: ast.stmt) -> list[ast.Call]:
    """Every call in ``stmt`` (function bodies included: a ``train()`` helper), in order."""
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def _parameters_of(arg: ast.expr) -> str | None:
    """``model`` in ``model.parameters()``."""
    if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
            and arg.func.attr == "parameters" and isinstance(arg.func.value, ast.Name)):
        return arg.func.value.id
    return None


def _literals(statements: Sequence[ast.stmt]) -> dict[str, Any]:
    """Names bound to literal values at top level (the last binding wins)."""
    env: dict[str, Any] = {}
    for stmt in statements:
        if isinstance(stmt, ast.Assign):
            value = _literal(stmt.value, env)
            for name in _assigned_names(stmt):
                if value is _UNKNOWN:
                    env.pop(name, None)
                else:
                    env[name] = value
    return env


def _literal(node: ast.expr | None, env: Mapping[str, Any]) -> Any:
    """A number, string or tuple the expression always is (names resolved through ``env``,
    arithmetic of such values), else ``_UNKNOWN``."""
    if node is None:
        return _UNKNOWN
    if isinstance(node, ast.Name):
        return env.get(node.id, _UNKNOWN)
    if isinstance(node, ast.Tuple | ast.List):
        items = [_literal(e, env) for e in node.elts]
        return _UNKNOWN if _UNKNOWN in items else tuple(items)
    if isinstance(node, ast.BinOp):
        left, right = _literal(node.left, env), _literal(node.right, env)
        ops: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
            ast.FloorDiv: lambda a, b: a // b, ast.Pow: lambda a, b: a ** b}
        if (type(node.op) in ops and isinstance(left, int | float)
                and isinstance(right, int | float) and abs(right) < 1000):
            try:
                return ops[type(node.op)](left, right)
            except (ArithmeticError, ValueError):
                return _UNKNOWN
        return _UNKNOWN
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN
    return value if isinstance(value, int | float | str | bool | tuple) else _UNKNOWN
