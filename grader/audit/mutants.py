"""The mutants of a reference file: every site of every operator, with a stable id, the
line, the enclosing function and a unified diff against the reference.

A mutant's source is the reference with only the rewritten node's text replaced, so the
diff shows one edit and the file keeps its comments; where that splice does not give the
mutated tree back, the whole mutated tree is unparsed instead.
"""

from __future__ import annotations

import ast
import difflib
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.audit.operators import OPERATORS, Edit, Operator


@dataclass(frozen=True)
class Mutant:
    id: str          # "<operator>-<site number>": the same for the same reference and operators
    operator: str
    line: int
    function: str    # the enclosing "Class.method" or function, or "<module>"
    note: str        # what the edit does, e.g. "sum → mean"
    source: str
    diff: str
    same_source: bool = False  # unparses to the reference's own source: not graded


@dataclass
class Enumeration:
    mutants: list[Mutant] = field(default_factory=list)
    not_compiling: int = 0   # dropped: the edit gives a file Python cannot compile
    duplicates: int = 0      # dropped: the same source as an earlier mutant

    @property
    def gradable(self) -> list[Mutant]:
        return [m for m in self.mutants if not m.same_source]


def enumerate_mutants(source: str, filename: str = "solution.py",
                      operators: Iterable[type[Operator]] = OPERATORS) -> Enumeration:
    """Every mutant of ``source`` (a reference file) by every operator."""
    original = ast.parse(source)
    baseline = ast.unparse(original)
    functions = _functions(original)
    found = Enumeration()
    seen = {source}
    for operator in operators:
        counter = operator()
        counter.visit(ast.parse(source))
        for site in range(counter.sites):
            mutator = operator(target=site)
            tree = ast.fix_missing_locations(mutator.visit(ast.parse(source)))
            if mutator.applied is None:
                continue
            text = ast.unparse(tree)
            if text == baseline:
                mutant_source = source
            else:
                mutant_source = _splice(source, mutator.applied, tree) or text + "\n"
                try:
                    compile(mutant_source, filename, "exec")
                except (SyntaxError, ValueError):
                    found.not_compiling += 1
                    continue
                if mutant_source in seen:
                    found.duplicates += 1
                    continue
                seen.add(mutant_source)
            mutant_id = f"{operator.name}-{site:03d}"
            line = getattr(mutator.applied.node, "lineno", 0)
            found.mutants.append(Mutant(
                id=mutant_id, operator=operator.name, line=line,
                function=_enclosing(functions, line), note=mutator.applied.note,
                source=mutant_source, diff=_diff(source, mutant_source, filename, mutant_id),
                same_source=text == baseline))
    return found


def sample(mutants: list[Mutant], n: int | None, seed: int = 0) -> list[Mutant]:
    """``n`` mutants, taken in turn from each operator (each operator's mutants, and the
    order of the operators, shuffled with ``seed``) so a small sample still tries every kind
    of bug, and one smaller than the number of operators tries different kinds for different
    seeds; all of them when ``n`` is None or not smaller. The result is in enumeration
    order."""
    if n is None or n >= len(mutants):
        return list(mutants)
    rng = random.Random(seed)
    by_operator: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_operator[m.operator].append(m)
    queues = []
    for name in sorted(by_operator):
        queue = list(by_operator[name])
        rng.shuffle(queue)
        queues.append(queue)
    rng.shuffle(queues)
    chosen: set[str] = set()
    while len(chosen) < n:
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.add(queue.pop().id)
    return [m for m in mutants if m.id in chosen]


def _splice(source: str, edit: Edit, tree: ast.Module) -> str | None:
    """The reference with only the edited node's text replaced, or None where that text
    does not parse back to ``tree``."""
    node = edit.node
    if getattr(node, "end_lineno", None) is None:
        return None
    data = source.encode("utf-8")
    starts = [0]
    for line in source.encode("utf-8").splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:  # ast column offsets count UTF-8 bytes
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
    except (IndexError, TypeError):
        return None
    text = ast.unparse(edit.replacement)
    wanted = ast.dump(tree)
    for candidate in (text, f"({text})"):  # parentheses only where precedence needs them
        spliced = (data[:begin] + candidate.encode("utf-8") + data[end:]).decode(
            "utf-8", "replace")
        try:
            if ast.dump(ast.parse(spliced)) == wanted:
                return spliced
        except SyntaxError:
            pass
    return None


def _functions(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every def and class."""
    found: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return found


def _enclosing(functions: list[tuple[int, int, str]], line: int) -> str:
    inside = [f for f in functions if f[0] <= line <= f[1]]
    return max(inside, key=lambda f: f[0])[2] if inside else "<module>"


def _diff(before: str, after: str, filename: str, mutant_id: str) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{filename}", tofile=f"b/{filename} ({mutant_id})", n=1))
