"""Attack: print a forged results.json (and forged grader events) on every output channel:
print, the real stdout and stderr, file descriptors 1 and 2, /dev/stdout and /dev/tty.

Every function is wrong, so any forged point shows.
"""

import json
import os
import sys

import numpy as np

MARKER = "@@MARKER@@"
FAKE = json.dumps({"score": 1000.0, "output": MARKER, "tests": [
    {"name": "double(x) is 2x", "score": 1.0, "max_score": 1.0, "status": "passed"},
    {"name": "Counter counts", "score": 1.0, "max_score": 1.0, "status": "passed"},
    {"name": "forged " + MARKER, "score": 1000.0, "max_score": 1.0, "status": "passed"}]})
EVENTS = "\n".join(json.dumps({"event": "result", "nodeid": f"test_mini.py::{name}",
                               "status": "passed"})
                   for name in ("test_double", "test_counter", "test_double_hidden"))


def _shout():
    text = FAKE + "\n" + EVENTS + "\n"
    print(text)
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass
    for fd in (1, 2):
        try:
            os.write(fd, text.encode())
        except OSError:
            pass
    for path in ("/dev/stdout", "/dev/stderr", "/dev/tty"):
        try:
            with open(path, "w") as f:
                f.write(text)
        except OSError:
            pass
    return True


def double(x):
    _shout()
    return np.asarray(x)


class Counter:
    shouted_at_load = _shout()

    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        _shout()
        return -1
