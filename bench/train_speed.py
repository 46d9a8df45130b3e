"""How fast does the trusted side train a student's model? Prints times and ratios of one run.

Models: a 430k-parameter CNN (problem 3G: conv, batch norm, dropout) and a small MLP (2C).
Loops, on the same normalized MNIST, Adam, batch 32:

1. ``student``: the loop most students write, without a DataLoader: CPU tensors, a CPU
   ``torch.randperm`` per epoch, Python slicing, ``.to(device)`` and ``loss.item()`` every
   step, the last partial batch kept, test accuracy after each epoch with the same copies;
2. ``eager``: ``train_and_evaluate(..., use_graph=False)`` (data resident on the device);
3. ``graph``: ``train_and_evaluate`` with a captured CUDA graph (only when CUDA is there).

``--concurrent K`` then trains K copies at once in separate processes (torch.multiprocessing,
spawn) on the same device and compares their aggregate samples/s with one process alone.
Without MPS, processes on one GPU time-slice; start ``nvidia-cuda-mps-control -d`` to let
their kernels overlap. On the CPU each process gets ``cpu_count // K`` threads.

Usage (MNIST from $MNIST_DIR or the cache, see grader.data):
    python bench/train_speed.py                                # full MNIST, 10 epochs
    python bench/train_speed.py --subset 2000 --epochs 1       # CPU: about a minute
    python bench/train_speed.py --models cnn --concurrent 4    # 1 vs 4 trainings at once
    python bench/train_speed.py --fast-numerics                # cuDNN benchmark + TF32 on
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import torch
import torch.multiprocessing as mp
from torch import nn

from grader.train import (
    MnistTensors,
    Numerics,
    TrainSettings,
    load_mnist_tensors,
    train_and_evaluate,
)

FAST = Numerics(deterministic=False, benchmark=True, tf32=True)


def cnn() -> nn.Sequential:
    """430,438 parameters, in the style of the handout's sample network."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.1),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.1),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 116), nn.ReLU(), nn.Dropout(0.2), nn.Linear(116, 10),
    )


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 10))


MODELS = {"cnn": cnn, "mlp": mlp}


def build(name: str, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return MODELS[name]()


@dataclass
class Row:
    model: str
    loop: str
    seconds: float
    samples: int
    accuracy: float
    note: str = ""


def student_loop(model: nn.Sequential, cpu: MnistTensors, device: torch.device,
                 settings: TrainSettings) -> tuple[float, float, int]:
    """The typical loop; returns (seconds, final accuracy, samples trained)."""
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    criterion = nn.CrossEntropyLoss()
    n, batch, samples, accuracy = len(cpu.x_train), settings.batch_size, 0, 0.0
    for _ in range(settings.epochs):
        model.train()
        perm = torch.randperm(n)
        running = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb, yb = cpu.x_train[idx].to(device), cpu.y_train[idx].to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
            samples += len(idx)
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(cpu.x_test), 1000):
                out = model(cpu.x_test[i:i + 1000].to(device))
                correct += (out.argmax(1).cpu() == cpu.y_test[i:i + 1000]).sum().item()
        accuracy = correct / len(cpu.x_test)
    return time.perf_counter() - start, accuracy, samples


