"""Lock files that keep two runs from writing the same results at once.

A lock is a file held with ``flock``: the kernel drops the lock when its holder dies, however it dies, so a
lock file left behind by a killed run is simply taken over by the next one. The file names its holder
(pid, host, start time, command) so that a refused run can say who is in the way. Releasing unlinks the
file while still holding it; a waiter that had opened the old file notices the inode changed and retries.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ostrack_eval.errors import UserError
from ostrack_eval.utils import readfile

_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


def holder_info() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv}


class FileLock:
    """An exclusive ``flock`` on ``path``; the file exists exactly while someone holds it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = False) -> bool:
        """Take the lock; ``False`` (non-blocking only) when a live process holds it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: lock already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                locked = _flock(fd, self.path, blocking)
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                os.close(fd)
                return False
            if _same_file(fd, self.path):
                break
            os.close(fd)  # released (unlinked) while we waited: lock the new file instead
        # The lock IS this inode, so the holder record is written in place rather than atomically replaced.
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder_info()) + "\n").encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None

    def holder(self) -> dict:
        """Who holds the lock, as recorded in the file (empty when it cannot be read yet)."""
        try:
            return json.loads(readfile.read_text(self.path))
        except (OSError, ValueError):
            return {}

    @contextmanager
    def hold(self) -> Iterator["FileLock"]:
        """Blocking acquire for short critical sections (updating ``run.json``)."""
        self.acquire(blocking=True)
        try:
            yield self
        finally:
            self.release()


def _flock(fd: int, path: Path, blocking: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            raise UserError(f"{path}: this file system does not support file locks ({exc.strerror}); "
                            "write results to a local disk with --results") from None
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _probe_stale(path: Path) -> dict | None:
    """Holder record of a live lock at ``path``; a stale one (holder dead) is removed, giving ``None``."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        if not _flock(fd, path, blocking=False):
            return FileLock(path).holder() or {}
        if _same_file(fd, path):
            path.unlink()
        return None
    finally:
        os.close(fd)


_SHARD_LOCK = re.compile(r"^(?P<bench>.+)\.shard-(?P<i>\d+)-of-(?P<n>\d+)\.lock$")


class BenchLock:
    """The lock of one ``<run>/<bench>`` (or one shard of it) while sequences are being written.

    ``<run>/<bench>.lock`` for a whole benchmark, ``<run>/<bench>.shard-I-of-N.lock`` for shard I/N. Shards
    of the same N run side by side (their sequences are disjoint); anything else that could write the same
    sequence is refused.
    """

    def __init__(self, run_dir: Path, bench: str, shard: tuple[int, int] | None = None):
        self.run_dir = Path(run_dir)
        self.bench = bench
        self.shard = shard
        name = f"{bench}.lock" if shard is None else f"{bench}.shard-{shard[0]}-of-{shard[1]}.lock"
        self.lock = FileLock(self.run_dir / name)

    def acquire(self) -> None:
        if not self.lock.acquire(blocking=False):
            raise UserError(_busy_message(self.run_dir / self.bench, self.lock.path, self.lock.holder()))
        try:
            for other in self._conflicting_lock_files():
                holder = _probe_stale(other)
                if holder is not None:
                    raise UserError(_busy_message(self.run_dir / self.bench, other, holder))
        except BaseException:
            self.lock.release()
            raise

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> "BenchLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _conflicting_lock_files(self) -> list[Path]:
        found = []
        for path in self.run_dir.iterdir():
            if path == self.lock.path:
                continue
            if path.name == f"{self.bench}.lock":
                found.append(path)
                continue
            m = _SHARD_LOCK.match(path.name)
            if m is None or m["bench"] != self.bench:
                continue
            # shards i/N and j/N (i != j) never share a sequence; every other pairing may
            if self.shard is None or int(m["n"]) != self.shard[1]:
                found.append(path)
        return sorted(found)


def _busy_message(target: Path, lock_path: Path, holder: dict) -> str:
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"
    return (f"{target}: another ostrack-eval run is writing these results ({who}; lock {lock_path}); "
            "wait for it to finish, or use another --name or a disjoint --shard")
