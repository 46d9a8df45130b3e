"""Fingerprints of Python code that survive the cosmetic edits copiers make.

Renaming variables, rewording comments, reformatting and changing string literals leave
the normalised token stream unchanged; reordering functions only moves whole runs of it.
Hashing every k tokens and keeping the winnowed minima (Schleimer, Wilkerson and Aiken,
SIGMOD 2003, the MOSS method) then finds any shared run of ``k + window - 1`` tokens or
more. Hashes come from blake2b and fixed arithmetic, never from Python's salted ``hash``,
so the same input gives the same report on every run and machine. The class-scale steps
(fingerprinting many files, counting shared fingerprints per pair) live here too.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import multiprocessing
import re
import sys
import threading
import tokenize
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Fingerprints", "fingerprint", "fingerprint_all", "kgram_hashes", "merge_regions",
           "normalise", "pair_counts"]

IDENT, NUMBER, STRING = "V", "N", "S"
# Keywords and builtins carry structure that renaming cannot change; variables do not.
_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(n for n in dir(builtins) if n[:1] != "_")
_SKIPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                      tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER})
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+ splits f-strings
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
_KINDS = {tokenize.NAME: "name", tokenize.NUMBER: "number", tokenize.STRING: "string"}

_FALLBACK = re.compile(
    r"""(?P<skip>[ \t\f\r\n\\]+|\#[^\n]*)
    |(?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)
        |'(?:\\.|[^'\\\n])*'?|"(?:\\.|[^"\\\n])*"?))
    |(?P<number>0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)
    |(?P<name>[^\W\d]\w*)
    |(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%&|^@=!<>]=|\S)""",
    re.VERBOSE,
)

_BASE = np.uint64(0x100000001B3)  # FNV prime: odd, so the rolling product keeps low bits
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

_CHUNK = 32  # submissions per task sent to a worker process
_BLOCK = 1 << 22  # pair codes handled per numpy block: bounds memory on huge postings
_DENSE_LIMIT = 1 << 22  # count pairs in an n*n table up to 2,048 students

RawToken = tuple[str, str, int, int]  # kind, text, first line, last line
Span = tuple[int, int]


@dataclass
class Fingerprints:
    """Selected k-gram hashes of one file and the line span each covers."""

    spans: dict[int, list[Span]]
    tokens: int


def _python_tokens(text: str) -> list[RawToken]:
    out: list[RawToken] = []
    depth = 0  # inside a 3.12+ f-string: its pieces become one string token
    for kind, piece, (first, _), (last, _), _ in tokenize.generate_tokens(
        io.StringIO(text).readline
    ):
        if kind == _FSTRING_START:
            if depth == 0:
                out.append(("string", piece, first, last))
            depth += 1
        elif kind == _FSTRING_END:
            depth -= 1
            if depth == 0:
                out[-1] = (out[-1][0], out[-1][1], out[-1][2], last)
        elif depth or kind in _SKIPPED or (kind == tokenize.ERRORTOKEN and not piece.strip()):
            continue
        else:
            out.append((_KINDS.get(kind, "op"), piece, first, last))
    return out


def _regex_tokens(text: str) -> list[RawToken]:
    """Cruder tokens for code ``tokenize`` rejects (unclosed brackets, bad indentation)."""
    out: list[RawToken] = []
    line = 1
    for match in _FALLBACK.finditer(text):
        piece = match.group()
        newlines = piece.count("\n")
        if match.lastgroup != "skip":
            out.append((match.lastgroup or "op", piece, line, line + newlines))
        line += newlines
    return out


def _drop_docstrings(raw: list[RawToken]) -> list[RawToken]:
    """Drop string statements alone on their lines: docstrings and strings used as comments."""
    drop: list[int] = []
    runs: list[list[int]] = []
    for i, token in enumerate(raw):
        if token[0] == "string":
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    for run in runs:
        before, after = run[0] - 1, run[-1] + 1
        if ((before < 0 or raw[before][3] < raw[run[0]][2])
                and (after == len(raw) or raw[after][2] > raw[run[-1]][3])):
            drop.extend(run)
    if not drop:
        return raw
    dropped = set(drop)
    return [token for i, token in enumerate(raw) if i not in dropped]


def normalise(text: str) -> tuple[list[str], list[int]]:
    """Normalised tokens and their source lines: what stays when a copy is disguised."""
    try:
        raw = _python_tokens(text)
    except (tokenize.TokenError, SyntaxError, ValueError):
        raw = _regex_tokens(text)
    kept = _drop_docstrings(raw)
    values: list[str] = []
    after_dot = False
    for kind, piece, _, _ in kept:
        if kind == "name":
            value = piece if after_dot or piece in _KEPT_NAMES else IDENT
        elif kind == "op":
            value = piece
        else:
            value = NUMBER if kind == "number" else STRING
        after_dot = value == "."
        values.append(value)
    return values, [token[2] for token in kept]


@lru_cache(maxsize=1 << 16)
def _token_hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")


def kgram_hashes(values: list[str], k: int) -> np.ndarray:
    """A 64-bit hash of every run of ``k`` tokens (uint64 arithmetic wraps, deterministically)."""
    count = len(values) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((_token_hash(v) for v in values), dtype=np.uint64, count=len(values))
    h = np.zeros(count, dtype=np.uint64)
    for j in range(k):
        h = h * _BASE + ids[j : j + count]
    h ^= h >> np.uint64(30)  # splitmix64 finaliser: the minima below need well-mixed bits
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    return h ^ (h >> np.uint64(31))


def _winnow(h: np.ndarray, window: int) -> np.ndarray:
    """Positions of the rightmost minimum of every window, each position once."""
    if len(h) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(h) <= window:
        return np.array([len(h) - 1 - int(np.argmin(h[::-1]))])
    rightmost = window - 1 - sliding_window_view(h, window)[:, ::-1].argmin(axis=1)
    chosen = np.arange(len(rightmost)) + rightmost  # never decreasing: drop repeats
    return chosen[np.concatenate(([True], chosen[1:] != chosen[:-1]))]


def fingerprint(text: str, k: int, window: int) -> Fingerprints:
    """Winnowed fingerprints of ``text``, each with the lines of its first and last token."""
    values, lines = normalise(text)
    h = kgram_hashes(values, k)
    spans: dict[int, list[Span]] = {}
    chosen = _winnow(h, window)
    for p, value in zip(chosen.tolist(), h[chosen].tolist(), strict=True):
        spans.setdefault(value, []).append((lines[p], lines[p + k - 1]))
    return Fingerprints(spans, len(values))


def merge_regions(
    spans_a: dict[int, list[Span]],
    spans_b: dict[int, list[Span]],
    shared: Iterable[int],
    gap: int = 3,
    per_hash: int = 4,
) -> list[tuple[int, int, int, int]]:
    """Join matched fingerprints into (a_start, a_end, b_start, b_end) line ranges.

    Matches are walked in A's order; one extends a region when it continues it on both
    sides (within ``gap`` lines, which absorbs removed comments and blank lines), so a
    function moved elsewhere in B starts a region of its own. A region lying inside
    another on both sides is a repeat of the same code and is dropped.
    """
    matches = sorted((a0, a1, b0, b1) for h in shared for a0, a1 in spans_a[h][:per_hash]
                     for b0, b1 in spans_b[h][:per_hash])
    regions: list[list[int]] = []
    for a0, a1, b0, b1 in matches:
        for r in reversed(regions):
            if r[1] + gap < a0:
                continue
            if r[2] - gap <= b0 <= r[3] + gap:
                r[1], r[3] = max(r[1], a1), max(r[3], b1)
                r[2] = min(r[2], b0)
                break
        else:
            regions.append([a0, a1, b0, b1])
    unique = sorted({(r[0], r[1], r[2], r[3]) for r in regions})
    return [r for r in unique if not any(
        o != r and o[0] <= r[0] and r[1] <= o[1] and o[2] <= r[2] and r[3] <= o[3]
        for o in unique)]


def pair_counts(postings: Iterable[list[int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared-fingerprint count of every pair sharing any: ``(codes i*n+j, counts)``, i < j.

    Postings of equal length are stacked so numpy expands them into pairs in one step.
    Counts go into a dense n*n table when that is small (1,000 students: 8 MB), otherwise
    they are sorted and summed.
    """
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    for students in postings:
        if len(students) > 1:
            by_size[len(students)].append(students)
    dense = np.zeros(n * n if n * n <= _DENSE_LIMIT else 0, dtype=np.int64)
    codes: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    counts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    pending: list[np.ndarray] = []

    def flush() -> None:
        pairs = np.concatenate(pending)
        pending.clear()
        if len(dense):
            dense[:] += np.bincount(pairs, minlength=len(dense))
        else:
            u, c = np.unique(pairs, return_counts=True)
            codes.append(u)
            counts.append(c)

    waiting = 0
    for size, lists in sorted(by_size.items()):
        first, second = np.triu_indices(size, 1)
        rows = max(1, _BLOCK // len(first))
        for start in range(0, len(lists), rows):
            block = np.array(lists[start : start + rows], dtype=np.int64)
            pending.append((block[:, first] * n + block[:, second]).ravel())
            waiting += len(pending[-1])
            if waiting >= _BLOCK:
                flush()
                waiting = 0
    if pending:
        flush()
    if len(dense):
        found = np.flatnonzero(dense)
        return found, dense[found]
    unique, where = np.unique(np.concatenate(codes), return_inverse=True)
    return unique, np.bincount(where, weights=np.concatenate(counts)).astype(np.int64)


def _start_method() -> str:
    """``fork``, unless this process runs other threads (JAX starts its own when imported,
    as in a test session): a forked child could then inherit a held lock and hang."""
    return "forkserver" if "jax" in sys.modules or threading.active_count() > 1 else "fork"


def fingerprint_all(texts: list[str], k: int, window: int, jobs: int) -> list[Fingerprints]:
    """Tokenising is most of the time, and each file is independent: use ``jobs`` processes.

    Only where ``fork`` is the safe and usual start method (Linux): spawned workers would
    re-run the caller's script, which a TA's quick unguarded script cannot survive.
    """
    work = partial(fingerprint, k=k, window=window)
    if jobs > 1 and len(texts) >= 2 * _CHUNK and sys.platform.startswith("linux"):
        try:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(
                    _start_method())) as pool:
                return list(pool.map(work, texts, chunksize=_CHUNK))
        except (OSError, BrokenProcessPool):
            pass  # no processes to be had here: the same result, only slower
    return [work(text) for text in texts]
