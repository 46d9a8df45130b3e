"""How often is one bug charged to more than its own function? And what do stubs earn?

For every known-wrong submission of every pack (``tests/engine/submissions/<pack>/wrong/``),
grades it with ``--fast`` and compares the functions that lost points with the ones its header
names (``# expect-fail:`` or ``# expect-fail-only:``): a function charged beyond those is a
neighbour paying for the bug. Stubs (``# expect: zero``) and each pack's untouched template
report the points they were paid (the goal: 0). Prints one line per file and a summary per
pack.

Usage: python bench/charged_once.py [--pack ift6135_a1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.packs import available_packs, load_pack
from grader.runner import GradeOptions, grade

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "tests" / "engine" / "submissions"
HEADER = re.compile(r"^# (expect-fail(?:-only)?|expect): *(.+)$", re.M)


def _expected(path: Path) -> tuple[str, set[str]]:
    match = HEADER.search("\n".join(path.read_text(encoding="utf-8").splitlines()[:3]))
    if not match:
        return "expect", set()
    kind, names = match.groups()
    return kind, {n.strip() for n in names.split(",")}


def _grade(pack: str, path: Path) -> tuple[Path, set[str], float]:
    results = grade(path, load_pack(pack), GradeOptions(fast=True))
    ran = [t for t in results.tests if t.status != "skipped"]
    return path, {t.tags[0] for t in ran if t.score < t.max_score}, results.score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", action="append", help="only these packs")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    for pack in args.pack or available_packs():
        spec = load_pack(pack)
        files = sorted(p for p in (SUBMISSIONS / pack / "wrong").glob("*.py"))
        files.append(spec.template_dir / spec.submission_name)
        with ThreadPoolExecutor(args.jobs) as pool:
            graded = list(pool.map(_grade, [pack] * len(files), files))
        extra_total = stub_points = 0.0
        charged_wider = 0
        for path, lost, score in graded:
            kind, expected = _expected(path)
            if (kind, expected) == ("expect", {"zero"}) or path.parent == spec.template_dir:
                stub_points += score
                print(f"{pack} {path.stem}: stub/template paid {score:g}")
                continue
            if kind == "expect":  # e.g. expect: full-marks-cpu, a GPU-only bug
                continue
            extra = lost - expected
            charged_wider += bool(extra)
            extra_total += len(extra)
            print(f"{pack} {path.stem}: expected {sorted(expected)} lost {sorted(lost)}"
                  + (f"  EXTRA {sorted(extra)}" if extra else ""))
        print(f"== {pack}: {charged_wider} wrong file(s) charged beyond their own function(s) "
              f"({extra_total:g} extra functions in all); stubs and template paid "
              f"{stub_points:g} points\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
