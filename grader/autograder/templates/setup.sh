#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder image for ${assignment}.
# Written by `grader build-autograder` (grader ${grader_version}): rebuild the zip rather than
# editing it. Gradescope unpacks the zip to /autograder/source and runs this script from there.
#
# Four steps, each logged with its duration:
#   1. system   a Python >= 3.11 that can create a virtualenv: python3.12, python3.11, python3
#               (or exactly $GRADER_PYTHON); when there is none, apt-get installs python3.11,
#               from the deadsnakes PPA if the plain install fails. GRADER_SKIP_SYSTEM=1
#               leaves the system alone.
#   2. install  a virtualenv ($GRADER_VENV, default $AUTOGRADER_ROOT/venv) with the pinned
#               requirements.txt, torch taken from the CPU wheel index ($GRADER_TORCH_INDEX,
#               default ${torch_index}; set it to the empty string to use pip's own
#               configuration), then the grader package from this folder.
#   3. data     the datasets the assignment needs (${datasets_text}), each file checked by
#               sha256, into $GRADER_CACHE (default $AUTOGRADER_ROOT/cache). Nothing is
#               downloaded when $MNIST_DIR already holds the verified files.
#   4. canary   `grader doctor --assignment ${assignment}`: the reference is graded in this
#               image as students will be; if it does not get full marks, the build fails.
# The settings that run_autograder needs later go to $AUTOGRADER_ROOT/grader-image.env.
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${GRADER_VENV:-$ROOT/venv}"
CACHE="${GRADER_CACHE:-$ROOT/cache}"
TORCH_INDEX="${GRADER_TORCH_INDEX-${torch_index}}"
DATASETS=(${datasets})
IMAGE_ENV="$ROOT/grader-image.env"
PYTHON_CANDIDATES=(python3.12 python3.11 python3)

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
absolute() { if [[ "$1" == /* ]]; then printf '%s\n' "$1"; else printf '%s/%s\n' "$PWD" "$1"; fi; }

# The first Python >= 3.11 that runs (a pyenv shim can exist and fail); prints its path.
find_python() {
    local candidate found
    local candidates=("${PYTHON_CANDIDATES[@]}")
    if [[ -n "${GRADER_PYTHON:-}" ]]; then candidates=("$GRADER_PYTHON"); fi
    for candidate in "${candidates[@]}"; do
        found="$(command -v "$candidate" 2>/dev/null)" || continue
        if "$found" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            printf '%s\n' "$found"
            return 0
        fi
    done
    return 1
}

# Debian and Ubuntu ship venv's pip bootstrap in a separate package: try it for real.
venv_works() {
    local probe status=0
    probe="$(mktemp -d)"
    "$1" -m venv "$probe/venv" >/dev/null 2>&1 || status=1
    rm -rf "$probe"
    return "$status"
}

system_step() {
    if [[ "${GRADER_SKIP_SYSTEM:-0}" == 1 ]]; then
        log "skipped (GRADER_SKIP_SYSTEM=1)"
        return 0
    fi
    local python="" version
    if python="$(find_python)" && venv_works "$python"; then
        log "$python is Python $("$python" -c 'import platform; print(platform.python_version())')"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "no Python >= 3.11 that can create a virtualenv, and no apt-get to install one"
    export DEBIAN_FRONTEND=noninteractive
    local packages=(python3.11 python3.11-venv)
    if [[ -n "$python" ]]; then  # the interpreter is there, its venv package is not
        version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        packages=("python$version" "python$version-venv")
    fi
    apt-get update
    if ! apt-get install -y --no-install-recommends "${packages[@]}"; then
        log "apt-get could not install ${packages[*]}; trying the deadsnakes PPA"
        if ! command -v add-apt-repository >/dev/null 2>&1; then
            apt-get install -y --no-install-recommends software-properties-common gpg-agent
        fi
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
}

install_step() {
    local python torch
    python="$(find_python)" || die "no Python >= 3.11 (tried ${GRADER_PYTHON:-${PYTHON_CANDIDATES[*]}}); run the system step (unset GRADER_SKIP_SYSTEM) or set GRADER_PYTHON"
    log "virtualenv $VENV from $python"
    "$python" -m venv "$VENV"
    local PIP=("$VENV/bin/python" -m pip --no-input --no-cache-dir)
    local INSTALL=("${PIP[@]}" install --progress-bar off)
    torch="$(grep -E '^torch==' "$SOURCE/requirements.txt" | head -n 1 | tr -d '[:space:]')" || true
    if [[ -n "$TORCH_INDEX" && -n "$torch" ]]; then
        # torch on its own, from the CPU index only: with the index merely added, pip may pick
        # PyPI's CUDA build of the same version. Its dependencies come with the rest, below;
        # the installed torch satisfies the requirement there, so it is not fetched again.
        log "$torch from $TORCH_INDEX"
        "${INSTALL[@]}" --no-deps --index-url "$TORCH_INDEX" "$torch"
    fi
    "${INSTALL[@]}" -r "$SOURCE/requirements.txt"
    "${INSTALL[@]}" --no-deps "$SOURCE"
    "${PIP[@]}" check
    "$VENV/bin/python" -c 'import grader, torch; print("[setup] grader", grader.__version__, "torch", torch.__version__, "CUDA", torch.version.cuda)'
    "$VENV/bin/grader" --help >/dev/null
}

data_step() {
    if [[ ${#DATASETS[@]} == 0 ]]; then
        log "no datasets needed"
        return 0
    fi
    log "cache $GRADER_CACHE${MNIST_DIR:+, MNIST_DIR=$MNIST_DIR}"
    "$VENV/bin/python" -m grader.data fetch "${DATASETS[@]}"
}

canary_step() {
    # The reference is graded in the image just built, as run_autograder will grade students:
    # a broken environment fails the build here, instead of charging every student later.
    # Its passing verdict is cached, so run_autograder's own check costs nothing.
    GRADER_PACKS_ROOT="$SOURCE" "$VENV/bin/grader" doctor --assignment "${assignment}" \
        || die "the ${assignment} reference does not get full marks in this image (above); fix the environment"
}

write_image_env() {
    {
        printf '# Written by setup.sh; run_autograder uses these unless its environment sets them.\n'
        printf 'GRADER_VENV=%s\n' "$VENV"
        printf 'GRADER_CACHE=%s\n' "$GRADER_CACHE"
        if [[ -n "${MNIST_DIR:-}" ]]; then printf 'MNIST_DIR=%s\n' "$MNIST_DIR"; fi
    } > "$IMAGE_ENV"
    log "wrote $IMAGE_ENV"
}

step() {
    local name="$1" start
    shift
    start="$(now)"
    log "== $name step"
    "$@"
    log "$name step took $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
}

main() {
    local start
    start="$(now)"
    VENV="$(absolute "$VENV")"
    export GRADER_CACHE
    GRADER_CACHE="$(absolute "$CACHE")"
    if [[ -n "${MNIST_DIR:-}" && -d "$MNIST_DIR" ]]; then
        MNIST_DIR="$(cd "$MNIST_DIR" && pwd)"
        export MNIST_DIR
    fi
    log "autograder for ${assignment}: root $ROOT, source $SOURCE"
    mkdir -p "$ROOT" "$GRADER_CACHE"
    step system system_step
    step install install_step
    step data data_step
    write_image_env
    step canary canary_step
    log "done in $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
}

main "$@"
