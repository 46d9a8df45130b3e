"""The data-only wire between the trusted grader and the untrusted worker.

Both ends import this one module (so they cannot disagree on a frame); it lives with the
worker's code because it runs there, and importing it on the trusted side is harmless.

A message is a frame: a 4-byte big-endian header length, a UTF-8 JSON header, then the raw
bytes of every array the header lists. Nothing is ever pickled, in either direction: a worker
that sends anything else is refused, so student code can hand back only numbers, strings,
containers and plain numeric arrays, never objects with behaviour of their own.

Large arrays sent *to* the worker (a training set) may travel as files instead: the trusted
side writes them into the worker's private folder and the worker maps them copy-on-write.
The pages are then the kernel's page cache, which it can drop under memory pressure, rather
than a second private copy in each process (this is what keeps a 50,000-image training test
inside a 768 MB container). The worker can never make the trusted side map a file.

Values are encoded as a JSON tree in which every non-JSON value is a tagged object:
``{"$nd": i}`` (array i of the frame), ``{"$np": i}`` (a numpy scalar, sent as a 0-d array),
``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}`` and ``{"$obj": id, "type": name}``
(a handle to an object that stays in the worker).
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import struct
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 4 * 2**30
MAX_DEPTH = 64
SPILL_MIN_BYTES = 8 * 2**20
_SPILL_NAME = re.compile(r"array-[0-9a-f]{32}\.bin")
_ALLOWED_KINDS = frozenset("biufc")  # bool, signed, unsigned, float, complex


class WireError(Exception):
    """The peer sent something that is not a well-formed data-only message."""


class Unencodable(TypeError):
    """A value cannot cross the wire (and is not allowed to become a handle)."""


class Handle:
    """A reference to an object that lives in the worker."""

    __slots__ = ("id", "type_name")

    def __init__(self, id: int, type_name: str) -> None:
        self.id = id
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object in the worker #{self.id}>"


def encode(value: Any, register: Callable[[Any], Handle] | None = None) -> tuple[Any, list]:
    """Turn ``value`` into a JSON tree plus the list of arrays it refers to.

    ``register`` turns any other object into a handle; without it such objects are refused.
    """
    arrays: list[np.ndarray] = []

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Unencodable(f"value nested deeper than {MAX_DEPTH} levels")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if abs(v) < 2**63 else float(v)
        if isinstance(v, float):
            return v
        if isinstance(v, Handle):
            return {"$obj": v.id, "type": v.type_name}
        if isinstance(v, np.ndarray):
            return {"$nd": _add_array(arrays, v)}
        if isinstance(v, np.generic):
            return {"$np": _add_array(arrays, np.asarray(v))}
        if type(v) is tuple:
            return {"$tuple": [enc(x, depth + 1) for x in v]}
        if type(v) is list:
            return [enc(x, depth + 1) for x in v]
        if type(v) is dict:
            return {"$dict": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if register is not None:
            return enc(register(v), depth)
        raise Unencodable(f"a value of type {type(v).__name__} cannot be sent")

    return enc(value, 0), arrays


def _add_array(arrays: list, a: np.ndarray) -> int:
    if a.dtype.kind not in _ALLOWED_KINDS or a.dtype.fields is not None:
        raise Unencodable(f"arrays of dtype {a.dtype} cannot be sent (only numeric arrays)")
    # not np.ascontiguousarray: it would turn a 0-d array (a numpy scalar) into shape (1,)
    arrays.append(a if a.flags.c_contiguous else a.copy(order="C"))
    return len(arrays) - 1


def decode(tree: Any, arrays: list[np.ndarray], make_handle: Callable[[Handle], Any] | None = None):
    """Inverse of :func:`encode`; refuses anything that is not one of the known tags."""

    def dec(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("message nested too deeply")
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) not in (1, 2):
            raise WireError(f"unexpected value in message: {str(v)[:80]}")
        if "$nd" in v:
            return _array_at(arrays, v["$nd"])
        if "$np" in v:
            return _array_at(arrays, v["$np"])[()]
        if "$tuple" in v:
            return tuple(dec(x, depth + 1) for x in _as_list(v["$tuple"]))
        if "$dict" in v:
            out = {}
            for pair in _as_list(v["$dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict entry")
                key = dec(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise WireError("dict key must be a plain value")
                out[key] = dec(pair[1], depth + 1)
            return out
        if "$obj" in v:
            handle = Handle(int(v["$obj"]), str(v.get("type", "object"))[:100])
            return make_handle(handle) if make_handle else handle
        raise WireError(f"unknown tag in message: {list(v)[:2]}")

    return dec(tree, 0)


def _as_list(v: Any) -> list:
    if not isinstance(v, list):
        raise WireError("malformed message")
    return v


def _array_at(arrays: list, index: Any) -> np.ndarray:
    if not isinstance(index, int) or not 0 <= index < len(arrays):
        raise WireError("message refers to a missing array")
    return arrays[index]


def send(sock: socket.socket, header: dict, arrays: list[np.ndarray],
         spill_to: str | None = None) -> list[str]:
    """Write one frame: header (with the array table added) then the array bytes.

    With ``spill_to`` (a folder the receiver can read), arrays of at least SPILL_MIN_BYTES
    are written there as files and only named in the header; the paths are returned so
    that the sender can remove them once the receiver has answered.
    """
    header = dict(header)
    table, inline, spilled = [], [], []
    for a in arrays:
        if spill_to is not None and a.nbytes >= SPILL_MIN_BYTES:
            name = f"array-{uuid.uuid4().hex}.bin"
            path = os.path.join(spill_to, name)
            a.tofile(path)
            spilled.append(path)
            table.append([a.dtype.str, list(a.shape), name])
        else:
            table.append([a.dtype.str, list(a.shape)])
            inline.append(a)
    header["arrays"] = table
    raw = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    if len(raw) > MAX_HEADER_BYTES:
        raise Unencodable(f"message header of {len(raw)} bytes is too large")
    sock.sendall(struct.pack(">I", len(raw)) + raw)
    for a in inline:
        if a.nbytes:
            sock.sendall(memoryview(a.reshape(-1)).cast("B"))
    return spilled


def recv(sock: socket.socket, spill_from: str | None = None,
         max_bytes: int = MAX_ARRAY_BYTES) -> tuple[dict, list[np.ndarray]]:
    """Read one frame; raise EOFError when the peer is gone, WireError when it misbehaves.

    Sizes the peer declares are not believed: a frame whose header and arrays claim more
    than ``max_bytes`` (what the request can legitimately return) is refused before any of
    it is read, and arrays are read as their bytes arrive, so memory grows with what was
    actually sent, never with what was announced. Arrays sent as files are accepted only with
    ``spill_from`` (the worker's side), only under that folder and only with the names
    :func:`send` gives them.
    """
    (length,) = struct.unpack(">I", _read_exact(sock, 4))
    if length > min(MAX_HEADER_BYTES, max_bytes):
        raise WireError(f"a header of {length:,} bytes exceeds the limit of "
                        f"{min(MAX_HEADER_BYTES, max_bytes):,}")
    try:
        header = json.loads(_read_growing(sock, length))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise WireError("header must be a JSON object")
    specs = [_array_spec(spec) for spec in header.pop("arrays", [])]
    declared = length + sum(d.itemsize * math.prod(shape) for d, shape, name in specs
                            if name is None)
    if declared > max_bytes:
        raise WireError(f"the message claims {declared:,} bytes, more than the "
                        f"{max_bytes:,} it may carry")
    arrays = []
    for dtype, shape, name in specs:
        nbytes = dtype.itemsize * math.prod(shape)
        if name is not None:
            arrays.append(_map_spilled(spill_from, name, dtype, shape, nbytes))
            continue
        buf = _read_growing(sock, nbytes)
        arrays.append(np.frombuffer(buf, dtype=dtype).reshape(shape))
    return header, arrays


def frame_bytes(header: dict, arrays: list[np.ndarray]) -> int:
    """About how many bytes a received frame held (for a per-test budget)."""
    return len(json.dumps(header, default=str)) + sum(a.nbytes for a in arrays)


def _map_spilled(folder: str | None, name: str, dtype: np.dtype, shape: tuple[int, ...],
                 nbytes: int) -> np.ndarray:
    if folder is None or not _SPILL_NAME.fullmatch(name):
        raise WireError("refused an array sent as a file")
    path = os.path.join(folder, name)
    try:
        if os.path.getsize(path) != nbytes or nbytes == 0:
            raise WireError(f"array file {name} has the wrong size")
        # copy-on-write: the submission may change its copy (shuffle in place), never the file
        return np.memmap(path, dtype=dtype, mode="c", shape=shape)
    except OSError as exc:
        raise WireError(f"array file {name} cannot be read: {exc}") from None


def _array_spec(spec: Any) -> tuple[np.dtype, tuple[int, ...], str | None]:
    try:
        dtype_str, shape, *rest = spec
        name = str(rest[0]) if len(rest) == 1 else None
        if len(rest) > 1:
            raise ValueError("too many fields")
        dtype = np.dtype(str(dtype_str))
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise WireError(f"bad array description {str(spec)[:80]}: {exc}") from None
    if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"refused array dtype {dtype}")
    if any(s < 0 for s in shape) or len(shape) > 32:
        raise WireError(f"bad array shape {shape}")
    return dtype, shape, name


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    _read_into(sock, memoryview(buf))
    return bytes(buf)


_CHUNK = 2**20


def _read_growing(sock: socket.socket, n: int) -> bytearray:
    """Read ``n`` bytes into a buffer that grows (at most doubling) as they arrive: a peer
    that announces gigabytes and sends nothing costs a megabyte, not gigabytes."""
    buf = bytearray(min(n, _CHUNK))
    got = 0
    while got < n:
        if got == len(buf):
            buf.extend(bytes(min(len(buf), n - len(buf))))
        view = memoryview(buf)[got:]
        count = sock.recv_into(view)
        view.release()
        if count == 0:
            raise EOFError("the other side closed the connection")
        got += count
    return buf


def _read_into(sock: socket.socket, view: memoryview) -> None:
    while len(view):
        got = sock.recv_into(view)
        if got == 0:
            raise EOFError("the other side closed the connection")
        view = view[got:]
