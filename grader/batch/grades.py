"""The class's grades: ``grades.csv`` (one row per student) and ``grades.json`` (per test).

The CSV is what goes to Gradescope or an LMS: student id, name, email, total, status, then
one column per test. Tests are matched across students by their pytest node id, so a test
that one student never reached still lines up with everyone else's.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.files import write_atomically
from grader.results import DEFERRED_PREFIX

STATUSES = ("ok", "not loadable", "missing", "timeout", "error")


@dataclass
class Graded:
    """A student's row: who, how grading went, and the Gradescope results."""

    student: str
    status: str
    results: dict[str, Any]
    name: str = ""
    email: str = ""
    submission: str = ""


def test_columns(rows: list[Graded]) -> list[tuple[str, str]]:
    """(node id, column title) for every test any student has, in test-number order."""
    seen: dict[str, tuple[float, str]] = {}
    for row in rows:
        for i, test in enumerate(row.results.get("tests", [])):
            key = _key(test)
            if key not in seen:
                number = _number(test.get("number"), i)
                # the test's own name: a deferred test's cell already says "deferred"
                name = str(test.get("name", key)).removeprefix(DEFERRED_PREFIX)
                seen[key] = (number, f"{test.get('number', i + 1)}. {name}")
    return [(k, title) for k, (_, title) in sorted(seen.items(), key=lambda kv: kv[1][0])]


def _key(test: dict[str, Any]) -> str:
    return test.get("extra_data", {}).get("nodeid") or test.get("name", "")


def _number(value: Any, fallback: int) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(fallback + 1)


def csv_text(rows: list[Graded]) -> str:
    columns = test_columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "name", "email", "submission", "status", "total",
                     "max_score", *(title for _, title in columns)])
    for row in sorted(rows, key=lambda r: r.student):
        by_key = {_key(t): t for t in row.results.get("tests", [])}
        cells = [_cell(by_key.get(key)) for key, _ in columns]
        writer.writerow([_safe(row.student), _safe(row.name), _safe(row.email),
                         _safe(row.submission), row.status, _fmt(row.results.get("score", 0)),
                         _fmt(max_score(row.results)), *cells])
    return out.getvalue()


def _cell(test: dict[str, Any] | None) -> str:
    if test is None:
        return ""
    if test.get("extra_data", {}).get("status") == "deferred":
        return "deferred"
    return _fmt(test.get("score", 0))


def _safe(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas, and some read full-width
    or other compatibility forms (``＝``) as those: names come from students. Control
    characters (a leading NUL) are dropped, then a cell that would start a formula once
    normalised (NFKC) gets a leading quote."""
    text = "".join(c for c in str(text) if c.isprintable() or c == " ")
    start = unicodedata.normalize("NFKC", text.lstrip())[:1]
    return "'" + text if start in ("=", "+", "-", "@") else text


def _fmt(x: Any) -> str:
    return f"{float(x):g}"


def max_score(results: dict[str, Any]) -> float:
    return sum(float(t.get("max_score", 0)) for t in results.get("tests", []))


def grades_json(rows: list[Graded]) -> dict[str, Any]:
    return {"students": [{
        "student": r.student, "name": r.name, "email": r.email, "submission": r.submission,
        "status": r.status, "score": r.results.get("score", 0), "max_score": max_score(r.results),
        "submission_sha256": r.results.get("extra_data", {}).get("submission_sha256", ""),
        "tests": [{"name": t.get("name"), "number": t.get("number"),
                   "nodeid": t.get("extra_data", {}).get("nodeid"), "score": t.get("score"),
                   "max_score": t.get("max_score"),
                   "status": t.get("extra_data", {}).get("status", t.get("status"))}
                  for t in r.results.get("tests", [])],
    } for r in sorted(rows, key=lambda r: r.student)]}


def write_grades(rows: list[Graded], out: Path) -> tuple[Path, Path]:
    csv_path = write_atomically(out / "grades.csv", csv_text(rows))
    json_path = write_atomically(out / "grades.json",
                                      json.dumps(grades_json(rows), indent=2) + "\n")
    return csv_path, json_path
