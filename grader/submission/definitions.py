"""Keep the top-level statements that define things; skip the ones that do work.

Colab hand-ins train models, download data and draw plots at top level. Grading must not
re-run any of that, so by default only imports, ``def``/``class``, docstrings and
assignments whose value cannot run student code or I/O are kept. Nothing here executes
the submission: it parses, selects, and (to catch compile-time errors) compiles.
"""

from __future__ import annotations

import ast
import builtins
import copy
import sys
import warnings
from dataclasses import dataclass, field
from typing import Literal

from grader.submission.source import Source, split_lines

ALLOWED_MODULES: frozenset[str] = frozenset({
    "numpy", "math", "random", "collections", "functools", "itertools", "operator",
    "string", "re", "enum", "typing", "dataclasses", "fractions", "decimal", "os.path",
    "statistics",
})
"""Modules whose functions may be called in a kept assignment (``rng = np.random...``)."""

SAFE_BUILTIN_CALLS: frozenset[str] = frozenset({
    "bool", "complex", "dict", "float", "frozenset", "int", "list", "object", "range",
    "set", "slice", "str", "tuple",
})
"""Pure constructors; callable in a kept assignment unless the student rebinds the name."""

DENIED_CALL_NAMES: frozenset[str] = frozenset({
    "load", "loadtxt", "genfromtxt", "fromfile", "fromregex", "save", "savez",
    "savez_compressed", "savetxt", "memmap", "open_memmap", "tofile", "dump", "open",
    "system", "popen", "download", "download_url_to_file", "urlretrieve", "urlopen",
})
"""Attribute names that read or write files even inside an allowed module (``np.load``)."""

COLAB_ONLY_MODULES: tuple[str, ...] = ("google.colab",)
QUIET_KINDS: frozenset[str] = frozenset({"type-checking block"})
MAX_COMPILE_RETRIES = 100
_SUMMARY_CHARS = 80
_CODE_CHARS = 100

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SAFE_EXPRS = (
    ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set, ast.Dict,
    ast.Starred, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.JoinedStr, ast.FormattedValue, ast.NamedExpr,
)
_TRY_TYPES: tuple[type, ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_TYPE_ALIAS: tuple[type, ...] = (ast.TypeAlias,) if hasattr(ast, "TypeAlias") else ()
_KINDS: dict[type, str] = {
    ast.For: "loop", ast.AsyncFor: "loop", ast.While: "loop",
    ast.With: "with block", ast.AsyncWith: "with block",
    ast.Delete: "del", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Assert: "assert", ast.Raise: "raise", ast.Return: "return outside a function",
    ast.Match: "match block",
}
_MODULE_GLOBALS = frozenset({
    "__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
    "__builtins__", "__cached__", "__annotations__",
})


@dataclass
class Skipped:
    """One statement (or notebook cell) that will not be run, and why."""

    lineno: int
    end_lineno: int
    kind: str
    summary: str
    detail: str = ""


@dataclass
class Prepared:
    """What the executor may run, what it must not, and whether the code parsed at all."""

    statements: list[ast.stmt]
    skipped: list[Skipped]
    syntax_error: str | None
    module_aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reason:
    kind: str
    detail: str = ""


@dataclass
class _Scope:
    """Names the kept code has bound so far, so later statements can be checked against it."""

    bound: set[str]
    shadowed: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)
    star: bool = False
    lazy_annotations: bool = sys.version_info >= (3, 14)

    @classmethod
    def initial(cls) -> _Scope:
        return cls(bound=set(dir(builtins)) | _MODULE_GLOBALS)

    def copy(self) -> _Scope:
        return _Scope(set(self.bound), set(self.shadowed), dict(self.aliases), self.star,
                      self.lazy_annotations)

    def is_bound(self, name: str) -> bool:
        return self.star or name in self.bound

    def bind(self, name: str, target: str | None = None) -> None:
        self.bound.add(name)
        self.shadowed.add(name)
        if target is None:
            self.aliases.pop(name, None)
        else:
            self.aliases[name] = target


