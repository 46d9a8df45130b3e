"""``grader selftest``: can a TA trust this box? Each pack graded through the real path.

For each pack: the reference must get full marks (the canary, :mod:`grader.canary`), and one
known-weak hand-in must lose points exactly where its header says (``# expect-fail:`` on the
CPU, ``# expect-fail-gpu:`` with ``--gpu``), from ``tests/engine/submissions/<pack>/wrong/``
in a checkout. A table with the verdicts and timings is printed; the exit status is 1 when a
verdict is wrong.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from grader.canary import run_canary
from grader.packs import Pack, available_packs, load_pack, packs_root
from grader.runner import GradeOptions, grade

__all__ = ["Check", "run_selftest"]

_HEADER = re.compile(r"^# (expect-fail(?:-only|-gpu)?):\s*(.+)$", re.M)


@dataclass
class Check:
    pack: str
    what: str
    expected: str
    got: str
    ok: bool
    seconds: float


def run_selftest(packs: list[str] | None = None, *, gpu: bool = False) -> list[Check]:
    """The checks, one pack after another."""
    checks: list[Check] = []
    options = GradeOptions(fast=not gpu, gpu_tests="run")
    for name in packs or available_packs():
        pack = load_pack(name)
        started = time.monotonic()
        canary = run_canary(pack, options, reuse=False)
        checks.append(Check(name, "reference", "full marks",
                            f"{canary.score:g}/{canary.max_score:g}", canary.ok,
                            time.monotonic() - started))
        weak = _weak_file(pack, gpu)
        if weak is None:
            checks.append(Check(name, "a known-weak hand-in", "loses points", "none found in "
                                "this install (tests/engine/submissions)", True, 0.0))
            continue
        path, expected = weak
        started = time.monotonic()
        results = grade(path, pack, options)
        lost = {t.tags[0] for t in results.tests
                if t.status not in ("skipped", "deferred") and t.score < t.max_score}
        checks.append(Check(name, path.name, "loses " + ", ".join(sorted(expected)),
                            "loses " + (", ".join(sorted(lost)) or "nothing"),
                            expected <= lost, time.monotonic() - started))
    return checks


def _weak_file(pack: Pack, gpu: bool) -> tuple[Path, set[str]] | None:
    folder = packs_root() / "tests" / "engine" / "submissions" / pack.name / "wrong"
    wanted = "expect-fail-gpu" if gpu else "expect-fail"
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        head = "\n".join(path.read_text(encoding="utf-8").splitlines()[:3])
        match = _HEADER.search(head)
        if match and match.group(1) == wanted:
            return path, {n.strip() for n in match.group(2).split(",")}
    return None


def render(checks: list[Check]) -> str:
    rows = [(c.pack, c.what, c.expected, c.got, "ok" if c.ok else "WRONG", f"{c.seconds:.1f} s")
            for c in checks]
    header = ("pack", "graded", "expected", "got", "verdict", "time")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    bad = sum(not c.ok for c in checks)
    lines.append("" if not bad else f"{bad} verdict(s) wrong: do not grade on this machine.")
    return "\n".join(lines).rstrip()
