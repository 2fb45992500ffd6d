"""Reading and writing box files (result files and ground truth) in every delimiter seen in the wild."""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.utils.atomic import atomic_write_text
from ostrack_eval.utils import readfile

_SPLIT = re.compile(r"[,\t ;]+")


def parse_boxes(text: str, source: str = "<text>", ncols: int | None = 4) -> np.ndarray:
    """Parse rows of numbers separated by commas, tabs or spaces (mixed allowed).

    ``NaN``/``nan`` are accepted (UAV123 absent frames). Empty lines are skipped. A malformed
    line raises :class:`UserError` naming the file and the 1-based line number.
    """
    rows = []
    for lineno, line in enumerate(io.StringIO(text), start=1):
        line = line.strip().strip("\ufeff")
        if not line:
            continue
        parts = [p for p in _SPLIT.split(line) if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise UserError(f"{source}:{lineno}: cannot parse {line[:60]!r} as numbers") from None
        if ncols is not None and len(vals) != ncols:
            raise UserError(f"{source}:{lineno}: expected {ncols} values, found {len(vals)} in {line[:60]!r}")
        rows.append(vals)
    if not rows:
        return np.zeros((0, ncols or 0), dtype=np.float64)
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise UserError(f"{source}: rows have different numbers of columns")
    return np.asarray(rows, dtype=np.float64)


def guess_delimiter(head: bytes) -> str | None:
    """The one delimiter a file's first bytes suggest (``None``: whitespace)."""
    return "," if b"," in head else ("\t" if b"\t" in head else None)


def parse_boxes_fast(text: str, source: str = "<text>", ncols: int | None = 4) -> np.ndarray:
    """:func:`parse_boxes`, with numpy's C parser on the common single-delimiter files.

    Anything that parser refuses or reads differently (mixed delimiters, a BOM, ``;``, a short row) goes
    through :func:`parse_boxes`, so what is accepted and every error message stay the same.
    """
    delimiter = guess_delimiter(text[:256].encode())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file warns; parse_boxes reports it as 0 rows
            arr = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, dtype=np.float64, comments=None)
        if arr.size and (ncols is None or arr.shape[1] == ncols):
            return arr
    except ValueError:
        pass
    return parse_boxes(text, source=source, ncols=ncols)


def read_boxes(path: str | os.PathLike, ncols: int | None = 4) -> np.ndarray:
    """Read an ``N x 4`` box file (ours: comma floats; pytracking/OSTrack: tab ints; others: spaces)."""
    path = Path(path)
    try:
        text = readfile.read_text(path)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    return parse_boxes_fast(text, source=str(path), ncols=ncols)


def read_values(path: str | os.PathLike) -> np.ndarray:
    """Read a one-column file (per-frame times, label files) as a 1-D float array."""
    arr = read_boxes(path, ncols=None)
    return arr.reshape(-1)


def format_boxes(boxes: np.ndarray, delimiter: str = ",", fmt: str = "%.4f") -> str:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    buf = io.StringIO()
    np.savetxt(buf, boxes, delimiter=delimiter, fmt=fmt)
    return buf.getvalue()


def write_boxes(path: str | os.PathLike, boxes: np.ndarray, delimiter: str = ",", fmt: str = "%.4f") -> None:
    """Atomically write boxes, one ``x,y,w,h`` row per frame."""
    atomic_write_text(path, format_boxes(boxes, delimiter, fmt))
