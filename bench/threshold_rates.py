"""How often does a correct model fail its threshold, and a weak one pass? Trains with the
grader's own harness over many seeds and prints, per problem, the best-epoch accuracies, the
single-run pass rate and the pass rule's false-fail rate (all of up to 3 seeded runs fail).

Usage: MNIST_DIR=... python bench/threshold_rates.py [--problems 2C 2D] [--seeds 20]
                                                     [--device cuda] [--submission FILE]
The submission's builders and TRAINING_XX dicts are read by importing the file, so use it
only on trusted files (the reference, the known submissions).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path

from grader.models.rebuild import rebuild
from grader.packs import load_pack
from grader.sandboxed.models.describe import describe_model
from grader.train import load_mnist_tensors, parse_settings, train_and_evaluate


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("trusted_submission", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pack = load_pack("cs155_set4")
    parser.add_argument("--problems", nargs="+", default=list(pack.settings["problems"]))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--submission", type=Path, default=pack.reference_dir / "solution.py")
    parser.add_argument("--log", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()
    module = load_module(args.submission)
    data = load_mnist_tensors(args.device)
    print(f"submission: {args.submission}, device: {args.device}, seeds: {args.seeds}")
    for name in args.problems:
        problem = pack.settings["problems"][name]
        fixed = dict(problem.get("fixed", {}))
        best = []
        for seed in range(args.seeds):
            settings = parse_settings(getattr(module, problem["training"]),
                                      fixed={**fixed, "seed": seed},
                                      defaults={**pack.settings["defaults"], **fixed})
            model = rebuild(describe_model(getattr(module, problem["builder"])()),
                            problem["allowed"])
            started = time.perf_counter()
            result = train_and_evaluate(model, data, settings)
            best.append(result.best_accuracy)
            line = {"problem": name, "seed": seed, "best": result.best_accuracy,
                    "curve": result.test_accuracy, "seconds": time.perf_counter() - started,
                    "mode": result.mode}
            print(json.dumps(line), flush=True)
            if args.log:
                with open(args.log, "a") as f:
                    f.write(json.dumps(line) + "\n")
        threshold = problem["threshold"]
        fails = sum(b < threshold for b in best) / len(best)
        runs = len(pack.settings["pass_rule"]["seeds"])
        print(f"{name}: threshold {threshold:.3f}; best-epoch accuracy mean "
              f"{statistics.mean(best):.4f}, std {statistics.pstdev(best):.4f}, "
              f"min {min(best):.4f}, max {max(best):.4f}; single run fails {fails:.0%}; "
              f"pass rule (best of up to "
              f"{runs} runs) fails with probability ~{fails ** runs:.2%}", flush=True)


if __name__ == "__main__":
    main()