def prepare(
    source: Source,
    mode: Literal["definitions", "all"] = "definitions",
    *,
    extra_modules: frozenset[str] = frozenset(),
) -> Prepared:
    """Parse the source and choose the statements to run; never raises on bad student code."""
    if mode not in ("definitions", "all"):
        raise ValueError(f"mode must be 'definitions' or 'all', not {mode!r}")
    lines = split_lines(source.text)
    statements, skipped, error = _parse(source, lines)
    if error is not None:
        return Prepared([], skipped, error, {})
    selector = _Selector(source, lines, ALLOWED_MODULES | frozenset(extra_modules))
    if mode == "all":
        kept, aliases = statements, selector.aliases_only(statements)
    else:
        kept, more, aliases = selector.select(statements)
        skipped.extend(more)
    kept, broken, error = _check_compiles(_hoist_futures(kept), source, lines)
    if error is not None:
        return Prepared([], [], error, {})
    skipped.extend(broken)
    skipped.sort(key=lambda s: s.lineno)
    return Prepared(kept, skipped, None, aliases)


# --- parsing ---------------------------------------------------------------------------


def _parse_text(text: str, filename: str) -> list[ast.stmt]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename).body


def _parse(source: Source, lines: list[str]) -> tuple[list[ast.stmt], list[Skipped], str | None]:
    """Whole text first; a notebook that fails is retried cell by cell."""
    try:
        return _parse_text(source.text, source.display_name), [], None
    except Exception as exc:  # SyntaxError, ValueError, RecursionError, MemoryError, ...
        first_error = exc
    if not source.line_map:
        return [], [], syntax_message(first_error, source, lines, source.text)
    statements: list[ast.stmt] = []
    skipped: list[Skipped] = []
    for start, end in _cell_ranges(source.line_map, len(lines)):
        chunk = "\n".join(lines[start - 1:end]) + "\n"
        try:
            body = _parse_text(chunk, source.display_name)
        except Exception as exc:
            message = syntax_message(exc, source, lines, chunk, offset=start - 1)
            skipped.append(Skipped(start, end, "syntax error", _first_line(lines, start, end),
                                   message))
            continue
        for stmt in body:
            ast.increment_lineno(stmt, start - 1)
        statements.extend(body)
    if not statements and skipped:
        return [], skipped, skipped[0].detail
    return statements, skipped, None


