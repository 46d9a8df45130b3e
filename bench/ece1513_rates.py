"""ECE1513 A4 on the grader's harness: how often each of a submission's claims holds per
seeded run (and under the pass rule, any of 3 runs), and the convnet rule's false-fail rate
over repeated batches of 5 runs, with the time of each batch.

Usage: MNIST_DIR=... python bench/ece1513_rates.py [--device cuda] [--submission FILE]
           [--claim-seeds 6] [--batches 4] [--subset N --epochs E] [--eager-ratio]

The submission is loaded in a worker (sections, aliases, stax description), exactly as in
grading. ``--eager-ratio`` also trains one batch of 5 convnet runs without CUDA graphs and
prints the ratio to the graph runs measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from grader.models.stax import rebuild_stax
from grader.packs import load_pack
from grader.train import TrainSettings, load_mnist_tensors, train_and_evaluate
from grader.train.jax_optimizers import optimizer_factory
from grader.worker.client import Worker
from grader.worker.proxy import Student
from tests.ece1513_a4.claims import CLAIMS, Trainer
from tests.ece1513_a4.convnet import convnet
from tests.ece1513_a4.thresholds import train_convnet_runs
from tests.ece1513_a4.training import with_outliers


def main() -> None:
    pack = load_pack("ece1513_a4")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--submission", type=Path, default=pack.reference_dir / "solution.py")
    parser.add_argument("--claim-seeds", type=int, default=6)
    parser.add_argument("--batches", type=int, default=4, help="batches of 5 convnet runs")
    parser.add_argument("--subset", type=int, help="train on the first N images (smoke)")
    parser.add_argument("--epochs", type=int, help="override every training's epochs")
    parser.add_argument("--eager-ratio", action="store_true")
    parser.add_argument("--log", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()

    worker = Worker(args.submission, args.submission.parent, limits=pack.limits,
                    load=pack.load_options)
    worker.start()
    student = Student(worker)
    data = load_mnist_tensors(args.device, subset=args.subset, normalize=False)
    print(f"submission: {args.submission}, device: {args.device}")
    log = args.log.open("a") if args.log else None

    seeds = list(range(args.claim_seeds))
    for name, verify in CLAIMS.items():
        held, seconds = [], []
        for seed in seeds:
            trainer = Trainer(data, epochs=args.epochs, seeds=[seed])
            started = time.perf_counter()
            result = verify(student, trainer)
            seconds.append(time.perf_counter() - started)
            held.append(bool(result.verdict))
            if log:
                log.write(json.dumps({"claim": name, "seed": seed, "holds": held[-1],
                                      "why": result.verdict.why,
                                      "train": result.runs[-1].train_accuracy,
                                      "test": result.runs[-1].test_accuracy}) + "\n")
        rate = sum(held) / len(held)
        rule = 1 - (1 - rate) ** 3  # any of 3 independent runs
        print(f"{name:28s} holds in {sum(held)}/{len(held)} single runs; pass rule (any of 3) "
              f"~{rule:.3f}; {statistics.median(seconds):.1f} s per claim (median)")

    net = convnet(student)
    threshold = pack.settings["convnet"]["threshold"]
    means, batch_seconds = [], []
    for batch in range(args.batches):
        started = time.perf_counter()
        runs = train_convnet_runs(net, data, epochs=args.epochs,
                                  seeds=list(range(5 * batch, 5 * batch + 5)))
        batch_seconds.append(time.perf_counter() - started)
        means.append(runs.mean)
        print(f"convnet batch {batch}: mean {100 * runs.mean:.2f} % ± {100 * runs.std:.2f} % "
              f"({', '.join(f'{100 * a:.2f}' for a in runs.finals)}), "
              f"{batch_seconds[-1]:.1f} s, mode {runs.runs[0].mode}")
        if log:
            log.write(json.dumps({"convnet_batch": batch, "finals": runs.finals,
                                  "seconds": batch_seconds[-1]}) + "\n")
    fails = sum(m < threshold for m in means)
    print(f"convnet: {fails}/{len(means)} batches below {100 * threshold:.0f} % (false-fail "
          f"rate for a correct convnet); {statistics.median(batch_seconds):.1f} s per batch of 5")

    if args.eager_ratio:
        train_data = with_outliers(data) if net.create_outliers else data
        started = time.perf_counter()
        for seed in range(5):
            epochs = args.epochs or net.num_epochs
            steps = (len(train_data.x_train) // net.batch_size) * epochs
            settings = TrainSettings(optimizer="SGD", lr=0.0, optimizer_kwargs={}, epochs=epochs,
                                     batch_size=net.batch_size, seed=seed)
            train_and_evaluate(rebuild_stax(net.spec, (28, 28, 1), seed=seed), train_data,
                               settings, use_graph=False,
                               optimizer_factory=optimizer_factory(net.optimizer, steps))
        eager = time.perf_counter() - started
        print(f"eager batch of 5: {eager:.1f} s; graph/eager time ratio "
              f"{statistics.median(batch_seconds) / eager:.2f}")
    worker.stop()


if __name__ == "__main__":
    main()
