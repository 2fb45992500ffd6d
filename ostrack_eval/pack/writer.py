"""The submission zip's bytes: fixed member order and timestamps, so the same results give the same zip."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from ostrack_eval.pack.collect import SequenceResult
from ostrack_eval.pack.formats import ServerFormat
from ostrack_eval.run.store import format_times
from ostrack_eval.utils.boxio import format_boxes

FLOAT_FMT = "%.4f"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def box_text(boxes: np.ndarray, int_mode: bool) -> str:
    """Comma-separated rows; ``int_mode`` truncates toward zero like OSTrack's ``astype(int)``."""
    if int_mode:
        return format_boxes(np.trunc(boxes), delimiter=",", fmt="%d")
    return format_boxes(boxes, delimiter=",", fmt=FLOAT_FMT)


def time_text(times: np.ndarray) -> str:
    return format_times(np.asarray(times, dtype=np.float64).reshape(-1))


def submission_members(fmt: ServerFormat, seq: SequenceResult, int_mode: bool) -> dict[str, str]:
    """Zip member name -> text for one sequence."""
    members = {fmt.box_member(seq.name, rep): box_text(boxes, int_mode)
               for rep, boxes in enumerate(seq.boxes, start=1)}
    if fmt.time_files:
        members[fmt.time_member(seq.name)] = time_text(seq.times)
    return members


def zip_bytes(fmt: ServerFormat, sequences: list[SequenceResult], int_mode: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for seq in sequences:
            for name, text in submission_members(fmt, seq, int_mode).items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, text.encode("utf-8"))
    return buf.getvalue()
