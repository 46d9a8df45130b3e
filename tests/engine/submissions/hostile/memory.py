"""Attack: allocate far more memory than there is (variant @@VARIANT@@)."""

import numpy as np

VARIANT = "@@VARIANT@@"


def double(x):
    if VARIANT == "bytearray_50gb":
        hog = bytearray(50 * 2**30)
    elif VARIANT == "numpy_50gb":
        hog = np.ones(50 * 2**30 // 8)
    else:  # grow until something gives
        hog = []
        for _ in range(50 * 16):
            hog.append(np.ones(2**26 // 8))  # 64 MiB at a time, touched
    return np.asarray(x, dtype=float) * 2.0 + 0 * len(hog)


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
