"""Tests for grader.data: IDX reading, dataset lookup, checksums and mirror downloads.

Everything except the slow test runs on tiny generated IDX files and never touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from grader.data import (
    DATASETS,
    STANDARD_FILES,
    ChecksumMismatch,
    DatasetNotFound,
    DatasetSpec,
    find_dataset,
    load_mnist_arrays,
    load_split,
    one_hot,
    read_idx,
    train_valid_split,
)
from grader.data import mnist as mnist_mod

pytest_plugins = ["pytester"]  # the mnist_dir fixture is run in a pytest of its own

_DTYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}
MIRRORS = ("https://mirror-a.invalid/data/", "https://mirror-b.invalid/")


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as an IDX file (big-endian header and data)."""
    code = _DTYPE_CODES[array.dtype.type]
    header = struct.pack(">HBB", 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_contents() -> dict[str, bytes]:
    """Raw IDX bytes for a tiny four-file dataset, keyed by uncompressed file name."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train_labels": np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8),
        "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "test_labels": np.array([7, 2, 1, 0], dtype=np.uint8),
    }
    return {STANDARD_FILES[role]: idx_bytes(arr) for role, arr in arrays.items()}


RAW = make_contents()
# mtime=0 makes the gzip bytes, and so their checksums, reproducible.
GZ = {stem: gzip.compress(data, mtime=0) for stem, data in RAW.items()}
FAKE = DatasetSpec(
    name="fake",
    env_var="FAKE_MNIST_DIR",
    mirrors=MIRRORS,
    sha256_gz={stem: sha256(data) for stem, data in GZ.items()},
    sha256_raw={stem: sha256(data) for stem, data in RAW.items()},
)


def write_dataset(directory: Path, compressed: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for stem in RAW:
        if compressed:
            (directory / f"{stem}.gz").write_bytes(GZ[stem])
        else:
            (directory / stem).write_bytes(RAW[stem])
    return directory


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real env, no real cache, no network; returns the cache root."""
    for var in ("MNIST_DIR", "FASHION_MNIST_DIR", "FAKE_MNIST_DIR", "GRADER_NO_DOWNLOAD"):
        monkeypatch.delenv(var, raising=False)
    cache_root = tmp_path / "cache"
    monkeypatch.setenv("GRADER_CACHE", str(cache_root))
    monkeypatch.setitem(DATASETS, "fake", FAKE)
    monkeypatch.setattr(mnist_mod, "_DIGESTS", {})

    def no_network(url: str, timeout: float = 60.0) -> bytes:
        raise AssertionError(f"unexpected network access: {url}")

    monkeypatch.setattr(mnist_mod, "fetch_url", no_network)
    return cache_root


# ---------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32])
def test_read_idx_round_trip(tmp_path: Path, compressed: bool, dtype: type) -> None:
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    data = idx_bytes(arr)
    path = tmp_path / ("x.gz" if compressed else "x")
    path.write_bytes(gzip.compress(data) if compressed else data)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # writable copy, not a view of the file bytes


def test_read_idx_labels_and_expected_magic(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    path.write_bytes(RAW["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(read_idx(path, expected_magic=0x0801), [5, 0, 4, 1, 9, 2])
    with pytest.raises(ValueError, match=r"labels.*expected 0x00000803"):
        read_idx(path, expected_magic=0x0803)


@pytest.mark.parametrize("header", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00"])
def test_read_idx_bad_magic(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "bad-magic"
    path.write_bytes(header + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match=r"bad-magic.*magic"):
        read_idx(path)


def test_read_idx_truncated_and_trailing(tmp_path: Path) -> None:
    data = RAW["train-images-idx3-ubyte"]
    short = tmp_path / "short-images"
    short.write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"short-images.*truncated"):
        read_idx(short)
    long = tmp_path / "long-images"
    long.write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match=r"long-images.*trailing"):
        read_idx(long)
    header_only = tmp_path / "cut-header"
    header_only.write_bytes(data[:10])
    with pytest.raises(ValueError, match=r"cut-header.*truncated IDX header"):
        read_idx(header_only)


def test_read_idx_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(GZ["train-images-idx3-ubyte"][:-20])
    with pytest.raises(ValueError, match=r"cut\.gz.*gzip"):
        read_idx(path)


# ---------------------------------------------------------------------------
# Lookup order and checksums
# ---------------------------------------------------------------------------


def test_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated: Path) -> None:
    explicit = write_dataset(tmp_path / "explicit")
    env_dir = write_dataset(tmp_path / "env")
    cache = write_dataset(isolated / "fake")
    monkeypatch.setenv("FAKE_MNIST_DIR", str(env_dir))
    assert find_dataset("fake", explicit) == explicit
    assert find_dataset("fake") == env_dir
    monkeypatch.delenv("FAKE_MNIST_DIR")
    assert find_dataset("fake") == cache


def test_incomplete_directory_falls_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    explicit = write_dataset(tmp_path / "explicit")
    (explicit / "t10k-labels-idx1-ubyte.gz").unlink()
    env_dir = write_dataset(tmp_path / "env")
    monkeypatch.setenv("FAKE_MNIST_DIR", str(env_dir))
    assert find_dataset("fake", explicit) == env_dir


def test_cache_location_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRADER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = write_dataset(tmp_path / "xdg" / "grader" / "fake")
    assert find_dataset("fake", download=False) == cache


def test_uncompressed_files_accepted(tmp_path: Path) -> None:
    raw_dir = write_dataset(tmp_path / "raw", compressed=False)
    assert find_dataset("fake", raw_dir) == raw_dir
    images, labels = load_split("test", "fake", raw_dir)
    np.testing.assert_array_equal(labels, [7, 2, 1, 0])
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8


@pytest.mark.parametrize("compressed", [True, False])
def test_checksum_mismatch_names_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compressed: bool
) -> None:
    bad = write_dataset(tmp_path / "bad", compressed=compressed)
    name = "train-labels-idx1-ubyte" + (".gz" if compressed else "")
    corrupt = b"corrupted bytes"
    (bad / name).write_bytes(corrupt)
    # A good copy elsewhere must not hide the bad one.
    monkeypatch.setenv("FAKE_MNIST_DIR", str(write_dataset(tmp_path / "good")))
    with pytest.raises(ChecksumMismatch) as info:
        find_dataset("fake", bad)
    message = str(info.value)
    assert name in message
    expected = (FAKE.sha256_gz if compressed else FAKE.sha256_raw)["train-labels-idx1-ubyte"]
    assert expected in message and sha256(corrupt) in message
    assert info.value.path == bad / name


def test_checksum_computed_once_and_rechecked_on_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Path] = []
    real_hash = mnist_mod._hash_file

    def counting_hash(path: Path) -> str:
        calls.append(path)
        return real_hash(path)

    monkeypatch.setattr(mnist_mod, "_hash_file", counting_hash)
    directory = write_dataset(tmp_path / "d")
    find_dataset("fake", directory)
    find_dataset("fake", directory)
    load_split("train", "fake", directory)
    assert len(calls) == 4

    target = directory / "t10k-images-idx3-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[-5] ^= 0xFF
    target.write_bytes(bytes(data))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumMismatch, match="t10k-images"):
        find_dataset("fake", directory)


