#!/usr/bin/env bash
# What README's install lines would install: the number of packages, and how many of them are
# CUDA, NVIDIA or Triton builds (several GB on a CPU box).
#
#   bench/install_dry_run.sh            # the CPU lines: torch from PyTorch's CPU index first
#   bench/install_dry_run.sh --gpu      # the GPU line alone (the default torch build)
#
# README's lines, exactly, in a throw-away virtualenv. CPU: line 1 (torch from the CPU index)
# is installed for real, since line 2 runs after it and its installed torch 2.13.0+cpu is what
# satisfies line 2's `torch==2.13.0` (a pin without a local label matches `+cpu`, PEP 440);
# then line 2 is resolved with `pip install --dry-run --report`. GPU: line 2 alone, dry run.
# TORCH_CPU_INDEX replaces PyTorch's CPU index URL (e.g. a local mirror of it, offline).
# pip's own configuration (pip.conf, PIP_* variables) applies as it would for a user: the
# script prints it, since an index or find-links it adds decides where packages come from.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --quiet --upgrade pip >/dev/null 2>&1 || true
echo "pip configuration in effect:"
"${pip[@]}" config list | sed 's/^/    /'
env | grep -E '^PIP_' | sed 's/^/    /' || true

count() {  # $1: label; rest: pip install arguments, resolved without installing
    local label=$1; shift
    local report="$venv/report.json"
    "${pip[@]}" install --quiet --dry-run --report "$report" "$@" >/dev/null
    "$venv/bin/python" - "$report" "$label" <<'PY'
import json, re, sys
names = [item["metadata"]["name"] + "==" + item["metadata"]["version"]
         for item in json.load(open(sys.argv[1]))["install"]]
heavy = [n for n in names if re.search(r"cuda|nvidia|triton|cudnn|cublas|nccl", n, re.I)]
torch = next((n for n in names if n.lower().startswith("torch==")), "torch not added")
print(f"{sys.argv[2]}: {len(names)} packages, {len(heavy)} CUDA/NVIDIA/Triton ({torch})")
for n in heavy:
    print(f"    {n}")
PY
}

if [ "${1:-}" = "--gpu" ]; then
    count "GPU line: pip install -r requirements/cpu.txt -e ." -r requirements/cpu.txt -e .
else
    line1=(torch==2.13.0 --index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}")
    count "CPU line 1: pip install ${line1[*]}" "${line1[@]}"
    "${pip[@]}" install --quiet "${line1[@]}"
    count "CPU line 2, after line 1: pip install -r requirements/cpu.txt -e ." \
        -r requirements/cpu.txt -e .
    "$venv/bin/python" -c 'from importlib.metadata import version; print("torch after both lines:", version("torch"))'
fi
