"""Integrity report for a batch: which submissions look copied from each other, and where.

Every student's solution is fingerprinted (see :mod:`grader.batch.fingerprints`), so
renamed variables, new comments, reformatting and reordered functions do not hide a copy.
Code the starter template already contained, and code most of the class shares, does not
count. Pairs are found through an inverted index (fingerprint -> students), so the work
grows with what students actually share rather than with all n * (n - 1) / 2 pairs.

This only points a TA at pairs worth reading; a high score is not proof of anything.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.batch.fingerprints import (
    fingerprint_all,
    kgram_hashes,
    merge_regions,
    normalise,
    pair_counts,
)
from grader.feedback import code, plain
from grader.files import write_atomically
from grader.locate import locate_submission
from grader.sandboxed.submission import read_source

__all__ = ["SimilarPair", "SimilarityReport", "read_solutions", "similarity_report",
           "solution_text"]

Region = tuple[int, int, int, int]  # a_start, a_end, b_start, b_end (1-based, inclusive)
_SHOWN_REGIONS = 10
_EXCERPT_LINES = 12
_LINES_NOTE = ("Line numbers are those of the submitted file; for a notebook, of its code "
               "cells joined in order with one blank line between cells.")


def _read_solution(path: str | os.PathLike[str], filename: str) -> tuple[str, str | None]:
    """The code, or '' and why not: one bad hand-in must never stop a whole batch."""
    located = None
    try:
        located = locate_submission(path, filename)
        return read_source(located.path).text, None
    except Exception as exc:  # locate/read raise their own types, but also OSError etc.
        return "", str(exc) or type(exc).__name__
    finally:
        if located is not None and located.cleanup is not None:
            located.cleanup()


def solution_text(submission_path: str | os.PathLike[str], filename: str = "solution.py") -> str:
    """Code of a .py, notebook (cells combined, magics neutralised), folder or zip; '' if none."""
    return _read_solution(submission_path, filename)[0]


def read_solutions(
    paths: Mapping[str, str | os.PathLike[str]], filename: str = "solution.py"
) -> tuple[dict[str, str], dict[str, str]]:
    """Texts by student id, and the reason for each one that could not be read."""
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    for sid in sorted(paths):
        text, problem = _read_solution(paths[sid], filename)
        texts[sid] = text
        if problem is not None:
            problems[sid] = problem
    return texts, problems


@dataclass
class SimilarPair:
    """Two submissions with too much code in common; ``a`` sorts before ``b``."""

    a: str
    b: str
    score: float  # shared fingerprints / fingerprints of the smaller submission
    coverage_a: float  # share of a's fingerprints also found in b
    coverage_b: float
    matched: int
    regions: list[Region]

    @property
    def lines_a(self) -> int:
        return len({n for r in self.regions for n in range(r[0], r[1] + 1)})

    @property
    def lines_b(self) -> int:
        return len({n for r in self.regions for n in range(r[2], r[3] + 1)})

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "score": round(self.score, 4),
                "coverage_a": round(self.coverage_a, 4), "coverage_b": round(self.coverage_b, 4),
                "matched_fingerprints": self.matched, "lines_a": self.lines_a,
                "lines_b": self.lines_b, "regions": [list(r) for r in self.regions]}


@dataclass
class SimilarityReport:
    """Flagged pairs (highest score first) and the submissions that could not be compared."""

    pairs: list[SimilarPair]
    threshold: float
    unreadable: dict[str, str]
    too_small: list[str] = field(default_factory=list)
    compared: int = 0
    settings: dict[str, float | int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "settings": dict(self.settings),
                "compared": self.compared, "line_numbers": _LINES_NOTE,
                "unreadable": dict(sorted(self.unreadable.items())),
                "too_small": list(self.too_small), "pairs": [p.to_json() for p in self.pairs]}

    def to_markdown(self) -> str:
        out = ["# Similarity report", "",
               f"Compared {_count(self.compared, 'submission')}; "
               f"{_count(len(self.pairs), 'pair')} at or above the threshold of "
               f"{self.threshold:.2f}. The score is the share of the smaller submission's "
               "fingerprints found in the other, after removing the template's code"
               + (f" and code shared by more than {self.settings['max_share']:.0%} of the class"
                  if "max_share" in self.settings else "")
               + f". A high score means: read both. {_LINES_NOTE}", ""]
        if self.pairs:
            out += ["| # | Student A | Student B | Score | A found in B | B found in A "
                    "| Lines A | Lines B |", "|---|---|---|---|---|---|---|---|"]
            out += [f"| {i} | {_cell(p.a)} | {_cell(p.b)} | {p.score:.2f} | {p.coverage_a:.0%} "
                    f"| {p.coverage_b:.0%} | {p.lines_a} | {p.lines_b} |"
                    for i, p in enumerate(self.pairs, 1)]
        else:
            out.append("No pair reaches the threshold.")
        if self.unreadable:
            out += ["", "## Unreadable or empty submissions (not compared)", ""]
            # the reason quotes file and archive member names: the students' own text
            out += [f"- {_cell(s)}: {plain(' '.join(why.split()), 500)}"
                    for s, why in sorted(self.unreadable.items())]
        if self.too_small:
            out += ["", "## Too little code beyond the template to compare", ""]
            out.append(", ".join(_cell(s) for s in self.too_small))
        for i, pair in enumerate(self.pairs, 1):
            out += ["", f"## {i}. {_cell(pair.a)} and {_cell(pair.b)} (score {pair.score:.2f})"]
            for a0, a1, b0, b1 in pair.regions[:_SHOWN_REGIONS]:
                out += ["", f"### {_cell(pair.a)} lines {a0}-{a1}, {_cell(pair.b)} lines {b0}-{b1}"]
                out += _excerpt(pair.a, self.texts.get(pair.a, ""), a0, a1)
                out += _excerpt(pair.b, self.texts.get(pair.b, ""), b0, b1)
            if len(pair.regions) > _SHOWN_REGIONS:
                out += ["", f"({len(pair.regions) - _SHOWN_REGIONS} more regions in "
                        "similarity.json)"]
        return "\n".join(out) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        """Write similarity.json and similarity.md; readers never see a half-written file."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        return (write_atomically(out_dir / "similarity.json", data),
                write_atomically(out_dir / "similarity.md", self.to_markdown()))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cell(text: str) -> str:
    """A student id as inline code nothing in it can close (no line break of any kind, a
    fence longer than its backticks), whose pipes do not split a table's cell."""
    return code(text).replace("|", "\\|")


