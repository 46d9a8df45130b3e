"""Attack: hold more memory than `memory_mb` across processes (variant @@VARIANT@@).

RLIMIT_AS bounds one process: three children of 450 MB each and the worker itself, or files
in /dev/shm (RAM outside any process, each under the 64 MB file-size limit), go past the mini
pack's 1024 MB together. `double`
answers right only if every allocation stayed alive to the end: the attack worked.
"""

import os
import time

import numpy as np

VARIANT = "@@VARIANT@@"
MB = 2**20


def _children(count, size_mb):
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones(size_mb * MB // 8)  # touched: resident
                time.sleep(0.5)
                os._exit(0 if block.sum() > 0 else 1)
            except BaseException:
                os._exit(1)
        pids.append(pid)
    ok = True
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        ok = ok and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return ok


def _shared(size_mb, per_file_mb=60):
    """Many files, each under the per-file size limit (RLIMIT_FSIZE), held at once."""
    paths = [f"/dev/shm/held-@@MARKER@@-{i}" for i in range(size_mb // per_file_mb)]
    try:
        chunk = b"\1" * MB
        for path in paths:
            with open(path, "wb") as f:
                for _ in range(per_file_mb):
                    f.write(chunk)
        time.sleep(0.5)
        return all(os.path.getsize(p) == per_file_mb * MB for p in paths)
    except OSError:
        return False
    finally:
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass


def double(x):
    ok = _children(3, 450) if VARIANT == "processes" else _shared(1200)
    factor = 2.0 if ok else 3.0
    return np.asarray(x, dtype=float) * factor


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
