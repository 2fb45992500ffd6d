"""Numeric text tables (result boxes, per-frame times, ground truth) read fast, one file or many at once."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.utils import readfile
from ostrack_eval.utils.boxio import guess_delimiter, read_boxes


# Below this many bytes a set of files is parsed one file at a time: importing pandas (~0.2 s) would cost
# more than its parser saves (about 0.5 s per 30 MB, a LaSOT-sized tracker's boxes and times).
BATCH_MIN_BYTES = 4 << 20
# What a file may hold to go into a batch: plain numbers and the three delimiters. Anything else (nan,
# inf, ';', a BOM, non-ASCII) is left to the per-file parser, which accepts or names it exactly.
_BATCH_BYTES = b"0123456789.+-eE,\t \r\n"


def read_table(path: Path, ncols: int | None = 4) -> np.ndarray:
    """One numeric text table, as :func:`~ostrack_eval.utils.boxio.read_boxes` reads it (fast path for the
    common single-delimiter files, exact error messages otherwise): the per-file fallback of a batch."""
    return read_boxes(path, ncols)


def _batch_key(data: bytes, ncols: int | None) -> tuple[str | None, int, int] | None:
    """``(delimiter, columns, rows)`` of a file that can go into a batch, else ``None``.

    Rows are counted as lines, so the batch must not skip any: blank lines come back as NaN rows
    (``skip_blank_lines=False``) and send their file to the per-file parser.
    """
    if not data.strip() or data.translate(None, _BATCH_BYTES):
        return None
    delimiter = guess_delimiter(data[:256])
    end = data.find(b"\n")
    first = data[:end if end >= 0 else len(data)]
    width = len(first.split()) if delimiter is None else first.count(delimiter.encode()) + 1
    if ncols is not None and width != ncols:
        return None
    return delimiter, width, data.count(b"\n") + (not data.endswith(b"\n"))


def _read_csv_kwargs() -> dict:
    import pandas as pd

    # pandas < 3's default float parser may miss the correctly rounded double by an ulp on long
    # mantissas; its round-trip parser does not, and np.loadtxt/float() are correctly rounded
    return {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _parse_batch(blobs: list[bytes], delimiter: str | None, width: int, rows: list[int]) -> list[np.ndarray | None]:
    """One C-parser pass over many files of one layout; ``None`` for a file the batch cannot vouch for."""
    import pandas as pd

    buf = b"".join(b if b.endswith(b"\n") else b + b"\n" for b in blobs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = pd.read_csv(io.BytesIO(buf), sep=delimiter or r"\s+", header=None, dtype=np.float64,
                                engine="c", quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                                **_read_csv_kwargs()).to_numpy()
    except ValueError:  # a malformed file somewhere: the per-file parser names it
        return [None] * len(blobs)
    if table.shape != (sum(rows), width):
        return [None] * len(blobs)
    # no file in a batch spells out NaN, so a NaN is a missing field or a blank line
    starts = np.cumsum([0] + rows[:-1])
    holes = np.add.reduceat(np.isnan(table).any(axis=1), starts)
    return [None if hole else table[a:a + n] for a, n, hole in zip(starts, rows, holes)]


def read_tables(paths: list[Path], ncols: int | None = 4) -> list[np.ndarray | UserError]:
    """:func:`read_table` of each path, with the :class:`UserError` it would raise in place of a table.

    A large set is read in one pass of pandas' C parser per layout (delimiter, columns), which is about
    twice as fast as ``np.loadtxt`` and much faster than one call per file; a file the batch cannot
    parse, or whose table it cannot vouch for, goes through :func:`read_table`, so the results and the
    error messages are the same either way.
    """
    out: list[np.ndarray | UserError | None] = [None] * len(paths)
    if _total_size(paths) >= BATCH_MIN_BYTES:
        groups: dict[tuple[str | None, int], list[tuple[int, bytes, int]]] = {}
        for i, path in enumerate(paths):
            try:
                data = readfile.read_bytes(path)
            except OSError:
                continue
            key = _batch_key(data, ncols)
            if key is not None:
                groups.setdefault(key[:2], []).append((i, data, key[2]))
        for (delimiter, width), members in groups.items():
            parsed = _parse_batch([m[1] for m in members], delimiter, width, [m[2] for m in members])
            for (i, _, _), table in zip(members, parsed):
                out[i] = table
    for i, path in enumerate(paths):
        if out[i] is None:
            try:
                out[i] = read_table(path, ncols)
            except UserError as exc:
                out[i] = exc
    return out


def _total_size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total
