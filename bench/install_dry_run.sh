#!/usr/bin/env bash
# What README's install lines would install, without installing anything: the number of
# packages, and how many of them are CUDA, NVIDIA or Triton builds (several GB on a CPU box).
#
#   bench/install_dry_run.sh            # the CPU lines: torch from PyTorch's CPU index first
#   bench/install_dry_run.sh --gpu      # the GPU line alone (the default torch build)
#
# Each line is resolved in a throw-away virtualenv with `pip install --dry-run --report`,
# ignoring what is installed, so the counts are what a fresh clone would get.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true

count() {  # $1: label; rest: pip install arguments
    local label=$1; shift
    local report="$venv/report.json"
    "$venv/bin/python" -m pip install --quiet --dry-run --ignore-installed \
        --report "$report" "$@" >/dev/null
    "$venv/bin/python" - "$report" "$label" <<'PY'
import json, re, sys
names = [item["metadata"]["name"] + "==" + item["metadata"]["version"]
         for item in json.load(open(sys.argv[1]))["install"]]
heavy = [n for n in names if re.search(r"cuda|nvidia|triton|cudnn|cublas|nccl", n, re.I)]
torch = next((n for n in names if n.lower().startswith("torch==")), "no torch")
print(f"{sys.argv[2]}: {len(names)} packages, {len(heavy)} CUDA/NVIDIA/Triton ({torch})")
for n in heavy:
    print(f"    {n}")
PY
}

if [ "${1:-}" = "--gpu" ]; then
    count "GPU line: pip install -r requirements/cpu.txt -e ." -r requirements/cpu.txt -e .
else
    count "CPU line 1: torch from the CPU index" torch==2.13.0 \
        --index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
    count "CPU lines 1+2: with the CPU torch resolved" -r requirements/cpu.txt -e . \
        --extra-index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
fi
