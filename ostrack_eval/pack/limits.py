"""Reading an untrusted zip within bounds: the member count, each member's rows and bytes, and the total.

A zip header's sizes are not trusted: members are read as streams and stopped at the rows the check
needs (frames + 1 when the frame count is known) or at a size cap, so a small zip expanding to gigabytes
(one member of zeros, or millions of rows) costs a few megabytes and a fraction of a second.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

# Far above any real submission: GOT-10k test has 180 sequences × (3 repetitions + a time file),
# TrackingNet 511 files; its longest test sequences have a few thousand frames.
MAX_MEMBERS = 10_000
MAX_CENTRAL_DIRECTORY = 16 << 20  # bytes of the zip's member list, read whole by ``zipfile``
MAX_MEMBER_BYTES = 16 << 20  # one result file, uncompressed
MAX_ROWS = 100_000  # rows of one file when the sequence's frame count is unknown
MAX_TOTAL_BYTES = 256 << 20  # all members read, uncompressed
MAX_TOTAL_ROWS = 2_000_000  # all rows read (TrackingNet's whole test set is 225,589 frames)
CHUNK = 1 << 16

_CONTENT_LINE = re.compile(rb"(?:^|\n)[ \t\r\f\v]*[^\s]")  # the start of a line holding more than white space


class ZipLimitExceeded(Exception):
    """The zip as a whole exceeds a limit; the message says which. Checking stops."""


class MemberTooLarge(Exception):
    """One member exceeds its row or size limit; the message says which."""


class MemberUnreadable(Exception):
    """One member cannot be decompressed (corrupt, encrypted, unsupported compression)."""


@dataclass
class ReadBudget:
    """What all members read so far may still cost."""

    bytes_left: int = MAX_TOTAL_BYTES
    rows_left: int = MAX_TOTAL_ROWS

    def spend(self, nbytes: int, rows: int) -> None:
        self.bytes_left -= nbytes
        self.rows_left -= rows
        if self.bytes_left < 0:
            raise ZipLimitExceeded(f"its files expand to more than {MAX_TOTAL_BYTES >> 20} MiB in total")
        if self.rows_left < 0:
            raise ZipLimitExceeded(f"its files hold more than {MAX_TOTAL_ROWS:,} rows in total")


def read_member(zf: zipfile.ZipFile, member: str, max_rows: int | None, budget: ReadBudget) -> bytes:
    """The bytes of ``member``, read in chunks and stopped as soon as a limit is passed.

    ``max_rows``: non-blank lines beyond which the file is wrong anyway (``None``: :data:`MAX_ROWS`).
    """
    limit = MAX_ROWS if max_rows is None else min(max_rows, MAX_ROWS)
    chunks, size, rows, line_counted = [], 0, 0, False
    try:
        with zf.open(member) as fh:
            while chunk := fh.read(CHUNK):
                new = len(_CONTENT_LINE.findall(chunk))
                if line_counted and not chunk.startswith(b"\n") and _CONTENT_LINE.match(chunk):
                    new -= 1  # the chunk continues a line already counted in the previous one
                tail = chunk[chunk.rfind(b"\n") + 1:]
                line_counted = (line_counted if b"\n" not in chunk else False) or bool(tail.strip())
                size += len(chunk)
                rows += new
                budget.spend(len(chunk), new)
                if rows > limit:
                    raise MemberTooLarge(f"more than {limit:,} rows" + (
                        " (the frames and one spare)" if max_rows is not None and max_rows <= MAX_ROWS else ""))
                if size > MAX_MEMBER_BYTES:
                    raise MemberTooLarge(f"more than {MAX_MEMBER_BYTES >> 20} MiB uncompressed")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise MemberUnreadable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return b"".join(chunks)


def central_directory_problem(path: Path) -> str | None:
    """Why the zip's member list is too large to even open (``zipfile`` reads it whole), if it is.

    Reads the end-of-central-directory record (and its zip64 variant) the way ``zipfile`` finds it.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            end = fh.tell()
            fh.seek(max(0, end - (1 << 16) - 22))
            tail = fh.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < 22:
                return None  # not a zip: zipfile says so
            _, _, _, _, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
            locator = tail.rfind(b"PK\x06\x07", 0, at)
            if locator >= 0 and at - locator == 20:
                (zip64_at,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
                fh.seek(zip64_at)
                record = fh.read(56)
                if len(record) == 56 and record[:4] == b"PK\x06\x06":
                    entries, cd_size = struct.unpack("<QQ", record[32:48])
    except OSError:
        return None  # zipfile reports the file as unreadable
    if entries > MAX_MEMBERS:
        return f"it lists {entries:,} files, more than the {MAX_MEMBERS:,} a submission can need"
    if cd_size > MAX_CENTRAL_DIRECTORY:
        return f"its member list takes {cd_size:,} bytes, more than {MAX_CENTRAL_DIRECTORY >> 20} MiB"
    return None
