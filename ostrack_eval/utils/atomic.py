"""Atomic file writes: a reader sees the old file or the complete new one, never a torn one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

# read once: os.umask can only be read by setting it, which would race with other threads
_UMASK = os.umask(0)
os.umask(_UMASK)


def _refuse_special(path: Path) -> None:
    # the rename would put a regular file in place of a device, FIFO or socket (or of a link to one, such as
    # /dev/stdout): run as root, `--out /dev/full` would replace the device node itself
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # nothing there (or a dangling link): an ordinary new file
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (a device, FIFO or socket); refusing to replace it",
                      str(path))


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``.

    The temp file lives in the same folder so the final ``os.replace`` is a same-filesystem
    rename (atomic on POSIX). On error the temp file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        _refuse_special(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileExistsError as exc:  # mkdir met a file where a folder of the path should be
        raise NotADirectoryError(errno.ENOTDIR, "a file stands where a folder of this path should be",
                                 str(path)) from exc
    except OSError as exc:  # named after the file the caller asked for, not a parent or the temp file
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    try:
        # mkstemp creates 0600; results are meant to be shared like any file the user writes
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename != str(path):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def is_temp_file(path: str | os.PathLike) -> bool:
    """True for the temp files ``atomic_open`` leaves behind when a process is killed mid-write."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(".tmp")