def trained_samples(data: MnistTensors, settings: TrainSettings) -> int:
    """Samples per training in train_and_evaluate (the last partial batch is dropped)."""
    return settings.epochs * (len(data.x_train) // settings.batch_size) * settings.batch_size


def compare(args: argparse.Namespace, settings: TrainSettings, device: torch.device,
            numerics: Numerics) -> list[Row]:
    data = load_mnist_tensors(device, subset=args.subset)
    cpu = MnistTensors(data.x_train.cpu(), data.y_train.cpu(), data.x_test.cpu(),
                       data.y_test.cpu(), "cpu")
    torch.optim.Adam(nn.Linear(1, 1).parameters())  # first optimizer imports; not timed
    rows = []
    for name in args.models:
        seconds, accuracy, samples = student_loop(build(name), cpu, device, settings)
        rows.append(Row(name, "student", seconds, samples, accuracy))
        modes = [("eager", False)] + ([("graph", True)] if device.type == "cuda" else [])
        for loop, use_graph in modes:
            result = train_and_evaluate(build(name), data, settings, use_graph=use_graph,
                                        numerics=numerics)
            note = result.mode + (f" ({result.note})" if result.note else "")
            if result.mode == "cuda-graph":
                note += f", setup {result.setup_seconds:.2f} s"
            rows.append(Row(name, loop, result.seconds, trained_samples(data, settings),
                            result.final_accuracy, note))
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'model':5} {'loop':8} {'seconds':>8} {'samples/s':>10} {'accuracy':>8} "
          f"{'speed-up':>8}  mode")
    base = {r.model: r.seconds for r in rows if r.loop == "student"}
    for r in rows:
        print(f"{r.model:5} {r.loop:8} {r.seconds:8.2f} {r.samples / r.seconds:10.0f} "
              f"{r.accuracy:8.4f} {base[r.model] / r.seconds:7.2f}x  {r.note}")


# --- concurrent trainings -------------------------------------------------------------------
def _worker(rank: int, args: argparse.Namespace, settings: TrainSettings, device: str,
            threads: int, barrier, queue) -> None:
    torch.set_num_threads(threads)
    data = load_mnist_tensors(device, subset=args.subset)
    model = build(args.models[0], seed=rank)
    numerics = FAST if args.fast_numerics else Numerics()
    torch.optim.Adam(nn.Linear(1, 1).parameters())
    barrier.wait()
    start = time.time()
    result = train_and_evaluate(model, data, settings, numerics=numerics)
    queue.put((start, time.time(), trained_samples(data, settings), result.mode))


def concurrent(args: argparse.Namespace, settings: TrainSettings, device: torch.device,
               k: int) -> tuple[float, float, str]:
    """K trainings at once; returns (wall seconds, aggregate samples/s, modes)."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(k), ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // k)
    procs = [ctx.Process(target=_worker, args=(r, args, settings, str(device), threads,
                                                barrier, queue)) for r in range(k)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a training process exited with code {p.exitcode}")
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    modes = ",".join(sorted({r[3] for r in results}))
    return wall, sum(r[2] for r in results) / wall, modes


# --- main -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None,
                        help="first N training and N test images (default: all)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default="cnn,mlp", type=lambda s: s.split(","))
    parser.add_argument("--concurrent", type=int, default=0, metavar="K",
                        help="also train K copies of the first model at once, vs 1")
    parser.add_argument("--fast-numerics", action="store_true",
                        help="cuDNN benchmark, non-deterministic cuDNN and TF32 on")
    args = parser.parse_args()
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}; choose from {sorted(MODELS)}")
    device = torch.device(args.device)
    settings = TrainSettings(optimizer="Adam", lr=args.lr, optimizer_kwargs={},
                             epochs=args.epochs, batch_size=args.batch_size)
    numerics = FAST if args.fast_numerics else Numerics()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {name} ({torch.get_num_threads()} threads); "
          f"subset={args.subset}, epochs={args.epochs}, batch={args.batch_size}, {numerics}")
    for model_name in args.models:
        count = sum(p.numel() for p in build(model_name).parameters())
        print(f"{model_name}: {count:,} parameters")
    print_rows(compare(args, settings, device, numerics))
    if args.concurrent > 1:
        print(f"\nconcurrent trainings of {args.models[0]} (separate processes, one {name}):")
        one_wall, one_rate, _ = concurrent(args, settings, device, 1)
        k_wall, k_rate, modes = concurrent(args, settings, device, args.concurrent)
        print(f"K=1: {one_wall:7.2f} s wall, {one_rate:9.0f} samples/s")
        print(f"K={args.concurrent}: {k_wall:7.2f} s wall, {k_rate:9.0f} samples/s "
              f"({k_rate / one_rate:.2f}x of K=1; modes: {modes})")


if __name__ == "__main__":
    main()
