"""Files of the grader's own: written so that readers see the old content or the new, never
half of it, and kept in one user cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it into
    place: a reader (or a crash) never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cache_root() -> Path:
    """Where the grader keeps what it may reuse (datasets, environment checks):
    ``$GRADER_CACHE``, else ``$XDG_CACHE_HOME/grader``, else ``~/.cache/grader``."""
    if os.environ.get("GRADER_CACHE"):
        return Path(os.environ["GRADER_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "grader"
    return Path.home() / ".cache" / "grader"