def _excerpt(sid: str, text: str, start: int, end: int) -> list[str]:
    lines = text.split("\n")
    shown = lines[start - 1 : min(end, start + _EXCERPT_LINES - 1)]
    body = [f"{n:5d}  {line}" for n, line in enumerate(shown, start)]
    if end - start + 1 > len(shown):
        body.append(f"  ... ({_count(end - start + 1 - len(shown), 'more line')})")
    fence = "`" * max(3, 1 + max(map(len, re.findall("`+", "".join(body))), default=0))
    return ["", f"{_cell(sid)}:", f"{fence}python", *body, fence]


def similarity_report(
    sources: Mapping[str, str],
    template: str = "",
    *,
    threshold: float = 0.6,
    k: int = 12,
    window: int = 8,
    max_share: float = 0.5,
    min_class: int = 10,
    min_fingerprints: int = 10,
    unreadable: Mapping[str, str] | None = None,
    jobs: int = 1,
) -> SimilarityReport:
    """Compare every student's code with every other's; keep pairs scoring >= ``threshold``.

    ``k=12`` normalised tokens is about one line of homework code (``V = V . exp ( V - V .
    max ( V``): short enough to catch a copied two-line ``relu``, long enough that lone
    idioms every student writes do not match. ``window=8`` keeps ~2/9 of the k-grams and
    guarantees that any shared run of k + window - 1 = 19 tokens (two lines) is seen.
    Fingerprints of ``template`` (all its k-grams) are dropped, and with at least
    ``min_class`` readable submissions so are those in more than ``max_share`` of them.
    Students left with fewer than ``min_fingerprints`` (such as an untouched template) are
    listed as too small instead of compared. ``unreadable`` carries ids whose reading failed.
    ``jobs`` > 1 fingerprints in that many processes (same result, for large classes).
    """
    problems = dict(unreadable or {})
    texts = {sid: sources[sid] for sid in sorted(sources) if sid not in problems}
    for sid in [s for s, text in texts.items() if not text.strip()]:
        problems[sid] = "no code to compare (empty or unreadable submission)"
        del texts[sid]
    ids = list(texts)
    prints = fingerprint_all([texts[sid] for sid in ids], k, window, jobs)
    skip = set(kgram_hashes(normalise(template)[0], k).tolist()) if template.strip() else set()
    index: dict[int, list[int]] = defaultdict(list)
    for i, fp in enumerate(prints):
        for h in fp.spans.keys() - skip:
            index[h].append(i)
    if len(ids) >= min_class:
        index = {h: st for h, st in index.items() if len(st) <= max_share * len(ids)}
    sizes = np.array([sum(h in index for h in fp.spans) for fp in prints], dtype=np.int64)
    small = [i for i, size in enumerate(sizes.tolist()) if size < min_fingerprints]
    if small:
        left_out = set(small)
        postings = [[i for i in st if i not in left_out] for st in index.values()]
    else:
        postings = list(index.values())
    codes, counts = pair_counts(postings, max(len(ids), 1))
    first, second = codes // max(len(ids), 1), codes % max(len(ids), 1)
    scores = counts / np.minimum(sizes[first], sizes[second]).clip(min=1)
    flagged = scores >= threshold
    pairs = []
    for i, j, shared, score in zip(first[flagged].tolist(), second[flagged].tolist(),
                                   counts[flagged].tolist(), scores[flagged].tolist(), strict=True):
        a, b = prints[i].spans, prints[j].spans
        common = [h for h in a.keys() & b.keys() if h in index]
        cover_a, cover_b = shared / int(sizes[i]), shared / int(sizes[j])
        pairs.append(SimilarPair(ids[i], ids[j], score, cover_a, cover_b, shared,
                                 merge_regions(a, b, common)))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    settings = {"k": k, "window": window, "max_share": max_share, "min_class": min_class,
                "min_fingerprints": min_fingerprints}
    return SimilarityReport(pairs, threshold, problems, [ids[i] for i in small],
                            len(ids), settings, texts)