def _cell_ranges(line_map: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """1-based inclusive line ranges, one per cell; lines past the map form a last range."""
    ranges: list[tuple[int, int]] = []
    limit = min(len(line_map), total)
    for index in range(limit):
        if index == 0 or line_map[index][0] != line_map[index - 1][0]:
            ranges.append((index + 1, index + 1))
        else:
            ranges[-1] = (ranges[-1][0], index + 1)
    if total > limit:
        ranges.append((limit + 1, total))
    return ranges


def syntax_message(
    exc: BaseException, source: Source, lines: list[str], text: str, offset: int = 0
) -> str:
    """Readable one-line error naming file, line (or cell) and the offending code."""
    if isinstance(exc, RecursionError | MemoryError):
        return f"SyntaxError: the code is nested too deeply to parse ({source.display_name})"
    if "null byte" in str(exc):
        nul = text.find("\x00")
        lineno = len(split_lines(text[:nul])) + offset if nul >= 0 else 0
        return f"SyntaxError: source code contains a NUL byte ({source.where(lineno)})"
    if not isinstance(exc, SyntaxError):
        detail = str(exc).splitlines()[0][:_CODE_CHARS] if str(exc) else ""
        return (f"SyntaxError: could not parse {source.display_name} "
                f"({type(exc).__name__}: {detail})")
    kind = type(exc).__name__
    msg = (exc.msg or "invalid syntax").strip()
    head, detail = ("invalid syntax", msg) if kind == "SyntaxError" else (msg, "")
    lineno = exc.lineno + offset if isinstance(exc.lineno, int) and exc.lineno > 0 else 0
    message = f"{kind}: {head} ({source.where(lineno)})"
    code = _line_at(lines, lineno) or (exc.text or "").strip()
    if code:
        message += f": {code_span(code)}"
    if detail and detail != head:
        message += f" — {detail}"
    return message


# --- selection -------------------------------------------------------------------------


class _Selector:
    """Walks top-level statements in order, keeping definitions and recording the rest."""

    def __init__(self, source: Source, lines: list[str], modules: frozenset[str]) -> None:
        self.source = source
        self.lines = lines
        self.modules = modules

    def select(
        self, statements: list[ast.stmt]
    ) -> tuple[list[ast.stmt], list[Skipped], dict[str, str]]:
        scope = _Scope.initial()
        kept: list[ast.stmt] = []
        skipped: list[Skipped] = []
        for stmt in statements:
            inner: list[Skipped] = []
            try:
                result = self._check(stmt, scope, True, inner)
            except (RecursionError, MemoryError):
                result = _Reason("too complex to analyse")
            if isinstance(result, _Reason):
                skipped.append(self._skipped(stmt, result))
            else:
                kept.append(result)
                skipped.extend(inner)
        return kept, skipped, dict(scope.aliases)

    def aliases_only(self, statements: list[ast.stmt]) -> dict[str, str]:
        scope = _Scope.initial()
        for stmt in statements:
            body = stmt.body if isinstance(stmt, _TRY_TYPES) else [stmt]
            for inner in body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    self._import(inner, scope, top=False)
        return dict(scope.aliases)

    def _skipped(self, stmt: ast.stmt, reason: _Reason) -> Skipped:
        end = getattr(stmt, "end_lineno", None) or stmt.lineno
        return Skipped(stmt.lineno, end, reason.kind, _first_line(self.lines, stmt.lineno, end),
                       reason.detail)

    def _check(
        self, stmt: ast.stmt, scope: _Scope, top: bool, inner: list[Skipped]
    ) -> ast.stmt | _Reason:
        """The statement to keep (maybe rewritten), or why it is skipped; binds kept names."""
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            return self._import(stmt, scope, top)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return self._definition(stmt, scope)
        if _TYPE_ALIAS and isinstance(stmt, _TYPE_ALIAS):
            scope.bind(stmt.name.id)  # type: ignore[attr-defined]
            return stmt
        if isinstance(stmt, ast.Pass):
            return stmt
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return stmt
            return _Reason("call" if isinstance(stmt.value, ast.Call | ast.Await) else "expression")
        if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            return self._assignment(stmt, scope)
        if isinstance(stmt, ast.If):
            return self._if(stmt, scope, inner)
        if isinstance(stmt, _TRY_TYPES):
            return self._try(stmt, scope, inner)
        return _Reason(_KINDS.get(type(stmt), "statement"))

    def _import(
        self, stmt: ast.Import | ast.ImportFrom, scope: _Scope, top: bool
    ) -> ast.stmt | _Reason:
        if isinstance(stmt, ast.ImportFrom):
            module = "." * stmt.level + (stmt.module or "")
            if module == "__future__":
                if any(a.name == "annotations" for a in stmt.names):
                    scope.lazy_annotations = True
                return stmt
            if top and _colab_only(module):
                return _Reason("Colab-only import")
            for alias in stmt.names:
                if alias.name == "*":
                    scope.star = True
                else:
                    target = f"{module}.{alias.name}" if module.strip(".") else module + alias.name
                    scope.bind(alias.asname or alias.name, target)
            return stmt
        if top and any(_colab_only(alias.name) for alias in stmt.names):
            return _Reason("Colab-only import")
        for alias in stmt.names:
            if alias.asname:
                scope.bind(alias.asname, alias.name)
            else:
                root = alias.name.split(".")[0]
                scope.bind(root, root)
        return stmt

    def _definition(
        self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: _Scope
    ) -> ast.stmt | _Reason:
        """Kept, unless a decorator, default, base or class-body value names skipped code."""
        eager, local = _eager_parts(stmt, scope.lazy_annotations)
        missing = self._missing(eager, scope, local)
        if missing:
            return _Reason("depends on skipped code", _uses(missing))
        scope.bind(stmt.name)
        return stmt

    def _assignment(
        self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign, scope: _Scope
    ) -> ast.stmt | _Reason:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        evaluated: list[ast.expr] = [stmt.value] if stmt.value is not None else []
        if isinstance(stmt, ast.AnnAssign) and not scope.lazy_annotations:
            evaluated.append(stmt.annotation)
        for target in targets:
            evaluated.extend(_target_reads(target, isinstance(stmt, ast.AugAssign)))
        for expr in evaluated:
            reason = self._unsafe(expr, scope)
            if reason is not None:
                return reason
        walrus = {n for expr in evaluated for n in _bound_names(expr)}
        missing = self._missing(evaluated, scope, walrus)
        if missing:
            return _Reason("depends on skipped code", _uses(missing))
        binders = evaluated if isinstance(stmt, ast.AnnAssign) and stmt.value is None else (
            targets + evaluated)  # a bare `x: int` annotates but does not bind x
        for node in binders:
            for name in _bound_names(node):
                scope.bind(name)
        return stmt

    def _if(self, stmt: ast.If, scope: _Scope, inner: list[Skipped]) -> ast.stmt | _Reason:
        """Kept only when the test is safe and both branches hold only keepable statements."""
        if _is_main_test(stmt.test):
            return _Reason("main block")
        if _is_type_checking(stmt.test):
            return _Reason("type-checking block")
        reason = self._unsafe(stmt.test, scope)
        if reason is not None:
            return _Reason("if block", f"its test: {reason.kind}")
        missing = self._missing([stmt.test], scope)
        if missing:
            return _Reason("if block", _uses(missing))
        trial = scope.copy()
        found: list[Skipped] = []
        branches: list[list[ast.stmt]] = []
        for block in (stmt.body, stmt.orelse):
            kept = self._all_or_nothing(block, trial, found)
            if isinstance(kept, _Reason):
                return _Reason("if block", kept.detail)
            branches.append(kept)
        _commit(scope, trial)
        inner.extend(found)
        new = copy.copy(stmt)
        new.body, new.orelse = branches
        return new

    def _try(self, stmt: ast.stmt, scope: _Scope, inner: list[Skipped]) -> ast.stmt | _Reason:
        """Kept when its body is keepable; handler code that would run work becomes ``pass``."""
        trial = scope.copy()
        found: list[Skipped] = []
        body = self._all_or_nothing(stmt.body, trial, found)  # type: ignore[attr-defined]
        if isinstance(body, _Reason):
            return _Reason("try block", body.detail)
        after_body = dict(trial.aliases)
        new = copy.copy(stmt)
        new.body = body  # type: ignore[attr-defined]
        new.handlers = []  # type: ignore[attr-defined]
        for handler in stmt.handlers:  # type: ignore[attr-defined]
            fallback = copy.copy(handler)
            if handler.name:
                trial.bind(handler.name)
            fallback.body = self._fallback(handler.body, trial, found)
            new.handlers.append(fallback)  # type: ignore[attr-defined]
        new.orelse = self._fallback(stmt.orelse, trial, found)  # type: ignore[attr-defined]
        new.finalbody = self._fallback(stmt.finalbody, trial, found)  # type: ignore[attr-defined]
        for name, target in after_body.items():  # `except ImportError: np = None` keeps np
            trial.aliases.setdefault(name, target)
        _commit(scope, trial)
        inner.extend(found)
        return new

    def _all_or_nothing(
        self, block: list[ast.stmt], scope: _Scope, found: list[Skipped]
    ) -> list[ast.stmt] | _Reason:
        kept: list[ast.stmt] = []
        for stmt in block:
            result = self._check(stmt, scope, False, found)
            if isinstance(result, _Reason):
                return _Reason(result.kind, f"line {stmt.lineno} is a {result.kind}")
            kept.append(result)
        return kept

    def _fallback(
        self, block: list[ast.stmt], scope: _Scope, found: list[Skipped]
    ) -> list[ast.stmt]:
        """Fallback paths keep what is keepable (and ``raise``); the rest becomes ``pass``."""
        out: list[ast.stmt] = []
        for stmt in block:
            result = self._check(stmt, scope, False, found)
            if isinstance(result, _Reason) and not isinstance(stmt, ast.Raise):
                found.append(self._skipped(stmt, result))
                result = ast.copy_location(ast.Pass(), stmt)
            out.append(stmt if isinstance(result, _Reason) else result)
        return out

    def _unsafe(self, expr: ast.expr, scope: _Scope) -> _Reason | None:
        """Why evaluating ``expr`` could run arbitrary code or I/O, or None when it cannot."""
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name | ast.Constant):
                continue
            if isinstance(node, _COMPREHENSIONS):
                return _Reason("assignment with a comprehension")
            if isinstance(node, ast.Lambda):
                stack += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
            elif isinstance(node, ast.Call):
                ok, root = self._callable(node.func, scope)
                if not ok or any(k.arg == "download" for k in node.keywords):
                    return _Reason("assignment from a call", f"calls {_callee(node.func)}")
                stack += node.args + [k.value for k in node.keywords]
                stack += [root] if root is not None else []
            elif isinstance(node, _SAFE_EXPRS):
                stack += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
            else:
                return _Reason("assignment", f"uses {type(node).__name__}")
        return None

    def _callable(self, func: ast.expr, scope: _Scope) -> tuple[bool, ast.expr | None]:
        """Whether calling ``func`` is allowed, plus a method chain's root call to check too."""
        attrs: list[str] = []
        node = func
        while isinstance(node, ast.Attribute):
            attrs.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            if not attrs and node.id in SAFE_BUILTIN_CALLS and node.id not in scope.shadowed:
                return True, None
            target = scope.aliases.get(node.id)
            if target is None:
                return False, None
            dotted = ".".join([target, *attrs])
            denied = any(part in DENIED_CALL_NAMES for part in dotted.split("."))
            return (not denied and self._allowed(dotted)), None
        if attrs and isinstance(node, ast.Call | ast.Constant):
            return not any(a in DENIED_CALL_NAMES for a in attrs), node
        return False, None

    def _allowed(self, dotted: str) -> bool:
        return any(dotted == m or dotted.startswith(m + ".") for m in self.modules)

    @staticmethod
    def _missing(exprs: list[ast.AST], scope: _Scope, local: set[str] | None = None) -> list[str]:
        names = (n.id for n in _eager_loads(exprs))
        return sorted({n for n in names if not scope.is_bound(n) and n not in (local or set())})


