"""A progress bar for a person watching the grader train: ``grader check --train``.

Grading runs pytest in a subprocess whose output is captured, so the bar cannot use stderr:
the command that wants one passes a duplicate of its terminal as an extra file descriptor,
named in ``GRADER_PROGRESS_FD``. Everywhere else (Gradescope, batches, CI) there is no bar.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TextIO

from tqdm import tqdm

PROGRESS_FD_ENV = "GRADER_PROGRESS_FD"


def _stream() -> TextIO | None:
    fd = os.environ.get(PROGRESS_FD_ENV, "")
    if not fd.isdigit():
        return None
    try:
        return os.fdopen(int(fd), "w", buffering=1, closefd=False)
    except OSError:
        return None


@contextlib.contextmanager
def training_bar(total_steps: int, description: str) -> Iterator[tqdm | None]:
    """A bar over every optimizer step of one training run (its time left is the honest
    estimate: measured on this machine, step by step), or None where nobody watches."""
    stream = _stream()
    if stream is None:
        yield None
        return
    bar = tqdm(total=total_steps, desc=description, unit="batch", file=stream,
               mininterval=0.5, dynamic_ncols=True, leave=True)
    try:
        yield bar
    finally:
        bar.close()
