"""Attack: tamper with the worker's own output log, which the grader reads back after a
crash (variant @@VARIANT@@): swap it for a symlink to the reference (so that the grader
itself reads the reference into its crash report), or for a FIFO (so that reading it blocks
the grader). Then die."""

import ctypes
import os

import numpy as np

VARIANT = "@@VARIANT@@"
REFERENCE = "@@REFERENCE@@"
LOG = "worker-output.log"  # in the worker's current (temporary) folder


def _swap_and_die():
    try:
        os.remove(LOG)
    except OSError:
        pass
    try:
        if VARIANT == "symlink_to_reference":
            os.symlink(REFERENCE, LOG)
        else:
            os.mkfifo(LOG)
    except OSError:
        pass
    if VARIANT == "symlink_to_reference":
        ctypes.string_at(0)  # a hard crash: its trace is looked for in the log
    os._exit(1)


def double(x):
    _swap_and_die()
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