def _commit(scope: _Scope, trial: _Scope) -> None:
    scope.bound, scope.shadowed, scope.aliases = trial.bound, trial.shadowed, trial.aliases
    scope.star, scope.lazy_annotations = trial.star, trial.lazy_annotations


def _eager_loads(exprs: list[ast.AST]) -> list[ast.Name]:
    """Names read right away: not inside lambda bodies, nor comprehensions past the first iter."""
    stack: list[ast.AST] = list(exprs)
    out: list[ast.Name] = []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                out.append(node)
        elif isinstance(node, ast.Lambda):
            stack += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
        elif isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack += node.decorator_list + node.args.defaults
            stack += [d for d in node.args.kw_defaults if d is not None]
        elif isinstance(node, ast.ClassDef):
            stack += node.decorator_list + node.bases + [k.value for k in node.keywords]
        else:
            stack.extend(ast.iter_child_nodes(node))
    return out


def _eager_parts(
    stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lazy: bool
) -> tuple[list[ast.AST], set[str]]:
    """What runs when a def/class statement itself runs, and the names it binds locally."""
    eager: list[ast.AST] = list(stmt.decorator_list)
    local = {getattr(p, "name", "") for p in getattr(stmt, "type_params", [])}
    if isinstance(stmt, ast.ClassDef):
        eager += stmt.bases + [k.value for k in stmt.keywords]
        body_eager, body_local = _class_body(stmt.body, lazy)
        return eager + body_eager, local | body_local
    args = stmt.args
    eager += args.defaults + [d for d in args.kw_defaults if d is not None]
    if not lazy:
        every = args.posonlyargs + args.args + args.kwonlyargs
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        eager += [a.annotation for a in every if a.annotation is not None]
        eager += [stmt.returns] if stmt.returns is not None else []
    return eager, local


