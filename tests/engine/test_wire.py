"""The wire carries data only: values round-trip exactly, everything else is refused."""

from __future__ import annotations

import json
import pickle
import socket
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

from grader.sandboxed import wire


def _roundtrip(value):
    a, b = socket.socketpair()
    with a, b:
        tree, arrays = wire.encode(value)
        wire.send(a, {"value": tree}, arrays)
        header, arrays = wire.recv(b)
        return wire.decode(header["value"], arrays)


@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0)))
def test_arrays_roundtrip_exactly(a):
    if a.dtype.kind not in "biufc":
        return
    back = _roundtrip(a)
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_numpy_scalars_stay_scalars():
    # regression: np.ascontiguousarray turned 0-d arrays into shape (1,)
    back = _roundtrip([np.float32(1.5), np.int64(3)])
    assert back == [np.float32(1.5), np.int64(3)]
    assert all(np.ndim(v) == 0 for v in back)


def test_containers_roundtrip():
    value = {"W1": np.eye(2), "n": 3, "t": (1, "a", None), "l": [1.5, True], 4: "int key",
             "nan": float("nan")}
    back = _roundtrip(value)
    assert isinstance(back["t"], tuple) and back["t"] == (1, "a", None)
    assert back[4] == "int key" and np.isnan(back["nan"])
    np.testing.assert_array_equal(back["W1"], np.eye(2))


def test_non_contiguous_arrays_are_sent_as_they_look():
    a = np.arange(12.0).reshape(3, 4).T
    np.testing.assert_array_equal(_roundtrip(a), a)


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1, 2}, b"bytes",
                                   np.array(["text"]), np.zeros(2, dtype=[("a", "f8")])])
def test_other_values_are_refused(value):
    with pytest.raises(wire.Unencodable):
        wire.encode(value)


def _frame(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + payload


@pytest.mark.parametrize("frame", [
    _frame({"arrays": [["|O", [1]]]}, b"\0" * 8),                       # object dtype
    _frame({"arrays": [["<f8", [-1]]]}),                                # negative shape
    _frame({"value": {"$nd": 3}}),                                      # missing array
    _frame({"value": {"__reduce__": "os.system"}}),                     # unknown tag
    struct.pack(">I", 12) + b"not json at all",                       # not JSON
    struct.pack(">I", 2**31),                                           # absurd header
], ids=["object-dtype", "negative-shape", "missing-array", "unknown-tag", "not-json",
        "huge-header"])
def test_malformed_frames_are_refused(frame):
    a, b = socket.socketpair()
    with a, b:
        a.sendall(frame)
        a.shutdown(socket.SHUT_WR)
        with pytest.raises((wire.WireError, EOFError)):
            header, arrays = wire.recv(b)
            wire.decode(header.get("value"), arrays)


def test_a_pickle_is_not_a_frame():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(pickle.dumps({"x": np.ones(3)}))
        a.shutdown(socket.SHUT_WR)
        with pytest.raises((wire.WireError, EOFError)):
            wire.recv(b)


def test_handles_decode_through_the_callback():
    tree, _ = wire.encode(wire.Handle(7, "NN"))
    assert wire.decode(tree, [], lambda h: ("proxy", h.id, h.type_name)) == ("proxy", 7, "NN")


# --- large arrays travel as files the worker maps copy-on-write ---------------------------------
def test_large_arrays_are_sent_as_files_and_mapped_copy_on_write(tmp_path):
    big = np.arange(wire.SPILL_MIN_BYTES // 8 + 5, dtype=np.float64)
    small = np.ones(3)
    a, b = socket.socketpair()
    with a, b:
        spilled = wire.send(a, {"op": "x"}, [big, small], spill_to=str(tmp_path))
        header, arrays = wire.recv(b, spill_from=str(tmp_path))
    assert len(spilled) == 1 and header == {"op": "x"}
    got = arrays[0]
    assert isinstance(got, np.memmap) and np.array_equal(got, big)
    assert np.array_equal(arrays[1], small) and not isinstance(arrays[1], np.memmap)
    got[:10] = -1  # the submission may shuffle its data in place ...
    assert np.fromfile(spilled[0], dtype=np.float64)[0] == 0  # ... never the file


def test_the_trusted_side_never_maps_files(tmp_path):
    big = np.zeros(wire.SPILL_MIN_BYTES // 8, dtype=np.float64)
    a, b = socket.socketpair()
    with a, b:
        wire.send(a, {}, [big], spill_to=str(tmp_path))
        with pytest.raises(wire.WireError, match="as a file"):
            wire.recv(b)  # no spill_from: the trusted side's receive


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "array-zz.bin", "/tmp/array-" + "0" * 32 + ".bin"])
def test_only_the_senders_own_file_names_are_mapped(tmp_path, name):
    a, b = socket.socketpair()
    header = json.dumps({"arrays": [["<f8", [4], name]]}).encode()
    with a, b:
        a.sendall(struct.pack(">I", len(header)) + header)
        with pytest.raises(wire.WireError):
            wire.recv(b, spill_from=str(tmp_path))


def test_a_file_of_the_wrong_size_is_refused(tmp_path):
    big = np.zeros(wire.SPILL_MIN_BYTES // 8, dtype=np.float64)
    a, b = socket.socketpair()
    with a, b:
        (path,) = wire.send(a, {}, [big], spill_to=str(tmp_path))
        with open(path, "r+b") as f:
            f.truncate(100)
        with pytest.raises(wire.WireError, match="wrong size"):
            wire.recv(b, spill_from=str(tmp_path))


def test_announced_sizes_are_not_believed():
    """A header that announces gigabytes and sends nothing costs about a megabyte, and one
    that announces more than the reply may carry is refused before anything is read."""
    import struct
    import tracemalloc

    def lying_frame(arrays):
        raw = json.dumps({"ok": True, "value": None, "arrays": arrays}).encode()
        return struct.pack(">I", len(raw)) + raw

    a, b = socket.socketpair()
    a.sendall(lying_frame([["<f8", [402653184]]]))  # 3 GiB, then nothing
    a.close()
    tracemalloc.start()
    with pytest.raises(EOFError):
        wire.recv(b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    b.close()
    assert peak < 8 * 2**20, f"{peak:,} bytes allocated for a reply that never came"
    a, b = socket.socketpair()
    a.sendall(lying_frame([["<f8", [40_000_000]]]))
    with pytest.raises(wire.WireError, match="more than"):
        wire.recv(b, max_bytes=256 * 2**20)
    a.close()
    b.close()
