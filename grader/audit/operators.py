"""Mutation operators: the bugs students make in deep-learning code, as AST edits.

Each operator is an :class:`ast.NodeTransformer` that numbers its applicable sites in visit
order (children before parents) and, given ``target=i``, rewrites site ``i`` only, so one
run of one operator makes one mutant. A site may offer several alternatives (a constant
doubled or halved); each counts as a site. Only code the grader loads is mutated: the
bodies of top-level functions and classes, and top-level assignments.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

Alternative = tuple[ast.AST, str]  # (the replacement node, what the edit does)
LOADED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
ARRAY_MODULES = {"np", "numpy", "jnp", "torch", "tf", "ops", "K"}


@dataclass(frozen=True)
class Edit:
    """The site an operator rewrote: ``node`` keeps its positions in the original source."""

    node: ast.AST
    replacement: ast.AST
    note: str


class Operator(ast.NodeTransformer):
    """Base: count the sites, rewrite the ``target``-th one."""

    name: ClassVar[str] = ""
    about: ClassVar[str] = ""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.sites = 0
        self.applied: Edit | None = None
        self.parents: list[ast.AST] = []

    def visit(self, node: ast.AST) -> ast.AST:
        self.parents.append(node)
        try:
            node = self.generic_visit(node)
        finally:
            self.parents.pop()
        if self.applied is not None or not self._loaded():
            return node
        for new, note in self.alternatives(node):
            if self.sites == self.target:
                self.applied = Edit(node, new, note)
                self.sites += 1
                return ast.copy_location(new, node)
            self.sites += 1
        return node

    def _loaded(self) -> bool:
        """Inside a top-level def, class or assignment (what the grader's worker loads)."""
        return len(self.parents) >= 2 and isinstance(self.parents[1], LOADED) \
            and not any(isinstance(p, ast.JoinedStr) for p in self.parents)

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        return iter(())


def called_name(node: ast.AST) -> str | None:
    """``np.sum(...)`` -> "sum", ``relu(...)`` -> "relu"; None for anything else."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else None


def _renamed(call: ast.Call, name: str) -> ast.Call:
    new = copy.deepcopy(call)
    if isinstance(new.func, ast.Attribute):
        new.func.attr = name
    elif isinstance(new.func, ast.Name):
        new.func.id = name
    return new


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return None if inner is None else -inner
    return None


def _num(value: float) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


class SumMean(Operator):
    name, about = "sum_mean", "sum ↔ mean (np/torch/jnp by attribute name)"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            swap = {"sum": "mean", "mean": "sum"}.get(node.func.attr)
            if swap:
                yield _renamed(node, swap), f"{node.func.attr} → {swap}"


class Axis(Operator):
    name, about = "axis", "reduction over another axis (axis=/dim= 0↔1, -1→0)"
    OTHER: ClassVar[dict[int, int]] = {0: 1, 1: 0, -1: 0}

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.keyword) and node.arg in ("axis", "dim"):
            k = _int_literal(node.value)
            if k is not None:
                other = self.OTHER.get(k, 0)
                yield ast.keyword(arg=node.arg, value=_num(other)), \
                    f"{node.arg}={k} → {node.arg}={other}"


class Transpose(Operator):
    name, about = "transpose", "drop a .T / transpose, or transpose a matmul operand"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
            yield copy.deepcopy(node.value), "drop .T"
        elif called_name(node) in ("transpose", "t") and isinstance(node, ast.Call) \
                and isinstance(node.func, ast.Attribute):
            module = isinstance(node.func.value, ast.Name) and node.func.value.id in ARRAY_MODULES
            if module and node.args:
                yield copy.deepcopy(node.args[0]), "drop the transpose"
            elif not module:
                yield copy.deepcopy(node.func.value), "drop the transpose"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            right = ast.Attribute(value=copy.deepcopy(node.right), attr="T", ctx=ast.Load())
            yield ast.BinOp(copy.deepcopy(node.left), ast.MatMult(), right), \
                "transpose the right operand of @"


class Sign(Operator):
    name, about = "sign", "sign flip: -x → x, a - b → b - a in a return, -= ↔ +="

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and not isinstance(node.operand, ast.Constant):
            yield copy.deepcopy(node.operand), "drop a unary minus"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and self._returned():
            yield ast.BinOp(copy.deepcopy(node.right), ast.Sub(), copy.deepcopy(node.left)), \
                "a - b → b - a"
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
            new = copy.deepcopy(node)
            new.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            yield new, "+= → -=" if isinstance(node.op, ast.Add) else "-= → +="

    def _returned(self) -> bool:
        for parent in reversed(self.parents):
            if isinstance(parent, ast.Return):
                return True
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return False
        return False


def _is_product(node: ast.AST) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)) or \
        called_name(node) in ("dot", "matmul", "mm", "einsum")


class DropBias(Operator):
    name, about = "bias", "drop a bias: x @ W + b → x @ W"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            if _is_product(node.left):
                yield copy.deepcopy(node.left), "drop the bias"
            elif _is_product(node.right):
                yield copy.deepcopy(node.right), "drop the bias"


class ScaleConstant(Operator):
    name, about = "constant", "a numeric literal c → 2c or c/2 (not 0 or -1, not in slices or axes)"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if not isinstance(node, ast.Constant) or type(node.value) not in (int, float) \
                or node.value == 0 or self._index_or_axis(node):
            return
        c = node.value
        half = c // 2 if isinstance(c, int) else c / 2
        yield ast.Constant(c * 2), f"{c!r} → {c * 2!r}"
        yield ast.Constant(half), f"{c!r} → {half!r}"

    def _index_or_axis(self, node: ast.AST) -> bool:
        """In a subscript, an axis keyword, or the literal -1 ("the rest", "the last")."""
        if self.parents and isinstance(self.parents[-1], ast.UnaryOp) and node.value == 1:
            return True
        chain = [*self.parents, node]
        for parent, child in zip(chain, chain[1:], strict=False):
            if isinstance(parent, ast.Subscript) and child is parent.slice:
                return True
            if isinstance(parent, ast.keyword) and parent.arg in ("axis", "dim", "keepdims"):
                return True
        return False


ACTIVATION_STRINGS = {"relu": "linear", "tanh": "sigmoid", "sigmoid": "tanh",
                      "softmax": "sigmoid"}
ACTIVATION_MODULES = {"ReLU": "Identity", "Tanh": "Sigmoid", "Sigmoid": "Tanh"}


class SwapActivation(Operator):
    name, about = "activation", "activation swapped: tanh ↔ sigmoid, relu → identity"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        name = called_name(node)
        if isinstance(node, ast.Call):
            plain = len(node.args) == 1 and not node.keywords
            x = copy.deepcopy(node.args[0]) if node.args else None
            if name == "tanh" and plain:  # sigmoid(x) = (1 + tanh(x / 2)) / 2, same module
                half = ast.Call(copy.deepcopy(node.func), [ast.BinOp(x, ast.Div(),
                                                                     ast.Constant(2))], [])
                yield ast.BinOp(ast.Constant(0.5), ast.Mult(),
                                ast.BinOp(ast.Constant(1), ast.Add(), half)), "tanh → sigmoid"
            elif name == "sigmoid" and plain:  # tanh(x) = 2 sigmoid(2x) - 1
                double = ast.Call(copy.deepcopy(node.func), [ast.BinOp(ast.Constant(2),
                                                                       ast.Mult(), x)], [])
                yield ast.BinOp(ast.BinOp(ast.Constant(2), ast.Mult(), double), ast.Sub(),
                                ast.Constant(1)), "sigmoid → tanh"
            elif name == "relu" and plain and x is not None:
                yield x, "relu → identity"
            elif name == "maximum" and len(node.args) == 2:
                zero = [i for i, a in enumerate(node.args)
                        if isinstance(a, ast.Constant) and a.value == 0]
                if zero:
                    yield copy.deepcopy(node.args[1 - zero[0]]), "relu (maximum with 0) → identity"
            elif name in ACTIVATION_MODULES:
                yield _renamed(node, ACTIVATION_MODULES[name]), \
                    f"{name} → {ACTIVATION_MODULES[name]}"
        elif isinstance(node, ast.Constant) and node.value in ACTIVATION_STRINGS and \
                self.parents and isinstance(self.parents[-1], ast.keyword) and \
                self.parents[-1].arg == "activation":
            other = ACTIVATION_STRINGS[node.value]
            yield ast.Constant(other), f"activation {node.value!r} → {other!r}"


def _minus(node: ast.expr, by: ast.expr) -> ast.expr:
    return ast.BinOp(copy.deepcopy(node), ast.Sub(), by)


class OffByOne(Operator):
    name, about = "off_by_one", "a[:n] → a[:n-1], range(n) → range(n-1), last partial batch dropped"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.Slice) and node.upper is not None:
            new = copy.deepcopy(node)
            new.upper = _minus(node.upper, ast.Constant(1))
            yield new, "slice end - 1"
        elif called_name(node) == "range" and isinstance(node, ast.Call) \
                and isinstance(node.func, ast.Name) and 1 <= len(node.args) <= 3 \
                and not node.keywords:
            end = 0 if len(node.args) == 1 else 1
            new = copy.deepcopy(node)
            new.args[end] = _minus(node.args[end], ast.Constant(1))
            yield new, "range end - 1"
            if len(node.args) == 3 and not isinstance(node.args[2], ast.UnaryOp):
                step = node.args[2]
                new = copy.deepcopy(node)
                new.args[1] = _minus(node.args[1], ast.BinOp(copy.deepcopy(node.args[1]),
                                                            ast.Mod(), copy.deepcopy(step)))
                yield new, "last partial batch dropped"


class Unstable(Operator):
    name, about = "stability", "exp without the max shift: x - x.max(...) → x"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and any(
                called_name(n) in ("max", "amax", "nanmax") for n in ast.walk(node.right)):
            yield copy.deepcopy(node.left), "drop the max shift"


class FlipComparison(Operator):
    name, about = "compare", "comparison flip: > ↔ >=, < ↔ <="
    FLIP: ClassVar[dict[type, type]] = {ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                                        ast.Lt: ast.LtE, ast.LtE: ast.Lt}
    SIGN: ClassVar[dict[type, str]] = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                flipped = self.FLIP.get(type(op))
                if flipped:
                    new = copy.deepcopy(node)
                    new.ops[i] = flipped()
                    yield new, f"{self.SIGN[type(op)]} → {self.SIGN[flipped]}"


DERIVATIVE = re.compile(r"grad|deriv|prime|backward", re.IGNORECASE)
PRE_POST = re.compile(r"^([AZaz])(?=\d|_|$)")


class DerivativeAt(Operator):
    name, about = "derivative_at", "activation'(Z) ↔ activation'(A): the derivative at the " \
                                   "other of the pre-/post-activation"

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if not isinstance(node, ast.Call) or not node.args:
            return
        flagged = any(k.arg in ("grad", "derivative", "deriv") and
                      isinstance(k.value, ast.Constant) and k.value.value is True
                      for k in node.keywords)
        if not (flagged or DERIVATIVE.search(called_name(node) or "")):
            return
        new = copy.deepcopy(node)
        swapped = [_swap_letter(n) for n in ast.walk(new.args[0])]
        if any(swapped):
            yield new, "derivative taken at the other variable (A ↔ Z)"


def _swap_letter(node: ast.AST) -> bool:
    """A1 ↔ Z1, a ↔ z in a name or a string (key) part; says whether it changed one."""
    swap = {"A": "Z", "Z": "A", "a": "z", "z": "a"}
    if isinstance(node, ast.Name) and PRE_POST.match(node.id):
        node.id = swap[node.id[0]] + node.id[1:]
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
            PRE_POST.match(node.value):
        node.value = swap[node.value[0]] + node.value[1:]
        return True
    return False


class Arithmetic(Operator):
    name, about = "arithmetic", "generic: + ↔ -, * ↔ /, ** → *"
    SWAP: ClassVar[dict[type, type]] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div,
                                        ast.Div: ast.Mult, ast.Pow: ast.Mult}

    def alternatives(self, node: ast.AST) -> Iterator[Alternative]:
        if isinstance(node, ast.BinOp) and type(node.op) in self.SWAP and not any(
                isinstance(side, ast.JoinedStr) or
                (isinstance(side, ast.Constant) and isinstance(side.value, str))
                for side in (node.left, node.right)):
            new = copy.deepcopy(node)
            new.op = self.SWAP[type(node.op)]()
            yield new, f"{_op(node.op)} → {_op(new.op)}"


def _op(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}[type(op)]


OPERATORS: tuple[type[Operator], ...] = (
    SumMean, Axis, Transpose, Sign, DropBias, ScaleConstant, SwapActivation, OffByOne,
    Unstable, FlipComparison, DerivativeAt, Arithmetic)
