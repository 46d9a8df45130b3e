"""Saying so when a hand-in is for another library or another assignment.

A file that defines none of what the assignment asks for is often not a wrong solution but
the wrong file: a Keras version of a PyTorch problem set, or last week's assignment. "defines
no `build_model_2c`" hides that; this module names it, from what the file imports (reported by
the worker) and the names it defines, compared with the packs' own templates (trusted files).
Only a message changes: the grade is whatever the tests give.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable

from grader.packs import PackNotFound, available_packs, load_pack

# the package a file imports -> the library it is written with
LIBRARY_OF = {"torch": "torch", "torchvision": "torch", "tensorflow": "keras", "keras": "keras",
              "tf_keras": "keras", "jax": "jax", "jaxlib": "jax", "flax": "jax", "optax": "jax",
              "numpy": "numpy"}
DISPLAY = {"torch": "PyTorch", "keras": "Keras", "jax": "JAX", "numpy": "numpy"}


def framework_note(imports: Iterable[str], expected: Iterable[str]) -> str:
    """A sentence when the file uses a deep-learning library the assignment does not, and
    none it does (numpy counts as used only for numpy assignments); else ""."""
    expected = set(expected)
    if not expected:
        return ""
    found = {m: LIBRARY_OF[m] for m in imports if m in LIBRARY_OF}
    used = set(found.values())
    if used & expected or not used - {"numpy"}:
        return ""
    libraries = sorted(used - {"numpy"})
    modules = ", ".join(f"`{m}`" for m, lib in sorted(found.items()) if lib in libraries)
    wanted = " or ".join(DISPLAY[f] for f in sorted(expected))
    return (f"**This file is written for {' and '.join(DISPLAY[x] for x in libraries)}** (it "
            f"imports {modules}); this assignment expects {wanted}. Write the functions below "
            f"with {wanted}, as the template does.")


def other_assignment_note(defined: Iterable[str], this_pack: str) -> str:
    """A sentence when the file defines many of another pack's template names (three at
    least: `load_mnist` and `one_hot` alone are any notebook's helpers) and none of this
    one's: the hand-in of another assignment; else ""."""
    defined = set(defined)
    mine = _template_names(this_pack)
    for name in available_packs():
        theirs = _template_names(name)
        if name == this_pack or len(theirs) < 2:
            continue
        # evidence: 3 or more of that template's names (a third of them), none of this one's
        if len(theirs & defined) >= max(3, len(theirs) // 3) and not mine & defined:
            shown = ", ".join(f"`{n}`" for n in sorted(theirs & defined)[:6])
            return (f"**This looks like the hand-in of another assignment**, "
                    f"{_title(name)} (it defines {shown}). Check that you uploaded the file "
                    "for this one.")
    return ""


@functools.cache
def _template_names(pack_name: str) -> frozenset[str]:
    """The public functions, classes and constants the pack's template asks for."""
    try:
        template = load_pack(pack_name).template_dir
    except (PackNotFound, ValueError, OSError):
        return frozenset()
    names: set[str] = set()
    for path in sorted(template.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, ValueError, OSError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets
                             if isinstance(t, ast.Name) and t.id.isupper())
    return frozenset(n for n in names if not n.startswith("_"))


@functools.cache
def _title(pack_name: str) -> str:
    try:
        return load_pack(pack_name).title
    except (PackNotFound, ValueError, OSError):
        return pack_name
