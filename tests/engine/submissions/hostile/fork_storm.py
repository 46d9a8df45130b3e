"""Attack: a bounded fork storm (variant @@VARIANT@@): children that sleep 30 s, either in
the worker's process group or detached from it (setsid). Capped: never unbounded."""

import os
import time

import numpy as np

VARIANT = "@@VARIANT@@"
CAP = 2000 if VARIANT == "in_group" else 100


def _storm():
    made = 0
    for _ in range(CAP):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                if VARIANT == "detached":
                    os.setsid()
                    if os.fork():
                        os._exit(0)
                time.sleep(30)
            finally:
                os._exit(0)
        if VARIANT == "detached":
            os.waitpid(pid, 0)
        made += 1
    return made


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        _storm()
        return -1  # wrong whatever happens
