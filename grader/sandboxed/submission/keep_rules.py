"""The rules for "definitions" mode: which top-level statements are safe to run.

Colab hand-ins train models, download data and draw plots at top level; grading must not
re-run any of that. A statement is kept only when running it cannot call student code or do
I/O: imports, ``def``/``class``, docstrings, and assignments built from literals and calls
into an allowlist of pure modules. Everything else is recorded as ``Skipped`` with a reason.
"""

from __future__ import annotations

import ast
import builtins
import copy
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.sandboxed.submission.skipped import Skipped

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
"""Packages that exist only inside Colab; importing them at top level would fail here."""

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
class _Reason:
    """Why a statement is skipped: a short kind for grouping, and an optional detail."""

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
        """Record a binding; ``target`` is the module an import binds, if it is one."""
        self.bound.add(name)
        self.shadowed.add(name)
        if target is None:
            self.aliases.pop(name, None)
        else:
            self.aliases[name] = target

    def commit(self, trial: _Scope) -> None:
        """Adopt what a trial copy bound, once the block checked against it is kept."""
        self.bound, self.shadowed, self.aliases = trial.bound, trial.shadowed, trial.aliases
        self.star, self.lazy_annotations = trial.star, trial.lazy_annotations


class Selector:
    """Walks top-level statements in order, keeping definitions and recording the rest."""

    def __init__(self, lines: list[str], modules: frozenset[str]) -> None:
        self.lines = lines
        self.modules = modules

    def select(
        self, statements: list[ast.stmt]
    ) -> tuple[list[ast.stmt], list[Skipped], dict[str, str]]:
        """Kept statements, skipped ones, and the module aliases the kept imports bind."""
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
        """Module aliases bound by imports when everything runs ("all" mode)."""
        scope = _Scope.initial()
        for stmt in statements:
            body = stmt.body if isinstance(stmt, _TRY_TYPES) else [stmt]
            for inner in body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    self._import(inner, scope, top=False)
        return dict(scope.aliases)

    def _skipped(self, stmt: ast.stmt, reason: _Reason) -> Skipped:
        return Skipped.statement(stmt, self.lines, reason.kind, reason.detail)

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
        scope.commit(trial)
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
        scope.commit(trial)
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
                stack += _default_values(node.args)
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
        node, attrs = _attribute_chain(func)
        if isinstance(node, ast.Name):
            if not attrs and node.id in SAFE_BUILTIN_CALLS and node.id not in scope.shadowed:
                return True, None
            target = scope.aliases.get(node.id)
            if target is None:
                return False, None
            dotted = ".".join([target, *attrs])
            denied = any(part in DENIED_CALL_NAMES for part in dotted.split("."))
            return (not denied and _in_packages(dotted, self.modules)), None
        if attrs and isinstance(node, ast.Call | ast.Constant):
            return not any(a in DENIED_CALL_NAMES for a in attrs), node
        return False, None

    @staticmethod
    def _missing(exprs: list[ast.AST], scope: _Scope, local: set[str] | None = None) -> list[str]:
        names = (n.id for n in _eager_loads(exprs))
        return sorted({n for n in names if not scope.is_bound(n) and n not in (local or set())})


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
            stack += _default_values(node.args)
        elif isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack += node.decorator_list + _default_values(node.args)
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
    eager += _default_values(args)
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


def _default_values(args: ast.arguments) -> list[ast.expr]:
    """Default values, which are evaluated when the ``def`` or ``lambda`` itself runs."""
    return args.defaults + [d for d in args.kw_defaults if d is not None]


def _attribute_chain(func: ast.expr) -> tuple[ast.expr, list[str]]:
    """``np.random.default_rng`` as its root expression and the attribute names after it."""
    attrs: list[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        attrs.insert(0, node.attr)
        node = node.value
    return node, attrs


def _in_packages(dotted: str, packages: Iterable[str]) -> bool:
    """Whether ``dotted`` is one of ``packages`` or lies inside one."""
    return any(dotted == p or dotted.startswith(p + ".") for p in packages)


def _colab_only(module: str) -> bool:
    return _in_packages(module, COLAB_ONLY_MODULES)


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, either way round: the block is a script's entry point."""
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
    """The called name as the student wrote it, for the skip detail."""
    root, attrs = _attribute_chain(func)
    return ".".join([root.id if isinstance(root, ast.Name) else "(...)", *attrs])


def _uses(missing: list[str]) -> str:
    """Skip detail naming (up to five of) the names that are not bound."""
    verb = "was" if len(missing) == 1 else "were"
    return f"uses {', '.join(missing[:5])}, which {verb} skipped or never defined"
