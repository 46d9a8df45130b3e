"""Attack: the worker's replies lie (variant @@VARIANT@@).

`double` finds the worker's own socket and writes a frame of its own before the real reply:
a header that announces gigabytes and sends nothing, more than a reply may carry, a header
that is not what the protocol says, odd values where the grader expects its own shapes, or
text that cannot be encoded. The trusted side must not believe sizes, must not crash on odd
replies, and must fail only this test (the worker is stopped; `Counter` keeps its points).
"""

import gc
import json
import struct
import time

import numpy as np

VARIANT = "@@VARIANT@@"


def _socket():
    for obj in gc.get_objects():
        if type(obj).__name__ == "Server" and hasattr(obj, "sock"):
            return obj.sock
    raise RuntimeError("no socket found")


def _frame(header, payload=b""):
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + payload


def double(x):
    sock = _socket()
    if VARIANT == "claims_4gib_sends_nothing":
        sock.sendall(_frame({"ok": True, "value": {"$nd": 0},
                             "arrays": [["<f8", [536870912]]]}))
        time.sleep(60)
    elif VARIANT == "claims_over_a_reply":
        sock.sendall(_frame({"ok": True, "value": {"$nd": 0}, "arrays": [["<f8", [40000000]]]}))
        time.sleep(60)
    elif VARIANT == "many_arrays_each_small":
        sock.sendall(_frame({"ok": True, "value": [{"$nd": i} for i in range(4000)],
                             "arrays": [["<f8", [100000]]] * 4000}))
        time.sleep(60)
    elif VARIANT == "header_claims_16mb":
        sock.sendall(struct.pack(">I", 16 * 2**20) + b"{")
        time.sleep(60)
    elif VARIANT == "half_a_reply_then_silence":
        sock.sendall(_frame({"ok": True, "value": {"$nd": 0}, "arrays": [["<f8", [1000]]]},
                            b"\0" * 4000))
        time.sleep(60)
    elif VARIANT == "negative_shape":
        sock.sendall(_frame({"ok": True, "value": {"$nd": 0}, "arrays": [["<f8", [-1, 5]]]}))
        time.sleep(60)
    return np.asarray(x, dtype=float) * 2.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
