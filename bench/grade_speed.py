"""How fast does grading go? Prints wall times and ratios measured in this one run.

1. Grading the IFT6135 reference with every test but the slow ones (goal: < 20 s on 2 cores).
2. Twenty submissions graded one after another (the known wrong and correct ones).
3. The same twenty, two at a time: the speed-up a 2-core machine gives a TA's batch.
4. The wire against the naive way: one call with a (64, 784) float64 batch, round trip, over
   our JSON + raw-buffer frames versus pickling over a multiprocessing pipe.

Usage: python bench/grade_speed.py [--count 20] [--jobs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from grader.packs import load_pack
from grader.runner import GradeOptions, grade
from grader.sandboxed import wire

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "tests" / "engine" / "submissions" / "ift6135_a1"


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def grade_fast(path: Path) -> float:
    return grade(path, load_pack("ift6135_a1"), GradeOptions(fast=True)).score


def _wire_echo(sock: socket.socket, n: int) -> None:
    for _ in range(n):
        header, arrays = wire.recv(sock)
        wire.send(sock, header, arrays)


def wire_roundtrips(batch: np.ndarray, n: int) -> float:
    """Round trips to an echo in another process, as with the real worker."""
    a, b = socket.socketpair()
    proc = mp.Process(target=_wire_echo, args=(b, n))
    proc.start()
    start = time.perf_counter()
    for _ in range(n):
        tree, arrays = wire.encode(batch)
        wire.send(a, {"value": tree}, arrays)
        header, arrays = wire.recv(a)
        wire.decode(header["value"], arrays)
    elapsed = time.perf_counter() - start
    proc.join()
    a.close()
    b.close()
    return elapsed / n


def _pickle_echo(conn, n: int) -> None:
    for _ in range(n):
        conn.send(conn.recv())


def pickle_roundtrips(batch: np.ndarray, n: int) -> float:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_pickle_echo, args=(child, n))
    proc.start()
    start = time.perf_counter()
    for _ in range(n):
        parent.send(batch)
        parent.recv()
    elapsed = time.perf_counter() - start
    proc.join()
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--wire-only", action="store_true", help="only part 4")
    args = parser.parse_args()
    pack = load_pack("ift6135_a1")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")

    if not args.wire_only:
        grading_parts(pack, args)
    batch = np.random.default_rng(0).random((64, 784))
    ours = wire_roundtrips(batch, 2000)
    naive = pickle_roundtrips(batch, 2000)
    print(f"4. round trip of a (64, 784) float64 batch: wire {ours * 1e6:.0f} us, "
          f"pickle over a pipe {naive * 1e6:.0f} us (wire/pickle = {ours / naive:.2f})")


def grading_parts(pack, args: argparse.Namespace) -> None:
    seconds, score = timed(grade_fast, pack.reference_dir / "solution.py")
    print(f"1. reference, all tests but slow: {seconds:.1f} s (score {score:g})")

    files = sorted((SUBMISSIONS / "wrong").glob("*.py"))[: args.count // 2]
    files += sorted((SUBMISSIONS / "correct").glob("*.py"))[: args.count - len(files)]
    serial, _ = timed(lambda: [grade_fast(f) for f in files])
    print(f"2. {len(files)} submissions in a row: {serial:.1f} s "
          f"({serial / len(files):.1f} s each)")
    with ThreadPoolExecutor(args.jobs) as pool:
        parallel, _ = timed(lambda: list(pool.map(grade_fast, files)))
    print(f"3. the same, {args.jobs} at a time: {parallel:.1f} s "
          f"(speed-up x{serial / parallel:.2f} over one at a time)")


if __name__ == "__main__":
    main()
