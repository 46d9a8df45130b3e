"""Attack: leave things behind when grading is killed at its overall time limit.

`double` starts a detached grandchild (double fork + setsid) that writes 64 MB of shared
memory and files carrying the marker into /dev/shm, /tmp, /var/tmp and its own folder, then
sleeps; `double` itself then never returns, so the whole run is killed at its overall time
limit and pytest's teardown (which stops workers) is never reached. Whatever happened to pytest, nothing of the
attack may survive grading: no process of its uid, no file, no folder.
"""

import os
import time

import numpy as np

MARKER = "@@MARKER@@"


def _leave_things():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for folder in ("/dev/shm", "/tmp", "/var/tmp", os.environ.get("TMPDIR", ".")):
        try:
            with open(os.path.join(folder, f"left-{MARKER}"), "wb") as f:
                f.write(b"\0" * (64 * 2**20 if folder == "/dev/shm" else 4096))
        except OSError:
            pass
    time.sleep(120)
    os._exit(0)


def double(x):
    _leave_things()
    while True:
        time.sleep(0.1)
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
