"""Find, verify and read MNIST-style datasets stored as the four standard IDX files.

Graders must score against the real data, never a silent stand-in, so every file is checked
against a known sha256 before it is read, and a dataset that cannot be found raises an error
that says where it looked and how to fix it.

Lookup order for ``find_dataset``:

1. the ``directory`` argument;
2. the dataset's environment variable (``$MNIST_DIR``, ``$FASHION_MNIST_DIR``);
3. the user cache: ``$GRADER_CACHE/<name>``, else ``$XDG_CACHE_HOME/grader/<name>``,
   else ``~/.cache/grader/<name>``;
4. a download into that cache from the dataset's mirrors, in order (turned off by
   ``download=False`` or ``GRADER_NO_DOWNLOAD=1``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from grader.files import cache_root, write_atomically

__all__ = [
    "DATASETS",
    "STANDARD_FILES",
    "ChecksumMismatch",
    "DatasetError",
    "DatasetNotFound",
    "DatasetSpec",
    "fetch_url",
    "find_dataset",
    "load_mnist_arrays",
    "load_split",
    "one_hot",
    "read_idx",
    "train_valid_split",
]

#: Role -> uncompressed file name; the gzip file adds ``.gz``.
STANDARD_FILES: Mapping[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

IDX_IMAGES = 0x0803
IDX_LABELS = 0x0801

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: Mapping[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

_GZIP_MAGIC = b"\x1f\x8b"


class DatasetError(Exception):
    """Base class, so callers can catch every data problem at once."""


class DatasetNotFound(DatasetError):
    """No lookup place held the dataset and no mirror delivered it."""


class ChecksumMismatch(DatasetError):
    """A file is present but is not the published file; reading it would grade on bad data."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"checksum mismatch for {self.path}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt, truncated or a different dataset; delete or replace it."
        )


@dataclass(frozen=True, eq=False)
class DatasetSpec:
    """Everything needed to locate and trust one MNIST-style dataset."""

    name: str
    env_var: str
    mirrors: tuple[str, ...]
    sha256_gz: Mapping[str, str]  # keyed by uncompressed file name
    sha256_raw: Mapping[str, str]
    files: Mapping[str, str] = field(default_factory=lambda: dict(STANDARD_FILES))


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        env_var="MNIST_DIR",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        sha256_gz={
            "train-images-idx3-ubyte": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            ),
            "train-labels-idx1-ubyte": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            ),
            "t10k-images-idx3-ubyte": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            ),
            "t10k-labels-idx1-ubyte": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
            ),
        },
        sha256_raw={
            "train-images-idx3-ubyte": (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
            ),
            "train-labels-idx1-ubyte": (
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
            ),
            "t10k-images-idx3-ubyte": (
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
            ),
            "t10k-labels-idx1-ubyte": (
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
            ),
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        env_var="FASHION_MNIST_DIR",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256_gz={
            "train-images-idx3-ubyte": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train-labels-idx1-ubyte": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "t10k-images-idx3-ubyte": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "t10k-labels-idx1-ubyte": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
        sha256_raw={
            "train-images-idx3-ubyte": (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
            ),
            "train-labels-idx1-ubyte": (
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
            ),
            "t10k-images-idx3-ubyte": (
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
            ),
            "t10k-labels-idx1-ubyte": (
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
            ),
        },
    ),
}


# ---------------------------------------------------------------------------
# Hashing and fetching
# ---------------------------------------------------------------------------

# (resolved path, size, mtime_ns) -> sha256; a changed file gets a new key and is hashed again.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _hash_file(path: Path) -> str:
    """Hash a file in chunks so large files do not need to fit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    """sha256 of ``path``, computed at most once per process for an unchanged file."""
    key = _stat_key(path)
    if key not in _DIGESTS:
        _DIGESTS[key] = _hash_file(path)
    return _DIGESTS[key]


def fetch_url(url: str, timeout: float = 60.0) -> bytes:
    """Return the body at ``url``; the one network call, so tests can replace it.

    A first run downloads about 11 MB; the bar (on a terminal only) shows that it is moving.
    """
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "grader-data/0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        size = int(response.headers.get("Content-Length") or 0) or None
        chunks: list[bytes] = []
        with tqdm(total=size, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                  disable=None, leave=False) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
        return b"".join(chunks)


# ---------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------


def _get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None


def _cache_dir(spec: DatasetSpec) -> Path:
    return cache_root() / spec.name


def _downloads_disabled_by_env() -> bool:
    value = os.environ.get("GRADER_NO_DOWNLOAD", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _existing_file(directory: Path, stem: str) -> Path | None:
    """The file read for ``stem``: the gzip file when present, else the uncompressed one."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _verify(spec: DatasetSpec, path: Path, stem: str) -> None:
    expected = spec.sha256_gz[stem] if path.name.endswith(".gz") else spec.sha256_raw[stem]
    actual = _file_sha256(path)
    if actual != expected:
        raise ChecksumMismatch(path, expected, actual)


def _missing_files(spec: DatasetSpec, directory: Path) -> list[str]:
    """Verify the files present (raising on a bad one) and return the names still missing."""
    missing = []
    for stem in spec.files.values():
        path = _existing_file(directory, stem)
        if path is None:
            missing.append(stem)
        else:
            _verify(spec, path, stem)
    return missing


def _describe_missing(missing: list[str]) -> str:
    return "missing " + ", ".join(f"{stem}[.gz]" for stem in missing)


