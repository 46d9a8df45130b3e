"""Attack: kill the grader: SIGKILL the worker's parent (the pytest run), its process group,
and the grandparent (the grader command). Only ancestors, never anything else.

The graded functions are correct: killing the grader must not cost (or earn) any point.
"""

import os
import signal

import numpy as np


def _ancestors(depth=2):
    found, pid = [], os.getpid()
    for _ in range(depth):
        try:
            with open(f"/proc/{pid}/status") as f:
                pid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            break
        if pid <= 1:
            break
        found.append(pid)
    return found


def _strike():
    hits = 0
    for pid in _ancestors():
        for hit in (lambda: os.kill(pid, signal.SIGKILL),
                    lambda: os.killpg(os.getpgid(pid), signal.SIGKILL)):
            try:
                hit()
                hits += 1
            except OSError:
                pass
    try:
        os.kill(os.getppid(), signal.SIGKILL)
        hits += 1
    except OSError:
        pass
    return hits


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        _strike()
        self.count = self.count + by
        return self.count
