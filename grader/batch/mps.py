"""CUDA MPS for a batch that trains several hand-ins on one GPU at once.

Without MPS, processes on one GPU take turns (time slices); with it their kernels overlap,
which is what ``-j N`` on one GPU needs (docs/benchmarks.md). A batch that trains starts the
MPS control daemon when it is installed and not running, and stops it when it is done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

__all__ = ["mps_daemon", "mps_state"]

CONTROL = "nvidia-cuda-mps-control"


def mps_state() -> str:
    """For ``grader doctor``: whether a batch can use MPS here."""
    exe = shutil.which(CONTROL)
    if exe is None:
        return "not installed (several training jobs on one GPU take turns)"
    return f"{exe}; {'running' if _running() else 'started by grader batch when it trains'}"


@contextlib.contextmanager
def mps_daemon(wanted: bool) -> Iterator[str]:
    """Start the MPS control daemon for the block (when ``wanted``, installed and not already
    running); yield what was done, for the batch's log."""
    exe = shutil.which(CONTROL)
    if not wanted or exe is None:
        yield "not used" if exe else "not installed"
        return
    if _running():
        yield "already running"
        return
    started = subprocess.run([exe, "-d"], capture_output=True, text=True, timeout=30,
                             check=False).returncode == 0
    try:
        yield "started" if started else "could not be started"
    finally:
        if started:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run([exe], input="quit\n", capture_output=True, text=True,
                               timeout=30, check=False)


def _running() -> bool:
    pipe = os.environ.get("CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps")
    return os.path.exists(os.path.join(pipe, "control"))
