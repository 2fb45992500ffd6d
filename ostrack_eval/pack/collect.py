"""Reading a run's stored results into what a submission holds, and saying what keeps it from packing.

Accepted layouts under ``<results>/<run name>/<bench>/`` (see :mod:`ostrack_eval.run.store`):
``<seq>.txt`` + ``<seq>_time.txt`` (ours: comma ``%.4f``; pytracking/OSTrack: tab ints), or the
repetition layout ``<seq>/<seq>_001.txt`` … + ``<seq>/<seq>_time.txt`` (one column per repetition).
Files are only read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ostrack_eval.errors import UserError
from ostrack_eval.pack.formats import ServerFormat
from ostrack_eval.run.store import TIME_FLOOR, ResultStore
from ostrack_eval.utils.boxio import read_boxes


@dataclass
class SequenceResult:
    """One sequence as it goes into the zip: a box array per repetition and one time per frame."""

    name: str
    boxes: list[np.ndarray]
    times: np.ndarray | None
    floored_times: int = 0


@dataclass
class Collected:
    sequences: list[SequenceResult]
    problems: list[tuple[str, str]]  # (sequence, why it cannot be packed)
    warnings: list[str]


def _box_files(store: ResultStore, fmt: ServerFormat, seq: str) -> tuple[list[Path], bool, int]:
    """(files to pack, repetition layout?, repetitions on disk), as the store reads them."""
    files = store.sequence_files(fmt.bench, seq)
    if files is None:
        return [], False, 0
    return list(files.boxes[:fmt.max_repetitions]), files.repeated, len(files.boxes)


def _time_table(path: Path, rows: int) -> np.ndarray:
    table = read_boxes(path, ncols=None)
    if table.shape[0] != rows:
        raise UserError(f"{path.name}: {table.shape[0]} rows for {rows} frames")
    return table


def _read_sequence(store: ResultStore, fmt: ServerFormat, seq: str, frames: int | None,
                   warnings: list[str]) -> SequenceResult:
    """Read one sequence; a ``UserError`` says why it cannot be packed."""
    files, repeated, on_disk = _box_files(store, fmt, seq)
    if not files:
        raise UserError(f"no result file ({store.box_path(fmt.bench, seq).name})")
    if on_disk > len(files):
        warnings.append(f"{seq}: packing the first {len(files)} of {on_disk} repetitions "
                        f"({fmt.bench} takes at most {fmt.max_repetitions})")
    boxes = []
    for path in files:
        arr = read_boxes(path)
        bad_rows = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        if len(bad_rows):
            raise UserError(f"{path.name}: non-finite values (NaN/inf) in row {bad_rows[0] + 1}")
        if len(arr) == 0:
            raise UserError(f"{path.name}: empty file")
        if frames is not None and len(arr) != frames:
            raise UserError(f"{path.name}: {len(arr)} rows for {frames} frames")
        if boxes and len(arr) != len(boxes[0]):
            raise UserError(f"{path.name}: {len(arr)} rows but {files[0].name} has {len(boxes[0])}")
        boxes.append(arr)
    tpath = store.time_path(fmt.bench, seq, repeated=repeated)
    if not fmt.time_files:
        # Not submitted, but the runner wrote one time per frame: without frame counts it is the only
        # witness of a truncated box file.
        if frames is None and tpath.is_file():
            _time_table(tpath, len(boxes[0]))
        return SequenceResult(seq, boxes, None)

    if not tpath.is_file():
        raise UserError(f"no time file ({tpath.name})")
    table = _time_table(tpath, len(boxes[0]))
    # One time per frame: the mean over the packed repetitions' columns (the toolkit's N x R matrix
    # would also be accepted, but datasets.md §9.1 asks for one column).
    times = table[:, :len(boxes)].mean(axis=1)
    if not np.isfinite(times).all() or (times < 0).any():
        raise UserError(f"{tpath.name}: negative or non-finite times")
    # submitted times keep the store's ns format; anything under it (0 included) would print as 0, which
    # the server drops, so it is raised to the resolution itself
    floored = int((times < TIME_FLOOR).sum())
    return SequenceResult(seq, boxes, np.maximum(times, TIME_FLOOR), floored)


def collect_results(store: ResultStore, fmt: ServerFormat, names: list[str],
                    frames: dict[str, int] | None) -> Collected:
    """Read every sequence in ``names``; problems are gathered (not raised) so all can be reported.

    ``frames`` holds the sequences whose frames could be counted; the others are held to their own time
    file (and repetitions) only.
    """
    sequences, problems, warnings = [], [], []
    for seq in tqdm(names, desc=f"reading {fmt.bench}", unit="seq", disable=not sys.stderr.isatty()):
        try:
            count = None if frames is None else frames.get(seq)
            sequences.append(_read_sequence(store, fmt, seq, count, warnings))
        except UserError as exc:
            problems.append((seq, str(exc)))
    floored = sum(s.floored_times for s in sequences)
    if floored:
        warnings.append(f"{floored} per-frame time(s) stored as 0 or under {TIME_FLOOR:g} s are written as "
                        f"{TIME_FLOOR:g} s, because the server needs positive times")
    return Collected(sequences, problems, warnings)
