"""The later (GPU) part of a class, as a TA runs it: ``grader batch --part later``.

Builds N submissions from a pack's known correct ones and its reference (made distinct by a
comment) and grades their GPU tests at several concurrencies, in this one run, printing the
time per submission and the speed-up over one at a time; then the whole class at the best
one. Goals on one H200: CS155 Set 4, 100 submissions in at most 6 minutes; Keras A7, at most
60 s per hand-in graded alone (the sweep of 15 runs and the CNN). Without CUDA it says so
and stops.

Usage: python bench/gpu_batch_speed.py [--pack cs155_set4] [--count 100] [--jobs 1 4 8]
       [--sample 8]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from grader.batch.run import BatchOptions, run_batch
from grader.packs import load_pack

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"cs155_set4": "100 in 6 min", "keras_a7": "60 s per hand-in alone",
         "ece1513_a4": "no goal set"}


def make_class(folder: Path, count: int, pack: str) -> Path:
    folder.mkdir(parents=True)
    known = ROOT / "tests" / "engine" / "submissions" / pack / "correct"
    sources = sorted(known.glob("*.py")) + [ROOT / "reference" / pack / "solution.py"]
    for i, source in zip(range(count), itertools.cycle(sources), strict=False):
        (folder / f"student{i:04d}.py").write_text(source.read_text() + f"\n# student {i}\n")
    return folder


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--pack", default="cs155_set4")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--sample", type=int, default=8, help="submissions per concurrency")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to measure")
        return
    print(torch.cuda.get_device_name(0))
    pack = load_pack(args.pack)
    with tempfile.TemporaryDirectory(prefix="gpu-batch-") as tmp:
        tmp = Path(tmp)
        per_submission = {}
        for jobs in args.jobs:
            folder = make_class(tmp / f"sample-{jobs}", args.sample, args.pack)
            options = BatchOptions(part="later", jobs=jobs, progress=False, similarity=False)
            start = time.perf_counter()
            summary = run_batch(folder, pack, tmp / f"out-{jobs}", options)
            elapsed = time.perf_counter() - start
            per_submission[jobs] = elapsed / args.sample
            print(f"-j {jobs}: {args.sample} submissions in {elapsed:.1f} s "
                  f"({per_submission[jobs]:.1f} s each; {summary.statuses})")
        base = per_submission[args.jobs[0]]
        for jobs, each in per_submission.items():
            print(f"-j {jobs}: x{base / each:.2f} throughput of -j {args.jobs[0]}")
        best = min(per_submission, key=per_submission.get)
        start = time.perf_counter()
        summary = run_batch(make_class(tmp / "class", args.count, args.pack), pack, tmp / "out",
                            BatchOptions(part="later", jobs=best, progress=False))
        elapsed = time.perf_counter() - start
        print(f"{args.count} submissions, -j {best}: {elapsed / 60:.1f} min "
              f"(goal: {GOALS.get(args.pack, 'none')}); {summary.describe().splitlines()[0]}")


if __name__ == "__main__":
    main()
