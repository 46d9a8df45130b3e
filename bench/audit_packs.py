"""How well do the packs' own tests catch the bugs students make? Audits each pack's
reference (``grader audit``, sampled, --fast unless --slow) and prints its kill rate and
runtime.

Usage: python bench/audit_packs.py [--packs ift6135_a1 ...] [--sample 20] [--seed 0] [-j 2]
       [--slow] [--out DIR]
  --slow: the slow and gpu tests too (the gpu ones need a CUDA GPU: on a GPU box, this is the
          audit that can judge what only training shows)
  DIR/<pack>/audit.md, .html and .json: every survivor with its diff
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from grader.audit.report import write_report
from grader.audit.run import FREE, NOT_LOADED, NOT_READ, SAME_OUTPUTS, audit_pack
from grader.packs import load_pack

PACKS = ("ift6135_a1", "cs155_set4", "ece1513_a4", "keras_a7")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", nargs="+", default=list(PACKS))
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--slow", action="store_true",
                        help="also run the slow and gpu tests (default: --fast)")
    parser.add_argument("--out", help="keep the reports here (default: a temporary folder)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="audit-bench-"))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"--sample {args.sample} --seed {args.seed} -j {args.jobs}, "
          f"{'--slow' if args.slow else '--fast'}")
    print("| pack | mutants (sampled / in student code / enumerated) | killed | survived "
          "| timed out | errors | equivalent (probes / not loaded / not read) "
          "| variants the handout allows | unexplained survivors "
          "| kill rate | undecided (left to tests left out) | kill rate of the decided "
          "| reference | wall time |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| --- | ---: |")
    for name in args.packs:
        audit = audit_pack(load_pack(name), sample_size=args.sample, seed=args.seed,
                           jobs=args.jobs, fast=not args.slow)
        write_report(audit, out / name)
        rate = audit.kill_rate
        print(f"| {name} | {audit.sampled} / {audit.student_code} / "
              f"{len(audit.enumeration.mutants)} | "
              f"{audit.count('killed')} | {audit.count('survived')} | "
              f"{audit.count('timed out')} | {audit.count('error')} | "
              f"{audit.count(SAME_OUTPUTS)} / {audit.count(NOT_LOADED)} / "
              f"{audit.count(NOT_READ)} | {audit.count(FREE)} | "
              f"{len(audit.gaps)} | "
              f"{'n/a' if rate is None else f'{rate:.1%}'} | {audit.undecided} | "
              f"{_percent(audit.decided_kill_rate)} | "
              f"{'full marks' if audit.baseline.full_marks else 'NOT full marks'} "
              f"({audit.baseline.seconds:.1f} s) | {audit.seconds:.1f} s |", flush=True)
    print(f"Reports: {out}")


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


if __name__ == "__main__":
    main()
