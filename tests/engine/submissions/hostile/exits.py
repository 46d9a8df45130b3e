"""Attack: exit instead of failing (variant @@VARIANT@@), at import or in a method."""

import os
import sys

import numpy as np

VARIANT = "@@VARIANT@@"


def double(x):
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        if VARIANT == "os_exit_in_method":
            os._exit(0)
        if VARIANT == "sys_exit_in_method":
            sys.exit(0)
        self.count = self.count + by
        return self.count


class Leave:
    if VARIANT == "os_exit_at_import":
        os._exit(0)
    if VARIANT == "sys_exit_at_import":
        sys.exit(0)