# ---------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------


def test_download_falls_back_to_next_mirror(
    monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    requested: list[str] = []

    def fake_fetch(url: str, timeout: float = 60.0) -> bytes:
        requested.append(url)
        stem = url.rsplit("/", 1)[1].removesuffix(".gz")
        if url.startswith(MIRRORS[0]):
            return GZ[stem][:-3] + b"bad"
        return GZ[stem]

    monkeypatch.setattr(mnist_mod, "fetch_url", fake_fetch)
    found = find_dataset("fake")
    assert found == isolated / "fake"
    for stem, data in GZ.items():
        assert (found / f"{stem}.gz").read_bytes() == data
    assert not [p for p in found.iterdir() if p.name.startswith(".")]  # no temp files left
    assert len(requested) == 8
    assert f"{MIRRORS[0]}train-images-idx3-ubyte.gz" in requested
    assert f"{MIRRORS[1]}train-images-idx3-ubyte.gz" in requested
    _, labels = load_split("train", "fake", download=False)
    np.testing.assert_array_equal(labels, [5, 0, 4, 1, 9, 2])


def test_download_only_missing_files(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    cache = write_dataset(isolated / "fake")
    (cache / "train-images-idx3-ubyte.gz").unlink()
    requested: list[str] = []

    def fake_fetch(url: str, timeout: float = 60.0) -> bytes:
        requested.append(url)
        return GZ[url.rsplit("/", 1)[1].removesuffix(".gz")]

    monkeypatch.setattr(mnist_mod, "fetch_url", fake_fetch)
    assert find_dataset("fake") == cache
    assert requested == [f"{MIRRORS[0]}train-images-idx3-ubyte.gz"]


def test_all_mirrors_fail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing_fetch(url: str, timeout: float = 60.0) -> bytes:
        if url.startswith(MIRRORS[0]):
            raise OSError("connection refused")
        return b"not the file"

    monkeypatch.setattr(mnist_mod, "fetch_url", failing_fetch)
    with pytest.raises(DatasetNotFound) as info:
        find_dataset("fake", tmp_path / "nowhere")
    message = str(info.value)
    for mirror in MIRRORS:
        assert mirror in message
    assert "connection refused" in message and "sha256 mismatch" in message
    assert str(tmp_path / "nowhere") in message
    assert "$FAKE_MNIST_DIR: not set" in message
    assert "FAKE_MNIST_DIR=" in message  # says how to fix it


def test_download_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetNotFound, match=r"download=False"):
        find_dataset("fake", download=False)
    monkeypatch.setenv("GRADER_NO_DOWNLOAD", "1")
    with pytest.raises(DatasetNotFound, match=r"GRADER_NO_DOWNLOAD"):
        find_dataset("fake")  # fetch_url raises AssertionError if it is ever called


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*mnist"):
        find_dataset("nope")


def test_builtin_specs_complete() -> None:
    for spec in (DATASETS["mnist"], DATASETS["fashion-mnist"]):
        stems = set(spec.files.values())
        assert set(spec.sha256_gz) == stems and set(spec.sha256_raw) == stems
        hashes = [*spec.sha256_gz.values(), *spec.sha256_raw.values()]
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
        assert spec.mirrors and all(m.endswith("/") for m in spec.mirrors)
    assert DATASETS["mnist"].env_var == "MNIST_DIR"
    assert DATASETS["fashion-mnist"].env_var == "FASHION_MNIST_DIR"


# ---------------------------------------------------------------------------
# Array helpers
# ---------------------------------------------------------------------------


def test_load_mnist_arrays(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "d")
    data = load_mnist_arrays("fake", directory)
    X, y = data["train"]
    assert X.shape == (6, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(y, [5, 0, 4, 1, 9, 2])
    images, _ = load_split("train", "fake", directory)
    np.testing.assert_allclose(X, images.reshape(6, -1) / 255, rtol=1e-6)
    raw = load_mnist_arrays("fake", directory, flatten=False, scale=False, dtype=np.float64)
    assert raw["test"][0].shape == (4, 28, 28) and raw["test"][0].max() > 1


def test_load_split_rejects_bad_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split"):
        load_split("valid", "fake", write_dataset(tmp_path / "d"))  # type: ignore[arg-type]


def test_one_hot() -> None:
    out = one_hot(np.array([0, 3, 9], dtype=np.uint8))
    assert out.shape == (3, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(1), [0, 3, 9])
    np.testing.assert_array_equal(out.sum(1), [1, 1, 1])
    assert one_hot([1, 0], n_classes=2, dtype=np.int64).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="lie in"):
        one_hot([10])
    with pytest.raises(ValueError, match="integers"):
        one_hot([0.5])


def test_train_valid_split() -> None:
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    (Xt, yt), (Xv, yv) = train_valid_split(X, y, n_train=7)
    np.testing.assert_array_equal(yt, np.arange(7))
    np.testing.assert_array_equal(yv, [7, 8, 9])
    assert Xt.shape == (7, 2) and Xv.shape == (3, 2)
    with pytest.raises(ValueError, match="n_train"):
        train_valid_split(X, y, n_train=11)
    with pytest.raises(ValueError, match="rows"):
        train_valid_split(X, y[:-1], n_train=5)


# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_real_mnist_facts(mnist_dir: Path) -> None:
    train_X, train_y = load_split("train", directory=mnist_dir, download=False)
    test_X, test_y = load_split("test", directory=mnist_dir, download=False)
    assert train_X.shape == (60000, 28, 28) and train_X.dtype == np.uint8
    assert test_X.shape == (10000, 28, 28) and test_y.shape == (10000,)
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(train_y, minlength=10).tolist() == counts
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(test_y, minlength=10).tolist() == test_counts
    assert train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]

    data = load_mnist_arrays(directory=mnist_dir, download=False)
    X, y = data["train"]
    assert X.shape == (60000, 784) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    (Xt, _), (Xv, yv) = train_valid_split(X, y)
    assert len(Xt) == 50000 and len(Xv) == 10000
    assert yv.tolist()[:1] == [int(train_y[50000])]


