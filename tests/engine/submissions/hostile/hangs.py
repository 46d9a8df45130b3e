"""Attack: never finish (variant @@VARIANT@@): in a class body, at top level, in a method,
with SIGTERM and friends ignored and blocked."""

import signal

import numpy as np

VARIANT = "@@VARIANT@@"


def _dig_in():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                signal.SIGUSR2, signal.SIGALRM, signal.SIGXCPU, signal.SIGPIPE):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL,
                                                                     signal.SIGSTOP})
    except (OSError, ValueError):
        pass


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        if VARIANT == "loop_in_method":
            while True:
                pass
        if VARIANT == "sigterm_ignored_in_method":
            _dig_in()
            while True:
                pass
        self.count = self.count + by
        return self.count


class Spin:
    if VARIANT == "loop_in_class_body":
        while True:
            pass
    if VARIANT == "sigterm_ignored_at_import":
        _dig_in()
        while True:
            pass


if VARIANT == "loop_at_top_level":
    while True:
        pass
