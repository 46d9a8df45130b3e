"""The audit's report: Markdown for the instructor (every survivor with its diff) and JSON
with every mutant, sampled or not."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from grader.audit.mutants import Mutant
from grader.audit.operators import OPERATORS
from grader.audit.run import (
    ERROR,
    FREE,
    GIVEN,
    KILLED,
    NOT_LOADED,
    NOT_READ,
    SAME_OUTPUTS,
    SAME_SOURCE,
    SURVIVED,
    TIMED_OUT,
    Audit,
    Outcome,
)
from grader.files import write_atomically

NOT_SAMPLED = "not sampled"
COLUMNS = (KILLED, SURVIVED, TIMED_OUT, ERROR, SAME_OUTPUTS, NOT_LOADED, NOT_READ, FREE,
           SAME_SOURCE)
ABOUT = {op.name: op.about for op in OPERATORS}


def _rate(killed: int, judged: int) -> str:
    return f"{killed / judged:.1%}" if judged else "n/a"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(audit: Audit) -> str:
    b, e = audit.baseline, audit.enumeration
    counts = {s: audit.count(s) for s in COLUMNS}
    judged = counts[KILLED] + counts[SURVIVED] + counts[TIMED_OUT]
    lines = [
        f"# Mutation audit of `{audit.pack}`", "",
        f"Reference: `{audit.reference}`. Options: {'--fast' if audit.fast else '--slow'}, "
        f"-j {audit.jobs}, seed {audit.seed}; {audit.sampled} of the {audit.student_code} "
        "mutants in code the student writes sampled"
        + (f" (--sample {audit.sample_size})" if audit.sample_size else "") +
        f"; {audit.seconds:.1f} s in all.", "",
        f"Baseline: the unmodified reference scores {b.score:g} of the {b.runnable_max:g} "
        f"points of the tests that ran ({b.seconds:.1f} s). " +
        ("It has full marks." if b.full_marks else
         "**It does not have full marks** (lost in: " + ", ".join(b.lost) + "); a mutant "
         "is killed only when it scores less than that."), "",
        f"**Kill rate: {_rate(counts[KILLED], judged)}** = killed {counts[KILLED]} / "
        f"(killed {counts[KILLED]} + survived {counts[SURVIVED]} + timed out "
        f"{counts[TIMED_OUT]}). Left out of the rate: {counts[ERROR]} grader error(s), "
        f"{counts[SAME_SOURCE]} equivalent (same source) mutant(s), which unparse to the "
        f"reference's own source and are not graded, {counts[NOT_LOADED]} equivalent (not "
        "loaded) mutant(s), whose edit is in top-level code the definitions-only load drops "
        f"(not graded either), {counts[NOT_READ]} equivalent (not read) survivor(s), whose "
        "edit is to a top-level variable of the student's own (the template binds no such "
        "name) that no test that ran reads (a copy without it scores as the reference on "
        "every test; listed below), "
        f"{counts[FREE]} variant(s) the handout allows, survivors in code the pack names as "
        "the student's choice (`[audit] free`, listed below with the handout's words), "
        f"and {counts[SAME_OUTPUTS]} survivor(s) equivalent on the "
        "probes: " + _probes_sentence(audit)
        + _undecided_sentence(audit)
        + f" Dropped before grading: {e.not_compiling} that do not compile, "
        f"{e.duplicates} duplicate(s) of another mutant's source. Not sampled: "
        f"{audit.count(GIVEN)} mutant(s) of code the handout gives (the template holds it "
        "unchanged; listed at the end), which would measure the handout, not the tests of "
        "what students write.", "",
        "A survivor is a bug a student could hand in for the same score as the reference. "
        "Some are harmless (an edit to code no test is meant to reach, or that "
        + ("--fast leaves to the slow tests" if audit.fast else "no test reaches") +
        "); each deserves a look.", "",
        "## By operator", "",
        "| operator | edit | " + " | ".join(COLUMNS) + " | kill rate |",
        "| --- | --- | " + " | ".join("---:" for _ in COLUMNS) + " | ---: |",
    ]
    by_op = _by_operator(audit.outcomes)
    by_op = {name: kept for name, outcomes in by_op.items()
             if (kept := [o for o in outcomes if o.status != GIVEN])}
    for name, outcomes in by_op.items():
        c = {s: sum(o.status == s for o in outcomes) for s in COLUMNS}
        lines.append(f"| {name} | {_cell(ABOUT.get(name, ''))} | "
                     + " | ".join(str(c[s]) for s in COLUMNS) + " | "
                     + _rate(c[KILLED], c[KILLED] + c[SURVIVED] + c[TIMED_OUT]) + " |")
    for name, outcomes in by_op.items():
        lines += ["", f"### {name}", "", "| mutant | line | in | edit | status | killed by / why |",
                  "| --- | ---: | --- | --- | --- | --- |"]
        lines += [f"| `{o.mutant.id}` | {o.mutant.line} | `{o.mutant.function}` | "
                  f"{_cell(o.mutant.note)} | {o.status} | {_cell(o.killed_by or o.message)} |"
                  for o in outcomes]
    survivors = [o for o in audit.outcomes if o.status == SURVIVED]
    lines += ["", f"## Survivors ({len(survivors)}: {len(audit.gaps)} unexplained)", ""]
    if not survivors:
        lines.append("None: every graded mutant lost points or timed out.")
    for o in survivors:
        lines += _mutant_section(o.mutant, [
            f"Scored {o.score:g}, as the reference did. {o.message}".strip(), "",
            f"Why: {o.explained}." if o.explained else
            "**Unexplained: a gap in the pack's tests.**", ""])
    free = [o for o in audit.outcomes if o.status == FREE]
    if free:
        lines += ["", f"## Variants the handout allows ({len(free)})", "",
                  "Survivors in code the pack's `[audit.free]` names as the student's choice; "
                  "every test that grades it ran and scored them as the reference.", ""]
    for o in free:
        lines += _mutant_section(o.mutant, [f"Allowed: {o.explained}.", ""])
    for status, title in ((SAME_OUTPUTS, "Equivalent on the probes"),
                          (NOT_READ, "Equivalent: not read by any test that ran")):
        equivalent = [o for o in audit.outcomes if o.status == status]
        if equivalent:
            lines += ["", f"## {title} ({len(equivalent)})", ""]
        for o in equivalent:
            lines += _mutant_section(o.mutant)
    handout = _given_functions(audit.outcomes)
    if handout:
        lines += ["", f"## Code the handout gives ({audit.count(GIVEN)} mutants, not sampled)",
                  "", "The template holds this code as the reference has it: "
                  + ", ".join(f"`{name}` ({n})" for name, n in handout.items()) + "."]
    return "\n".join(lines).rstrip() + "\n"


def _given_functions(outcomes: list[Outcome]) -> dict[str, int]:
    """How many mutants of handout code each function (or the module) has."""
    found: dict[str, int] = {}
    for o in outcomes:
        if o.status == GIVEN:
            found[o.mutant.function] = found.get(o.mutant.function, 0) + 1
    return found


def _mutant_section(m: Mutant, notes: list[str] = ()) -> list[str]:
    """A heading naming the mutant, ``notes``, and its diff."""
    return [f"### `{m.id}`: line {m.line}, in `{m.function}`: {m.note}", "", *notes,
            "```diff", m.diff.rstrip("\n"), "```", ""]


def _undecided_sentence(audit: Audit) -> str:
    if not audit.undecided:
        return ""
    rate = audit.decided_kill_rate
    return (f" {audit.undecided} survivor(s) are graded by tests this run left out too (the "
            "slow and GPU ones under --fast), so this run cannot decide them: over the mutants "
            f"it could decide, the kill rate is {'n/a' if rate is None else f'{rate:.1%}'}; "
            "a --slow audit on a GPU decides the rest.")


def _probes_sentence(audit: Audit) -> str:
    if not audit.probes:
        return ("the pack names no probe file (`[audit] probes` in pack.toml), so no "
                "survivor is called equivalent.")
    return (f"each gave the reference's own outputs on all {len(audit.probes)} probes ("
            + ", ".join(f"`{p}`" for p in audit.probes) + "), and a canary copy of it that "
            "raises just before the edited statement changed them (the probes run it). Same "
            "outputs on these inputs is evidence of equivalence, not proof: the equivalent "
            "mutants are listed below with their diffs too.")


def _by_operator(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    found: dict[str, list[Outcome]] = {}
    for o in outcomes:
        found.setdefault(o.mutant.operator, []).append(o)
    order = [op.name for op in OPERATORS]
    return dict(sorted(found.items(),
                       key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def to_json(audit: Audit) -> dict[str, Any]:
    b, e = audit.baseline, audit.enumeration
    classified = {o.mutant.id: o for o in audit.outcomes}
    mutants = []
    for m in e.mutants:
        o = classified.get(m.id)
        mutants.append({
            "id": m.id, "operator": m.operator, "line": m.line, "function": m.function,
            "edit": m.note, "status": o.status if o else NOT_SAMPLED,
            "score": o.score if o else None, "killed_by": o.killed_by if o else "",
            "message": o.message if o else "",
            "explained": o.explained if o else "",
            "undecided": o.undecided if o else False, "seconds": round(o.seconds, 2) if o else 0.0,
            "diff": m.diff})
    return {
        "pack": audit.pack, "reference": audit.reference,
        "options": {"fast": audit.fast, "jobs": audit.jobs, "sample": audit.sample_size,
                    "seed": audit.seed},
        "baseline": {"score": b.score, "runnable_max": b.runnable_max,
                     "full_marks": b.full_marks, "lost": b.lost,
                     "seconds": round(b.seconds, 2)},
        "kill_rate": audit.kill_rate,
        "undecided": audit.undecided, "decided_kill_rate": audit.decided_kill_rate,
        "probes": audit.probes,
        "counts": {s: audit.count(s) for s in COLUMNS},
        "unexplained_survivors": [o.mutant.id for o in audit.gaps],
        "given_by_the_handout": audit.count(GIVEN),
        "enumerated": {"mutants": len(e.mutants), "gradable": len(e.gradable),
                       "not_compiling": e.not_compiling, "duplicates": e.duplicates},
        "seconds": round(audit.seconds, 2),
        "mutants": mutants,
    }


# The page loads and runs nothing; Markdown's raw HTML is off (the diffs quote code).
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}
pre{{background:#f6f6f6;padding:.5em;overflow-x:auto}}</style></head>
<body>
{body}
</body></html>
"""


def render_html(audit: Audit) -> str:
    """The Markdown report as one self-contained page (every survivor's diff included)."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(
        render_markdown(audit))
    return _PAGE.format(title=html.escape(f"Mutation audit of {audit.pack}"), body=body)


def write_report(audit: Audit, out: str | Path) -> tuple[Path, Path]:
    """Write ``audit.md``, ``audit.html`` and ``audit.json`` into ``out``; return the paths of
    the Markdown and the JSON."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "audit.md", out / "audit.json"
    write_atomically(md, render_markdown(audit).encode("utf-8"))
    write_atomically(out / "audit.html", render_html(audit).encode("utf-8"))
    write_atomically(js, (json.dumps(to_json(audit), indent=1) + "\n").encode("utf-8"))
    return md, js