REAL_FETCH = mnist_mod.fetch_url  # the autouse fixture replaces it in every test


def test_fetch_url_streams_the_whole_body_through_its_progress_bar(tmp_path: Path) -> None:
    """The first-use download (``pytest`` on a fresh clone) reads in chunks behind a progress
    bar; what it returns is the body, byte for byte, whatever the chunking."""
    import functools
    import http.server
    import threading

    body = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(body)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/t10k-labels-idx1-ubyte.gz"
        assert REAL_FETCH(url, timeout=10) == body
    finally:
        server.shutdown()


@pytest.mark.parametrize("why", ["no network", "downloads off"])
def test_without_mnist_the_tests_that_need_it_skip_naming_mnist_dir(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, why: str
) -> None:
    """README's promise for a machine with no copy and no network: the engine's ``mnist_dir``
    fixture (tests/engine/conftest.py) skips, and its reason says to set ``MNIST_DIR``."""
    import urllib.error

    def offline(url: str, timeout: float = 60.0) -> bytes:
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(mnist_mod, "fetch_url", offline)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "no-such-folder"))
    if why == "downloads off":
        monkeypatch.setenv("GRADER_NO_DOWNLOAD", "1")
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_needs_mnist="def test_it(mnist_dir):\n    raise AssertionError\n")
    run = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = run.listoutcomes()
    assert (len(passed), len(skipped), len(failed)) == (0, 1, 0)
    reason = skipped[0].longrepr[2]
    assert "set MNIST_DIR to a folder holding the four IDX .gz files" in reason, reason
    assert "dataset 'mnist' not found" in reason, reason
