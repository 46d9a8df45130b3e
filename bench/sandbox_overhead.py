"""What the worker's sandbox costs: the IFT6135 reference graded with each sandbox path.

In one run, interleaved so that drift hits every path alike, N times each:

* ``none``      file-system isolation off (``GradeOptions(landlock=False)``): rlimits only;
* ``fallback``  ``GRADER_SANDBOX=fallback``: own uid, seccomp, Landlock, rlimits;
* ``auto``      the default: bubblewrap where it runs, else the fallback.

It prints each path's wall time per submission (median, min) and the time added over
``none``, then the cost of one bare worker start and stop per path (a submission that crashes
its worker pays it again per restart). Goal: under 1 s added per submission.
Usage: python bench/sandbox_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from grader.packs import load_pack
from grader.runner import GradeOptions, grade
from grader.sandboxed.limits import Limits
from grader.worker.client import Worker
from grader.worker.sandbox import probe_bwrap

MODES = ("none", "fallback", "auto")


def grade_once(pack, mode: str) -> tuple[float, dict | str, float]:
    os.environ["GRADER_SANDBOX"] = "auto" if mode == "none" else mode
    options = GradeOptions(fast=True, landlock=mode != "none")
    start = time.perf_counter()
    results = grade(pack.reference_dir / "solution.py", pack, options)
    seconds = time.perf_counter() - start
    score = sum(t.score for t in results.tests)
    return seconds, results.extra_data.get("isolation", "?"), score


def start_stop(mode: str, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "solution.py"
        path.write_text("import numpy as np\n\ndef f():\n    return 1\n")
        times = []
        for _ in range(runs):
            worker = Worker(path, Path(folder), limits=Limits(), landlock=mode != "none",
                            sandbox=None if mode == "none" else mode)
            start = time.perf_counter()
            worker.start()
            worker.request("call", [[], {}], name="f")
            worker.stop()
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pack = load_pack("ift6135_a1")
    probe = probe_bwrap()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, uid {os.geteuid()}, "
          f"bubblewrap: {probe.version or '-'} ({'works' if probe.works else probe.error})")
    saved = os.environ.get("GRADER_SANDBOX")
    walls: dict[str, list[float]] = {m: [] for m in MODES}
    levels: dict[str, str] = {}
    try:
        grade_once(pack, "none")  # warm the page cache and pytest's imports
        for _ in range(args.runs):
            for mode in MODES:
                seconds, isolation, score = grade_once(pack, mode)
                walls[mode].append(seconds)
                levels[mode] = (isolation.get("summary", "?") if isinstance(isolation, dict)
                                else str(isolation)) + f"; score {score:g}"
        starts = {mode: start_stop(mode, args.runs * 2) for mode in MODES}
    finally:
        if saved is None:
            os.environ.pop("GRADER_SANDBOX", None)
        else:
            os.environ["GRADER_SANDBOX"] = saved
    base = statistics.median(walls["none"])
    base_start = statistics.median(starts["none"])
    print(f"\nreference, --fast, {args.runs} runs per path (interleaved):")
    print(f"{'path':<10} {'median s':>9} {'min s':>7} {'added s':>8} {'start+stop s':>13} "
          f"{'added s':>8}  level")
    for mode in MODES:
        median = statistics.median(walls[mode])
        start = statistics.median(starts[mode])
        print(f"{mode:<10} {median:>9.2f} {min(walls[mode]):>7.2f} {median - base:>+8.2f} "
              f"{start:>13.3f} {start - base_start:>+8.3f}  {levels[mode]}")


if __name__ == "__main__":
    main()
