"""Keras A7, Problem 3.1: train a submission's CNN as the GPU test does, seed after seed, and
print each run's curve, best and final accuracy and time; with several seeds, how often the
pass rule (best epoch ≥ 99 %) fails. Each line also goes to ``--log`` as JSON.

    python bench/keras_cnn.py --device cuda --seeds 0 1 2 3 4 5 [--log cnn.jsonl]
    python bench/keras_cnn.py --submission tests/engine/submissions/keras_a7/wrong/cnn_below_99.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from grader.packs import load_pack
from grader.train import load_mnist_tensors
from grader.worker.client import Worker
from grader.worker.proxy import Student
from tests.keras_a7.common import SETTINGS, student_model
from tests.keras_a7.training import train_keras

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", type=Path, default=ROOT / "reference/keras_a7/solution.py")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
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
        model = student_model(student, "cnn")
        training = dict(getattr(student, SETTINGS["cnn"]["training"]))
    finally:
        worker.stop()
    data = load_mnist_tensors(args.device, normalize=False)
    threshold = SETTINGS["cnn"]["threshold"]
    fails = 0
    for seed in args.seeds:
        r = train_keras(model, data, epochs=training["epochs"],
                        batch_size=training["batch_size"], seed=seed)
        fails += r.best_accuracy < threshold
        record = {"submission": args.submission.name, "seed": seed, "best": r.best_accuracy,
                  "final": r.final_accuracy, "curve": r.test_accuracy, "seconds": r.seconds,
                  "mode": r.mode, "device": r.determinism["device_name"]}
        print(json.dumps(record), flush=True)
        if args.log:
            with args.log.open("a") as log:
                log.write(json.dumps(record) + "\n")
    print(json.dumps({"runs": len(args.seeds), "below_threshold": fails,
                      "threshold": threshold}))


if __name__ == "__main__":
    main()
