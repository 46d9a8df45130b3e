"""How long does the integrity report take for a large class? Prints times and what it found.

Synthetic class: every student starts from the same template and fills in each of the
exercise functions with one of a few common variants (a popular variant is shared by a third
of the class, as simple idioms are), renamed and with some lines of their own, in a
shuffled order. A few students are copies of a classmate with every identifier renamed and
the functions reordered. Goal: 1,000 submissions of ~300 lines in well under a minute on 2
cores. The code is dense (about 15 tokens a line), so real homework tokenises faster.

Usage: python bench/similarity_speed.py [--students 1000] [--copies 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time

from grader.batch.fingerprints import fingerprint
from grader.batch.similarity import similarity_report

FUNCTIONS = 20
VARIANTS = 6
POPULARITY = [0.35, 0.25, 0.15, 0.1, 0.1, 0.05]
OPS = ["np.exp", "np.log1p", "np.maximum", "np.sum", "np.mean", "np.tanh", "np.sqrt", "np.abs",
       "np.clip", "np.dot", "np.square", "np.argmax"]
_NAME = re.compile(r"\b(v\d+|f\d+)\b")


def _expr(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """A random expression, so that no two variants share more than short idioms."""
    pick = rng.randrange(8 if depth < 2 else 3)
    if pick == 0:
        return rng.choice(names)
    if pick == 1:
        return str(rng.randrange(10)) if rng.random() < 0.5 else f"{rng.random():.2f}"
    if pick == 2:
        return f"{rng.choice(names)}.{rng.choice(['T', 'shape[0]', 'size', 'ndim'])}"
    if pick in (3, 4):
        args = ", ".join(_expr(rng, names, depth + 1) for _ in range(rng.randrange(1, 3)))
        axis = f", axis={rng.randrange(2)}" if rng.random() < 0.3 else ""
        return f"{rng.choice(OPS)}({args}{axis})"
    if pick == 5:
        return f"{rng.choice(names)}[{_expr(rng, names, depth + 1)}]"
    op = rng.choice(["+", "-", "*", "/", "@", "**"])
    return f"({_expr(rng, names, depth + 1)} {op} {_expr(rng, names, depth + 1)})"


def _line(rng: random.Random, names: list[str], indent: str = "        ") -> str:
    kind = rng.randrange(6)
    target = rng.choice(names)
    if kind == 0:
        return (f"{indent}if {_expr(rng, names)} > {_expr(rng, names)}:\n"
                f"{indent}    {target} = {_expr(rng, names)}")
    if kind == 1:
        return (f"{indent}for {rng.choice(['i', 'j', 'k'])} in range({_expr(rng, names)}):\n"
                f"{indent}    {target}.append({_expr(rng, names)})")
    if kind == 2:
        return f"{indent}{target} += {_expr(rng, names)}"
    return f"{indent}{target} = {_expr(rng, names)}"


def variant(f: int, v: int) -> list[str]:
    """One way to write function ``f``: always the same for the same (f, v)."""
    rng = random.Random(f * 1000 + v)
    names = [f"v{i}" for i in range(5)]
    body = [_line(rng, names) for _ in range(rng.randrange(6, 12))]
    return [f"    def f{f}(self, v0, v1=None):", *body, f"        return {rng.choice(names)}"]


TEMPLATE_BODY = [
    "import numpy as np", "", "", "class Model:", "    def __init__(self, sizes, lr=0.01):",
    "        self.weights = [np.zeros((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]",
    "        self.lr = lr", "",
]


def student(rng: random.Random) -> list[list[str]]:
    """Functions of one student, each a list of lines, before renaming."""
    functions = []
    for f in range(FUNCTIONS):
        lines = variant(f, rng.choices(range(VARIANTS), POPULARITY)[0])
        for _ in range(rng.randrange(3)):  # a few lines of their own
            lines.insert(rng.randrange(1, len(lines)), _line(rng, ["v0", "v1"]))
        functions.append(lines)
    rng.shuffle(functions)
    return functions


def render(functions: list[list[str]], rng: random.Random, disguise: bool) -> str:
    rename = {}
    if disguise:
        for n in range(5):
            rename[f"v{n}"] = f"{rng.choice(['tmp', 'val', 'z', 'acc'])}_{rng.randrange(999)}"
        functions = functions[:]
        rng.shuffle(functions)
    text = "\n".join(TEMPLATE_BODY + [line for fn in functions for line in [*fn, ""]])
    return _NAME.sub(lambda m: rename.get(m.group(), m.group()), text)


def build(students: int, copies: int, seed: int) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Sources by id, and the pairs that share code: a copy, its original, other copies of it."""
    rng = random.Random(seed)
    drafts = {f"s{i:04d}": student(rng) for i in range(students - copies)}
    sources = {sid: render(fns, rng, False) for sid, fns in drafts.items()}
    groups: dict[str, list[str]] = {}
    for c in range(copies):
        original = f"s{rng.randrange(len(drafts)):04d}"
        sid = f"s{students - copies + c:04d}"
        sources[sid] = render(drafts[original], rng, True)
        groups.setdefault(original, [original]).append(sid)
    planted = {(a, b) for group in groups.values() for a in group for b in group if a < b}
    return sources, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sources, planted = build(args.students, args.copies, args.seed)
    template = "\n".join(TEMPLATE_BODY)
    lines = sum(text.count("\n") + 1 for text in sources.values()) / len(sources)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{len(sources)} submissions, {lines:.0f} lines on average")
    start = time.perf_counter()
    for text in sources.values():
        fingerprint(text, 12, 8)
    print(f"fingerprinting alone, one process: {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    report = similarity_report(sources, template, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(f"similarity_report, jobs={args.jobs}: {elapsed:.2f} s in all")
    found = {(p.a, p.b) for p in report.pairs}
    print(f"{len(report.pairs)} pairs flagged, "
          f"{len(found & planted)}/{len(planted)} planted copies among them, "
          f"{len(found - planted)} others (students who drew the same variant of most "
          "functions by chance)")
    if report.pairs:
        worst = min((p for p in report.pairs if (p.a, p.b) in planted),
                    key=lambda p: p.score, default=None)
        best_other = max((p.score for p in report.pairs if (p.a, p.b) not in planted),
                         default=0.0)
        print(f"lowest planted score {worst.score if worst else float('nan'):.2f}, "
              f"highest other score {best_other:.2f}")


if __name__ == "__main__":
    main()