def _class_body(body: list[ast.stmt], lazy: bool) -> tuple[list[ast.AST], set[str]]:
    """A class body runs at definition time; method bodies do not."""
    eager: list[ast.AST] = []
    local = {"__module__", "__qualname__"}
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner_eager, inner_local = _eager_parts(stmt, lazy)
            eager += inner_eager
            local |= inner_local | {stmt.name}
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            local |= {a.asname or a.name.split(".")[0] for a in stmt.names}
        elif isinstance(stmt, ast.AnnAssign):
            eager += [stmt.value] if stmt.value is not None else []
            eager += _target_reads(stmt.target, False) + ([] if lazy else [stmt.annotation])
            local |= set(_bound_names(stmt.target)) if stmt.value is not None else set()
        else:
            eager.append(stmt)
            local |= set(_bound_names(stmt))
    return eager, local


def _target_reads(target: ast.expr, augmented: bool) -> list[ast.expr]:
    """Parts of an assignment target that are evaluated (``cfg`` in ``cfg.lr = 1``)."""
    if isinstance(target, ast.Name):
        return [ast.Name(id=target.id, ctx=ast.Load())] if augmented else []
    if isinstance(target, ast.Attribute):
        return [target.value]
    if isinstance(target, ast.Subscript):
        return [target.value, target.slice]
    if isinstance(target, ast.Starred):
        return _target_reads(target.value, augmented)
    if isinstance(target, ast.Tuple | ast.List):
        return [part for elt in target.elts for part in _target_reads(elt, augmented)]
    return []


