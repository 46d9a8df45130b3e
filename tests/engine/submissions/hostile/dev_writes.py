"""Attack: leave files behind outside the worker's temporary folder, in /dev, /dev/shm and
/tmp (shared memory outlives the worker: a channel to the next submission graded on the
machine). The graded functions are correct; what counts is whether a file is left on the
machine once grading is over (a sandbox may give the worker private, throw-away copies of
these folders)."""

import os

import numpy as np

MARKER = "@@MARKER@@"


def _drop():
    landed = 0
    for folder in ("/dev/shm", "/dev", "/dev/mqueue", "/tmp", "/var/tmp"):
        try:
            with open(os.path.join(folder, f"hostile-{MARKER}"), "w") as f:
                f.write(MARKER)
            landed += 1
        except OSError:
            pass
    return landed


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        _drop()
        self.count = self.count + by
        return self.count
