"""Attack: flood the output: 100 MB printed, and 100 MB written to the real stdout/stderr."""

import os
import sys

import numpy as np

CHUNK = "y" * (2**20 - 1) + "\n"


def double(x):
    for _ in range(100):
        print(CHUNK, end="")
    return np.asarray(x)  # wrong, so that the printed output is shown


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                for _ in range(50):
                    stream.write(CHUNK)
                stream.flush()
            except (OSError, ValueError):
                pass
        for fd in (1, 2):
            try:
                for _ in range(50):
                    os.write(fd, CHUNK.encode())
            except OSError:
                pass
        self.count = self.count + by
        return self.count
