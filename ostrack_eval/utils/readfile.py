"""Reading an untrusted file without blocking on it: a FIFO, a device or a folder where a file should be is
refused instead of read (a FIFO with no writer would block ``open`` forever; ``/dev/zero`` never ends)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ostrack_eval.errors import UserError


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file; ``FileNotFoundError`` as ``open`` raises it, any other kind of file
    (FIFO, socket, device, folder) an ``OSError`` saying what it is."""
    # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(f"{_kind(mode)}, not a file")
            raise OSError(f"{_kind(mode)}, not a file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            return fh.read()
    finally:
        if fd >= 0:
            os.close(fd)


def read_text(path: str | os.PathLike, errors: str = "strict") -> str:
    """:func:`read_bytes` decoded as UTF-8 (``UnicodeDecodeError`` as ``Path.read_text`` raises it)."""
    return read_bytes(path).decode("utf-8", errors=errors)


def require_regular(path: str | os.PathLike, what: str = "file") -> None:
    """A one-line :class:`UserError` unless ``path`` is a regular file (for readers that open it themselves,
    e.g. ``torch.load`` or ``zipfile``)."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise UserError(f"{p}: {what} not found") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{p}: {_kind(mode)}, not a {what}")
