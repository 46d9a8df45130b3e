"""Reading what a known submission expects, and what grading it cost, for the engine tests.

A known submission says what to expect in its first lines: ``# expect-fail: backward[, loss]``
(those functions' tests must lose points; ``# expect-fail-only:`` adds that no other function
may), ``# expect-fail-slow: train_loop`` (only a slow,
real-data test can catch it), ``# expect-fail-gpu: ...`` (only a GPU test can), or
``# expect: full-marks``. A wrong one may add ``# expect-hint: update: whatever rate`` (any
number of these lines): some failing test of that function must say that text, so a hint
that stops recognising the student's pattern fails the engine's tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.results import Results

SUBMISSIONS = Path(__file__).parent / "submissions"


def header(path: Path) -> str:
    target = path / "solution.py" if path.is_dir() else path
    if target.suffix == ".ipynb":
        return "# expect: full-marks"
    lines = target.read_text(encoding="utf-8").splitlines()
    return "\n".join(lines[:3] + [ln for ln in lines[3:8] if ln.startswith("# expect-hint:")])


def expected_failures(path: Path, kind: str = "expect-fail") -> set[str]:
    """The functions a header names; ``expect-fail`` also reads ``expect-fail-only`` (those
    must lose, and nothing else may: see test_charged_once.py)."""
    kinds = f"{kind}(?:-only)?" if kind == "expect-fail" else kind
    match = re.search(rf"^# {kinds}:\s*(.+)$", header(path), re.M)
    return {tag.strip() for tag in match.group(1).split(",")} if match else set()


def expected_hints(path: Path) -> list[tuple[str, str]]:
    """The (function, text) pairs of a header's ``# expect-hint:`` lines."""
    return [(m.group(1).strip(), m.group(2).strip())
            for m in re.finditer(r"^# expect-hint:\s*([^:]+):\s*(.+)$", header(path), re.M)]


def missing_hints(path: Path, results: Results) -> list[str]:
    """The expected hints no failing test of their function gave, with what those said."""
    missing = []
    for function, text in expected_hints(path):
        said = [t.output for t in ran(results)
                if t.score < t.max_score and t.tags and t.tags[0] == function]
        if not any(text in output for output in said):
            missing.append(f"{function}: no failing test says {text!r}; they said:\n"
                           + "\n---\n".join(said))
    return missing


def known(pack: str, folder: str, kind: str | None = None) -> list[Path]:
    """The known submissions of ``pack`` in ``folder`` (wrong/correct), by expectation kind."""
    paths = sorted(p for p in (SUBMISSIONS / pack / folder).iterdir()
                   if not p.name.startswith(".") and p.suffix in (".py", ".ipynb", ""))
    if kind is None:
        return paths
    kinds = (f"# {kind}:", f"# {kind}-only:") if kind == "expect-fail" else (f"# {kind}:",)
    return [p for p in paths if any(k in header(p) for k in kinds)]


def ran(results: Results) -> list:
    return [t for t in results.tests if t.status != "skipped"]


def lost(results: Results) -> set[str]:
    """The functions (test tags) on which some test that ran lost points."""
    return {t.tags[0] for t in ran(results) if t.score < t.max_score}