def _bound_names(node: ast.AST) -> list[str]:
    """Names stored by a target or a walrus, skipping lambda bodies and comprehensions."""
    stack: list[ast.AST] = [node]
    out: list[str] = []
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            out.append(current.id)
        elif not isinstance(current, (ast.Lambda, *_COMPREHENSIONS)):
            stack.extend(ast.iter_child_nodes(current))
    return out


def _colab_only(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in COLAB_ONLY_MODULES)


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _callee(func: ast.expr) -> str:
    parts: list[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    parts.insert(0, node.id if isinstance(node, ast.Name) else "(...)")
    return ".".join(parts)


def _uses(missing: list[str]) -> str:
    verb = "was" if len(missing) == 1 else "were"
    return f"uses {', '.join(missing[:5])}, which {verb} skipped or never defined"


def _hoist_futures(statements: list[ast.stmt]) -> list[ast.stmt]:
    """``from __future__`` must come first; in a notebook it may sit in any cell."""
    futures = [s for s in statements if isinstance(s, ast.ImportFrom)
               and s.module == "__future__" and s.level == 0]
    if not futures:
        return statements
    rest = [s for s in statements if s not in futures]
    head = rest[:1] if rest and rest[0] is statements[0] and _is_docstring(rest[0]) else []
    return head + futures + rest[len(head):]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
        stmt.value.value, str)


