"""How much memory does the judge (the trusted pytest process) use? The bound for any pack.

Grades each pack's reference with ``--fast`` and reads the trusted process's own peak resident
memory from the results (``extra_data.trusted_peak_mb``), then grades the lying-reply attacks
on the engine's mini pack the same way. The issue's bound is 2.5 GB for any pack; the
trusted side reads at most ``Limits.reply_mb`` per reply and ``test_reply_mb`` per test, so
a lying worker cannot raise it.

Usage: python bench/judge_memory.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from grader.packs import available_packs, load_pack
from grader.runner import GradeOptions, grade

ROOT = Path(__file__).resolve().parents[1]
ATTACK = ROOT / "tests" / "engine" / "submissions" / "hostile" / "lying_replies.py"
LIES = ["claims_4gib_sends_nothing", "claims_over_a_reply", "many_arrays_each_small",
        "header_claims_16mb", "half_a_reply_then_silence"]


def main() -> int:
    print(f"{'what':<48} {'trusted peak':>13}")
    for name in available_packs():
        pack = load_pack(name)
        results = grade(pack.reference_dir / pack.submission_name, pack, GradeOptions(fast=True))
        print(f"{name + ' reference':<48} {results.extra_data.get('trusted_peak_mb', 0):>10} MB",
              flush=True)
    os.environ["GRADER_PACKS_ROOT"] = str(ROOT / "tests" / "engine" / "packroot")
    mini = load_pack("mini")
    with tempfile.TemporaryDirectory() as tmp:
        for lie in LIES:
            path = Path(tmp) / "solution.py"
            text = ATTACK.read_text().replace("@@VARIANT@@", lie)
            path.write_text(text)
            results = grade(path, mini, GradeOptions(fast=True))
            print(f"{'mini, lying reply: ' + lie:<48} "
                  f"{results.extra_data.get('trusted_peak_mb', 0):>10} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