def _download_file(spec: DatasetSpec, directory: Path, stem: str, errors: list[str]) -> bool:
    """Try each mirror for ``stem.gz``; record every failure in ``errors``."""
    name = f"{stem}.gz"
    expected = spec.sha256_gz[stem]
    for mirror in spec.mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            data = fetch_url(url)
        except Exception as exc:  # any failure of one mirror means: try the next
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            errors.append(f"{url}: sha256 mismatch (expected {expected}, got {actual})")
            continue
        final = write_atomically(directory / name, data)
        _DIGESTS[_stat_key(final)] = actual
        return True
    return False


def find_dataset(
    name: str = "mnist",
    directory: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> Path:
    """Return a directory holding all four verified files of dataset ``name``.

    Raises ``ChecksumMismatch`` when a looked-at directory holds a wrong file (rather than
    quietly using another copy) and ``DatasetNotFound`` when nothing worked.
    """
    spec = _get_spec(name)
    looked: list[str] = []

    candidates: list[tuple[str, Path | None]] = [
        ("directory argument", Path(directory).expanduser() if directory is not None else None),
    ]
    env_value = os.environ.get(spec.env_var)
    candidates.append((f"${spec.env_var}", Path(env_value).expanduser() if env_value else None))
    cache = _cache_dir(spec)
    candidates.append(("cache", cache))

    for label, path in candidates:
        if path is None:
            looked.append(f"{label}: not set")
        elif not path.is_dir():
            looked.append(f"{label} {path}: does not exist")
        else:
            missing = _missing_files(spec, path)
            if not missing:
                return path
            looked.append(f"{label} {path}: {_describe_missing(missing)}")

    errors: list[str] = []
    if not download:
        download_note = "download: disabled (download=False)"
    elif _downloads_disabled_by_env():
        download_note = "download: disabled (GRADER_NO_DOWNLOAD is set)"
    else:
        download_note = f"download into {cache}: failed"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            missing = _missing_files(spec, cache)
            # A list, not a generator: try every file so the report names every failure.
            ok = all([_download_file(spec, cache, stem, errors) for stem in missing])
        except OSError as exc:
            errors.append(f"cannot write to {cache}: {exc}")
            ok = False
        if ok and not _missing_files(spec, cache):
            return cache

    lines = [f"dataset {spec.name!r} not found.", "Looked in:"]
    lines += [f"  - {item}" for item in looked]
    lines.append(download_note)
    lines += [f"  - {err}" for err in errors]
    gz_names = ", ".join(f"{stem}.gz" for stem in spec.files.values())
    lines.append(
        f"To fix: put the four files ({gz_names}) in one directory and set "
        f"{spec.env_var}=/that/directory (or pass directory=...)."
    )
    raise DatasetNotFound("\n".join(lines))


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_idx(path: str | os.PathLike[str], expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip or raw) into a native-endian array, checking its header.

    A wrong magic number, a header that disagrees with the data size, or a truncated file
    raises ``ValueError`` naming the file, because a half-read dataset grades silently wrong.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08x}")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: IDX magic 0x{magic:08x}, expected 0x{expected_magic:08x}")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} of {header_len} bytes)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected_len = header_len + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected_len:
        kind = "truncated" if len(raw) < expected_len else "has trailing bytes"
        raise ValueError(
            f"{path}: {kind}: header dims {dims} need {expected_len} bytes, file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # copy: writable and native byte order


def load_split(
    split: Literal["train", "test"],
    name: str = "mnist",
    directory: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return verified ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    spec = _get_spec(name)
    root = find_dataset(name, directory, download)
    arrays = []
    for kind, magic in (("images", IDX_IMAGES), ("labels", IDX_LABELS)):
        path = _existing_file(root, spec.files[f"{split}_{kind}"])
        assert path is not None  # find_dataset checked every file
        arrays.append(read_idx(path, expected_magic=magic))
    images, labels = arrays
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(
            f"{root}: {split} images {images.shape} do not match labels {labels.shape}"
        )
    return images, labels


def load_mnist_arrays(
    name: str = "mnist",
    directory: str | os.PathLike[str] | None = None,
    *,
    flatten: bool = True,
    scale: bool = True,
    dtype: npt.DTypeLike = np.float32,
    download: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{'train': (X, y), 'test': (X, y)}`` ready for a model.

    ``X`` is ``dtype`` in [0, 1] when ``scale`` (shape ``(N, 784)`` when ``flatten``); ``y``
    is int64 so label arithmetic and indexing cannot wrap around as uint8 would.
    """
    out = {}
    for split in ("train", "test"):
        images, labels = load_split(split, name, directory, download)
        X = images.astype(dtype)
        if scale:
            X /= 255
        if flatten:
            X = X.reshape(len(X), -1)
        out[split] = (X, labels.astype(np.int64))
    return out


def one_hot(
    labels: np.ndarray, n_classes: int = 10, dtype: npt.DTypeLike = np.float32
) -> np.ndarray:
    """Encode integer labels as one-hot rows; out-of-range labels raise instead of wrapping."""
    labels = np.asarray(labels)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes}), got [{labels.min()}, {labels.max()}]"
        )
    out = np.zeros((*labels.shape, n_classes), dtype=dtype)
    np.put_along_axis(out, labels[..., None].astype(np.intp), 1, axis=-1)
    return out


def train_valid_split(
    X: np.ndarray, y: np.ndarray, n_train: int = 50000
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split off the last rows as validation: ``((X_train, y_train), (X_valid, y_valid))``.

    No shuffling, so every student gets the same split (IFT6135: first 50,000 / last 10,000).
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0 <= n_train <= len(X):
        raise ValueError(f"n_train={n_train} outside [0, {len(X)}]")
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])
