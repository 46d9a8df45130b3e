"""Is a grade bit-stable on regrade, on the same GPU? For each numerics setting (cuDNN
deterministic/benchmark, TF32), the same CS155 3G-shaped CNN is trained twice from the same
seed and the two curves are compared exactly; the time per run is printed beside it, so the
speed a setting buys is weighed against what it does to regrades (the grader keeps TF32 off
and cuDNN deterministic unless this shows that grades stay the same).

Usage: python bench/regrade_stability.py [--epochs 3] [--subset 20000]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from torch import nn

from grader.train import Numerics, TrainSettings, load_mnist_tensors, train_and_evaluate

SETTINGS = {"deterministic, TF32 off (the grader's)": Numerics(True, False, False),
            "cuDNN benchmark, TF32 off": Numerics(False, True, False),
            "deterministic, TF32 on": Numerics(True, False, True),
            "cuDNN benchmark, TF32 on": Numerics(False, True, True)}


def cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=20000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to measure (the CPU is deterministic anyway)")
        return 0
    print(torch.cuda.get_device_name(0))
    data = load_mnist_tensors("cuda", subset=args.subset)
    settings = TrainSettings("Adam", 1e-3, {}, epochs=args.epochs, batch_size=32, seed=0)
    for name, numerics in SETTINGS.items():
        runs, seconds = [], []
        for _ in range(2):
            start = time.perf_counter()
            runs.append(train_and_evaluate(cnn(), data, settings, numerics=numerics))
            seconds.append(time.perf_counter() - start)
        same = (runs[0].test_accuracy == runs[1].test_accuracy
                and runs[0].train_loss == runs[1].train_loss)
        print(f"{name:<40} bit-stable: {'yes' if same else 'NO'}; "
              f"{min(seconds):.1f} s per run; best {runs[0].best_accuracy:.2%} / "
              f"{runs[1].best_accuracy:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