def _check_compiles(
    statements: list[ast.stmt], source: Source, lines: list[str]
) -> tuple[list[ast.stmt], list[Skipped], str | None]:
    """Catch compile-time errors (``return`` outside a function...) without running anything.

    A notebook loses only the offending statement; a ``.py`` file is reported as broken.
    """
    kept = list(statements)
    broken: list[Skipped] = []
    for _ in range(MAX_COMPILE_RETRIES):
        exc = _compile_error(kept, source.display_name)
        if exc is None:
            return kept, broken, None
        message = syntax_message(exc, source, lines, source.text)
        culprit = _statement_at(kept, getattr(exc, "lineno", None))
        if source.line_map is None or culprit is None:
            return [], [], message
        stmt = kept.pop(culprit)
        end = getattr(stmt, "end_lineno", None) or stmt.lineno
        broken.append(Skipped(stmt.lineno, end, "syntax error",
                              _first_line(lines, stmt.lineno, end), message))
    return [], [], "SyntaxError: too many compile errors to load the notebook"


def _compile_error(statements: list[ast.stmt], filename: str) -> Exception | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(ast.Module(body=statements, type_ignores=[]), filename, "exec",
                    dont_inherit=True)
    except Exception as exc:  # SyntaxError, ValueError, RecursionError, MemoryError
        return exc
    return None


def _statement_at(statements: list[ast.stmt], lineno: object) -> int | None:
    if not isinstance(lineno, int):
        return None
    for index, stmt in enumerate(statements):
        if stmt.lineno <= lineno <= (getattr(stmt, "end_lineno", None) or stmt.lineno):
            return index
    return None


# --- text for students -----------------------------------------------------------------


def _line_at(lines: list[str], lineno: int) -> str:
    return lines[lineno - 1].strip() if 1 <= lineno <= len(lines) else ""


def _first_line(lines: list[str], start: int, end: int) -> str:
    """First non-blank line of a statement or cell, cut to the summary length."""
    for lineno in range(start, min(end, len(lines)) + 1):
        text = _line_at(lines, lineno)
        if text:
            break
    else:
        text = ""
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"


def code_span(text: str) -> str:
    """Inline Markdown code that survives backticks and control characters in student code."""
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    if len(text) > _CODE_CHARS:
        text = text[: _CODE_CHARS - 1] + "…"
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _listing(items: list[str], limit: int) -> str:
    shown = ", ".join(items[: max(limit, 0)])
    extra = len(items) - max(limit, 0)
    return shown + (f" (+{extra} more)" if extra > 0 else "")


def describe_skipped(prepared: Prepared, source: Source, limit: int = 10) -> str:
    """Short Markdown note telling the student what was not run and what to do about it."""
    parts: list[str] = []
    ran = [s for s in prepared.skipped if s.kind not in QUIET_KINDS and s.kind != "syntax error"]
    if ran:
        items = [f"{source.where(s.lineno)} {code_span(s.summary)}" for s in ran]
        parts.append(
            f"Loaded definitions only; skipped {_plural(len(ran), 'top-level statement')} "
            f"that would run code (training, downloads, plots): {_listing(items, limit)}. "
            "Put code you want graded inside functions or the class."
        )
    broken = [s for s in prepared.skipped if s.kind == "syntax error"]
    if broken:
        parts.append(
            f"Left out {_plural(len(broken), 'part')} of the notebook that Python cannot "
            f"compile; the rest was loaded: {_listing([s.detail for s in broken], limit)}."
        )
    if source.magics:
        items = [
            f"{source.where(line)} {code_span(text)}" + (" (whole cell)" if text.startswith(
                "%%") else "")
            for line, text in source.magics
        ]
        parts.append(
            f"Removed {_plural(len(items), 'notebook/shell command')} the grader does not "
            f"run: {_listing(items, limit)}."
        )
    parts.extend(source.notes)
    return "\n\n".join(parts)
