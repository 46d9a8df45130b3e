"""Every GPU measurement of the GPU half, in one run, with the GPU's utilisation beside each.

Runs each step below as its own process (its output logged under ``--out``) while
``nvidia-smi`` samples the GPU's utilisation and memory every half second, then prints one
Markdown table: wall time, exit status, mean and peak utilisation, peak memory, and the
step's last summary line. Mean utilisation well under 100 % on a step says where the rest of
a goal's gap is: the GPU waits on the host (data order, Python, the worker), not on kernels.

Usage: python bench/gpu_half.py [--out DIR] [--only NAME ...] [--quick]

``--quick`` shrinks the class sizes for a first look (10 hand-ins instead of 100). Without
CUDA it says so and stops. Steps, their goals on one H200, and the commands they run:
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


@dataclass
class Step:
    name: str
    goal: str
    argv: list[str]
    quick: list[str] | None = None  # the command under --quick, when it differs
    timeout_s: float = 1800


STEPS = [
    Step("keras_alone", "≤ 60 s per hand-in alone",
         [PY, "bench/gpu_batch_speed.py", "--pack", "keras_a7", "--count", "1", "--jobs", "1",
          "--sample", "1"]),
    Step("keras_sweep", "batched faster than one by one",
         [PY, "bench/keras_sweep.py", "--device", "cuda", "--naive"]),
    Step("cs155_cnn", "one CNN, 10 epochs ≤ 8 s", [PY, "bench/train_speed.py", "--models", "cnn"]),
    Step("ece1513_alone", "the 5 convnet runs together",
         [PY, "bench/gpu_batch_speed.py", "--pack", "ece1513_a4", "--count", "1", "--jobs", "1",
          "--sample", "1"]),
    Step("cs155_class", "100 hand-ins ≤ 6 min",
         [PY, "bench/gpu_batch_speed.py", "--count", "100", "--jobs", "1", "4", "8"],
         quick=[PY, "bench/gpu_batch_speed.py", "--count", "10", "--jobs", "1", "4",
                "--sample", "4"]),
    Step("regrade", "grades bit-stable on regrade", [PY, "bench/regrade_stability.py"]),
    Step("gpu_tests", "pytest -m gpu green",
         [PY, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]),
]
__doc__ += "".join(f"\n- {s.name}: {s.goal}: ``{' '.join(s.argv[1:])}``" for s in STEPS)


@dataclass
class Sampler:
    """Samples ``nvidia-smi`` until stopped: utilisation in %, memory used in MiB."""

    utilisation: list[float] = field(default_factory=list)
    memory_mib: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                line = subprocess.run(
                    ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                     "--format=csv,noheader,nounits", "-i", "0"],
                    capture_output=True, text=True, timeout=5).stdout.strip()
                util, mem = (float(v) for v in line.split(","))
            except (OSError, ValueError, subprocess.SubprocessError):
                continue
            self.utilisation.append(util)
            self.memory_mib.append(mem)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_step(step: Step, out: Path, quick: bool) -> dict:
    argv = step.quick if quick and step.quick else step.argv
    log = out / f"{step.name}.log"
    started = time.monotonic()
    with Sampler() as gpu, log.open("w") as handle:
        try:
            code = subprocess.run(argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=step.timeout_s).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    util = gpu.utilisation
    return {"step": step.name, "goal": step.goal, "seconds": time.monotonic() - started,
            "code": code, "mean_util": statistics.fmean(util) if util else None,
            "max_util": max(util, default=None), "peak_mib": max(gpu.memory_mib, default=None),
            "last": lines[-1][:120] if lines else "", "log": str(log)}


def table(rows: list[dict]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} %"

    lines = ["| step | goal | wall | exit | GPU util mean / peak | GPU memory peak | last line |",
             "| --- | --- | ---: | --- | --- | ---: | --- |"]
    for r in rows:
        memory = "n/a" if r["peak_mib"] is None else f"{r['peak_mib']:.0f} MiB"
        lines.append(f"| {r['step']} | {r['goal']} | {r['seconds']:.1f} s | {r['code']} | "
                     f"{pct(r['mean_util'])} / {pct(r['max_util'])} | {memory} | "
                     f"{r['last'].replace('|', '/')} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-half"))
    parser.add_argument("--only", nargs="+", choices=[s.name for s in STEPS])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("No CUDA GPU here: these measurements need one (see docs/benchmarks.md).")
        return 2
    if shutil.which("nvidia-smi") is None:
        print("nvidia-smi is not on the PATH: utilisation is not sampled (n/a below).")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"GPU: {torch.cuda.get_device_name(0)}; logs in {args.out}/")
    rows = []
    for step in STEPS:
        if args.only and step.name not in args.only:
            continue
        rows.append(run_step(step, args.out, args.quick))
        print(f"{step.name}: {rows[-1]['seconds']:.1f} s, exit {rows[-1]['code']}", flush=True)
    report = table(rows)
    (args.out / "summary.md").write_text(report + "\n")
    print(report)
    return 0 if all(r["code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
