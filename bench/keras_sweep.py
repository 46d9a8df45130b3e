"""Keras A7, Problem 2.4: time the weight-decay sweep (5 factors x 3 replicates x 40 epochs
of the 784-500-300-10 MLP) and print the grader's table, exactly as the GPU test runs it.

The submission's models are described by a real worker and trained by the pack's own helpers
(tests/keras_a7/training.py): each factor's 3 replicates at once, as one batched model.
``--naive`` also runs the sweep the plain way, one replicate after another (each a CUDA graph
where possible), and prints the ratio measured in this same run. Each line also goes to
``--log`` as JSON.

    python bench/keras_sweep.py --device cuda [--naive] [--log sweep.jsonl]
    python bench/keras_sweep.py --device cpu --threads 1   # slow: the reference's numbers
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from grader.packs import load_pack
from grader.train import load_mnist_tensors
from grader.worker.client import Worker
from grader.worker.proxy import Student
from tests.keras_a7.common import SETTINGS, student_model
from tests.keras_a7.training import run_sweep, sweep_table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", type=Path, default=ROOT / "reference/keras_a7/solution.py")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=SETTINGS["weight_decay"]["epochs"])
    parser.add_argument("--replicates", type=int, default=SETTINGS["weight_decay"]["replicates"])
    parser.add_argument("--subset", type=int, default=None, help="first N images (smoke)")
    parser.add_argument("--factors", type=float, nargs="+", default=None,
                        help="only these of the submission's factors")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--naive", action="store_true",
                        help="also run the sweep one replicate after another")
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pack = load_pack("keras_a7")
    worker = Worker(args.submission, args.submission.parent, limits=pack.limits,
                    load=pack.load_options)
    worker.start()
    try:
        student = Student(worker)
        reported = getattr(student, SETTINGS["weight_decay"]["results"])
        factors = sorted(float(f) for f in reported
                         if args.factors is None or float(f) in args.factors)
        models = {f: student_model(student, "weight_decay", f) for f in factors}
    finally:
        worker.stop()
    training = dict(epochs=args.epochs, batch_size=128)
    data = load_mnist_tensors(args.device, subset=args.subset, normalize=False)
    log = args.log.open("a") if args.log else None

    def emit(record: dict) -> None:
        print(json.dumps(record), flush=True)
        if log:
            log.write(json.dumps(record) + "\n")
            log.flush()

    start = time.perf_counter()
    sweep = run_sweep(models, data, replicates=args.replicates, **training)
    seconds = time.perf_counter() - start
    for f in sweep:
        emit({"factor": f.factor, "finals": f.finals, "mean": f.mean, "std": f.std,
              "seconds": [r.seconds for r in f.runs], "mode": f.runs[0].mode})
    table, failed = sweep_table(sweep, {float(k): tuple(v) for k, v in reported.items()
                                        if float(k) in factors},
                                SETTINGS["weight_decay"]["tolerance"],
                                SETTINGS["weight_decay"]["standard_errors"])
    print(table)
    runs = len(sweep) * args.replicates
    emit({"sweep_seconds": seconds, "runs": runs, "per_run": seconds / runs,
          "device": sweep[0].runs[0].determinism["device_name"], "not_reproduced": failed})
    if args.naive:
        start = time.perf_counter()
        plain = run_sweep(models, data, replicates=args.replicates, concurrent=False,
                          **training)
        naive = time.perf_counter() - start
        emit({"one_by_one_seconds": naive, "mode": plain[0].runs[0].mode,
              "one_by_one_vs_together": naive / seconds,
              "largest_mean_gap": max(abs(a.mean - b.mean)
                                      for a, b in zip(sweep, plain, strict=True))})


if __name__ == "__main__":
    main()
