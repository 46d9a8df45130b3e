"""Whether a mutant's edit can change what the grader runs.

Two questions, both answered without running student code on the trusted side:
- Does the grader load the edit at all? A pack that loads definitions only drops top-level
  training, plotting and printing; a mutant whose kept statements are the reference's is the
  same program as far as grading goes.
- Do the pack's probes reach the edited function? A *canary* copy of the mutant raises on
  entering that function: probes whose outputs do not change on the canary never ran it, so
  their "same outputs" says nothing about the edit.
"""

from __future__ import annotations

import ast

from grader.packs import Pack
from grader.sandboxed.submission.definitions import prepare
from grader.sandboxed.submission.source import Source

CANARY = "grader audit: the probes reach this function"


def loads_the_same(reference: str, mutant: str, pack: Pack) -> bool:
    """Whether the worker would run exactly the reference's statements for ``mutant``."""
    if pack.load_mode != "definitions":
        return False
    extra = frozenset(pack.load_options.get("call_modules") or ())
    kept = []
    for text in (reference, mutant):
        prepared = prepare(Source(text, pack.submission_name), "definitions",
                           extra_modules=extra)
        if prepared.syntax_error is not None:
            return False
        kept.append([ast.dump(statement) for statement in prepared.statements])
    return kept[0] == kept[1]


def canary(source: str, line: int) -> str | None:
    """``source`` with a ``raise`` first in the innermost function around ``line``; None
    where the line is in no function (module-level code)."""
    tree = ast.parse(source)
    around = [node for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and node.lineno <= line <= (node.end_lineno or node.lineno)]
    if not around:
        return None
    function = max(around, key=lambda node: node.lineno)
    alarm = ast.parse(f"raise RuntimeError({CANARY!r})").body[0]
    function.body.insert(0, alarm)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
