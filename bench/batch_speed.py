"""A class graded in one batch: the submission-time (CPU) part of the IFT6135 pack.

Builds a synthetic class of N submissions from the known wrong and correct ones (each made
distinct by a comment, so none is reused), then measures in this one run:

1. the naive way: the first K graded one after another with ``grader grade``'s code path;
2. ``grader batch --part cpu -j J`` on the same K (the ratio is the speed-up);
3. ``grader batch`` on all N (goal: 200 in under 10 minutes on 2 cores), then again
   (resume: nothing is regraded).

The part graded later (IFT6135's real-MNIST training, deferred on Gradescope) is not in this
benchmark. Usage: python bench/batch_speed.py [--count 200] [--naive 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from grader.batch.run import BatchOptions, run_batch
from grader.packs import load_pack
from grader.runner import GradeOptions, grade

ROOT = Path(__file__).resolve().parents[1]
KNOWN = ROOT / "tests" / "engine" / "submissions" / "ift6135_a1"


def make_class(folder: Path, count: int) -> list[Path]:
    sources = sorted(KNOWN.glob("*/*.py"))
    folder.mkdir(parents=True)
    made = []
    for i, source in zip(range(count), itertools.cycle(sources), strict=False):
        path = folder / f"student{i:04d}.py"
        path.write_text(source.read_text() + f"\n# student {i}\n")
        made.append(path)
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--naive", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    pack = load_pack("ift6135_a1")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        tmp = Path(tmp)
        paths = make_class(tmp / "class", args.count)
        sample = tmp / "sample"
        sample.mkdir()
        for p in paths[: args.naive]:
            shutil.copy(p, sample / p.name)

        start = time.perf_counter()
        for p in paths[: args.naive]:
            grade(p, pack, GradeOptions(gpu_tests="defer"))
        naive = time.perf_counter() - start

        options = BatchOptions(part="cpu", jobs=args.jobs, progress=False, similarity=False)
        start = time.perf_counter()
        run_batch(sample, pack, tmp / "sample-out", options)
        batched = time.perf_counter() - start
        print(f"{args.naive} submissions one after another: {naive:.1f} s "
              f"({naive / args.naive:.2f} s each)")
        print(f"the same {args.naive} with grader batch -j {args.jobs}: {batched:.1f} s; "
              f"speed-up x{naive / batched:.2f}")

        full = BatchOptions(part="cpu", jobs=args.jobs, progress=False)
        start = time.perf_counter()
        summary = run_batch(tmp / "class", pack, tmp / "out", full)
        whole = time.perf_counter() - start
        print(f"{args.count} submissions with grader batch -j {args.jobs} (similarity report "
              f"included): {whole:.1f} s ({whole / args.count:.2f} s each); "
              f"goal 200 in 600 s; {summary.describe().splitlines()[0]}")
        start = time.perf_counter()
        again = run_batch(tmp / "class", pack, tmp / "out", full)
        print(f"re-run (resume): {time.perf_counter() - start:.1f} s, "
              f"{again.reused} reused, {again.graded} regraded")


if __name__ == "__main__":
    main()
