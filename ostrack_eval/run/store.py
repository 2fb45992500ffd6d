"""The results store: where a run's box and time files live, and whether a sequence is finished.

Two layouts, both under ``<results>/<run name>/<bench>/``:

- single run (pytracking): ``<seq>.txt`` (boxes) and ``<seq>_time.txt`` (seconds per frame);
- repetitions (GOT-10k protocol, ``--runs N``): ``<seq>/<seq>_001.txt`` … ``<seq>/<seq>_NNN.txt`` and
  ``<seq>/<seq>_time.txt`` holding one column per repetition, as the GOT-10k toolkit writes it.

Every write is atomic, and the box file is written before the time file, so "the time file is complete"
implies "the box file is complete": a sequence (or repetition) is done only when both parse with one row
per frame. Files written by pytracking/OSTrack (tab-separated integers) are read the same way.

:func:`sequence_files` is the one place that decides which layout a sequence's results are in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ostrack_eval.datasets.names import check_name, name_problem
from ostrack_eval.errors import UserError
from ostrack_eval.utils.atomic import atomic_write_text, is_temp_file
from ostrack_eval.utils.boxio import format_boxes, read_boxes

TIME_DECIMALS = 9  # ns resolution: %.6f (pytracking) rounds fast frames to 0, which servers reject
TIME_FMT = f"%.{TIME_DECIMALS}f"
TIME_FLOOR = 10.0 ** -TIME_DECIMALS  # the smallest positive time the files can hold
BOX_FMT = "%.4f"


class ResultWriteError(UserError):
    """A result file could not be written (disk full, no permission): the run cannot go on."""

    def __init__(self, path: Path, exc: OSError):
        super().__init__(f"{path}: cannot write result ({exc.strerror or exc}); the run stopped, finished "
                         "sequences are kept")
        self.path = path


def box_file(folder: Path, seq: str, rep: int | None = None) -> Path:
    """``<seq>.txt``, or ``<seq>/<seq>_<rep:03d>.txt`` for repetition ``rep`` (1-based), in ``folder``."""
    if rep is None:
        return folder / f"{seq}.txt"
    if rep < 1:
        raise ValueError(f"repetitions are numbered from 1, got {rep}")
    return folder / seq / f"{seq}_{rep:03d}.txt"


def time_file(folder: Path, seq: str, repeated: bool = False) -> Path:
    return folder / seq / f"{seq}_time.txt" if repeated else folder / f"{seq}_time.txt"


@dataclass(frozen=True)
class SequenceFiles:
    """The result files of one sequence, in the layout they were found in."""

    boxes: tuple[Path, ...]  # (<seq>.txt,) or the repetitions <seq>/<seq>_001.txt, _002.txt, … without gaps
    times: Path  # the time file that goes with them; it may not exist
    repeated: bool


def sequence_files(folder: str | Path, seq: str) -> SequenceFiles | None:
    """Where the results of ``seq`` are in ``folder`` (``None``: nowhere).

    The flat ``<seq>.txt`` wins when both exist (``ostrack-eval run`` refuses to write both layouts into
    one bench folder, so only folders from other tools or older versions hold both). Repetitions count
    from ``_001`` up to the first one missing: time column ``r`` belongs to repetition ``r + 1``, so
    nothing after a gap can be matched with its times.
    """
    folder = Path(folder)
    flat = box_file(folder, seq)
    if flat.is_file():
        return SequenceFiles((flat,), time_file(folder, seq), repeated=False)
    reps = []
    while (path := box_file(folder, seq, len(reps) + 1)).is_file():
        reps.append(path)
    if not reps:
        return None
    return SequenceFiles(tuple(reps), time_file(folder, seq, repeated=True), repeated=True)


def _write_text(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ResultWriteError(path, exc) from exc


def format_times(times: np.ndarray) -> str:
    """Time rows as stored: one column per repetition, comma-separated, ns resolution."""
    buf = io.StringIO()
    np.savetxt(buf, np.asarray(times, dtype=np.float64).reshape(len(times), -1), fmt=TIME_FMT, delimiter=",")
    return buf.getvalue()


@dataclass(frozen=True)
class ResultStore:
    """The result files of one run (``<results>/<run name>``)."""

    results: Path
    run_name: str

    def __post_init__(self):
        object.__setattr__(self, "results", Path(self.results))
        why = name_problem(self.run_name)
        if why is not None:
            raise UserError(f"invalid run name {self.run_name!r}: {why} (it becomes a folder name)")

    @property
    def run_dir(self) -> Path:
        return self.results / self.run_name

    @property
    def run_json(self) -> Path:
        return self.run_dir / "run.json"

    def bench_dir(self, bench: str) -> Path:
        return self.run_dir / bench

    # ---- paths -------------------------------------------------------------------------------------
    def box_path(self, bench: str, seq: str, rep: int | None = None) -> Path:
        """``<seq>.txt``, or ``<seq>/<seq>_<rep:03d>.txt`` for repetition ``rep`` (1-based)."""
        return box_file(self.bench_dir(bench), seq, rep)

    def time_path(self, bench: str, seq: str, repeated: bool = False) -> Path:
        return time_file(self.bench_dir(bench), seq, repeated)

    def sequence_files(self, bench: str, seq: str) -> SequenceFiles | None:
        """The result files of ``seq`` in whichever layout it is stored (see :func:`sequence_files`)."""
        return sequence_files(self.bench_dir(bench), seq)

    # ---- writing -----------------------------------------------------------------------------------
    def _inside(self, path: Path) -> Path:
        """``path``, refused unless it resolves to a place inside the run folder.

        Sequence names are validated where they enter (:mod:`ostrack_eval.datasets.names`); this is the
        second line of defence: no name and no symlink inside the run folder makes a write land elsewhere.
        """
        run_dir = self.run_dir.resolve()
        target = path.resolve()
        if target == run_dir or not target.is_relative_to(run_dir):
            raise UserError(f"{path}: resolves to {target}, outside the run folder {run_dir}; refused to write")
        return path

    def write(self, bench: str, seq: str, boxes: np.ndarray, times: np.ndarray) -> None:
        """Store a finished single-run sequence (boxes first: a complete time file marks it done)."""
        boxes, times = _checked(seq, boxes, times)
        _write_text(self._inside(self.box_path(bench, seq)), format_boxes(boxes, fmt=BOX_FMT))
        _write_text(self._inside(self.time_path(bench, seq)), format_times(times))

    def write_repetition(self, bench: str, seq: str, rep: int, boxes: np.ndarray, times: np.ndarray) -> None:
        """Store repetition ``rep``: its box file, then column ``rep`` of the shared time file.

        Repetitions are written in increasing order, so the time file already has at least ``rep - 1``
        complete columns; a re-run repetition replaces its column.
        """
        boxes, times = _checked(seq, boxes, times)
        _write_text(self._inside(self.box_path(bench, seq, rep)), format_boxes(boxes, fmt=BOX_FMT))
        tpath = self._inside(self.time_path(bench, seq, repeated=True))
        table = self._time_table(tpath, len(times))
        ncols = 0 if table is None else table.shape[1]
        if ncols < rep - 1:
            raise RuntimeError(f"{tpath}: has {ncols} time columns, cannot add repetition {rep}")
        if ncols < rep:
            table = times[:, None] if table is None else np.column_stack([table, times])
        else:
            table = table.copy()
            table[:, rep - 1] = times
        _write_text(tpath, format_times(table))

    # ---- reading -----------------------------------------------------------------------------------
    def find_box_file(self, bench: str, seq: str) -> Path | None:
        """The file to evaluate for ``seq``: ``<seq>.txt``, else repetition 1 of the GOT-10k layout."""
        files = self.sequence_files(bench, seq)
        return None if files is None else files.boxes[0]

    def read_boxes(self, bench: str, seq: str, rep: int | None = None) -> np.ndarray:
        path = self.box_path(bench, seq, rep) if rep is not None else self.find_box_file(bench, seq)
        if path is None:
            raise UserError(f"{self.box_path(bench, seq)}: no result for sequence {seq!r}")
        return read_boxes(path)

    def read_times(self, bench: str, seq: str) -> np.ndarray:
        """Per-frame seconds: ``(N,)`` for one column, ``(N, R)`` for R repetitions."""
        files = self.sequence_files(bench, seq)
        path = self.time_path(bench, seq) if files is None else files.times
        table = read_boxes(path, ncols=None)
        return table.reshape(-1) if table.ndim == 2 and table.shape[1] == 1 else table

    # ---- completeness ------------------------------------------------------------------------------
    def missing_reason(self, bench: str, seq: str, num_frames: int) -> str | None:
        """Why the single-run result of ``seq`` is not finished, or ``None`` when it is."""
        return (_box_problem(self.box_path(bench, seq), num_frames)
                or _time_problem(self.time_path(bench, seq), num_frames, 1))

    def is_done(self, bench: str, seq: str, num_frames: int) -> bool:
        return self.missing_reason(bench, seq, num_frames) is None

    def done_repetitions(self, bench: str, seq: str, num_frames: int, runs: int) -> list[int]:
        """The repetitions in ``1..runs`` whose box file and time column are complete."""
        table = self._time_table(self.time_path(bench, seq, repeated=True), num_frames)
        ncols = 0 if table is None else table.shape[1]
        return [r for r in range(1, runs + 1)
                if r <= ncols and _box_problem(self.box_path(bench, seq, r), num_frames) is None]

    def _time_table(self, path: Path, num_frames: int) -> np.ndarray | None:
        if _time_problem(path, num_frames, 1) is not None:
            return None
        return read_boxes(path, ncols=None)

    # ---- housekeeping ------------------------------------------------------------------------------
    def temp_files(self, bench: str, seqs: list[str]) -> list[Path]:
        """Temp files that writes of ``seqs`` left behind when a process was killed mid-write."""
        bdir = self.bench_dir(bench)
        if not bdir.is_dir():
            return []
        names = set(seqs)
        targets = {f"{s}.txt" for s in names} | {f"{s}_time.txt" for s in names}
        found = []
        for path in bdir.iterdir():
            if path.is_dir() and path.name in names:
                found += [p for p in path.iterdir() if is_temp_file(p)]
            elif is_temp_file(path) and _temp_target(path.name) in targets:
                found.append(path)
        return sorted(found)


def _temp_target(name: str) -> str:
    """``.<target>.<random>.tmp`` (the name ``atomic_open`` gives its temp files) -> ``<target>``."""
    return name[1:].rsplit(".", 2)[0]


def _checked(seq: str, boxes: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    check_name(seq, "result file")
    boxes = np.asarray(boxes, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) != len(times) or len(boxes) == 0:
        raise ValueError(f"{seq}: boxes {boxes.shape} and times {times.shape} do not describe the same frames")
    return boxes, times


def _box_problem(path: Path, num_frames: int) -> str | None:
    if not path.is_file():
        return f"{path.name} missing"
    try:
        boxes = read_boxes(path)
    except UserError as exc:
        return str(exc)
    if len(boxes) != num_frames:
        return f"{path}: {len(boxes)} rows for {num_frames} frames"
    return None


def _time_problem(path: Path, num_frames: int, min_cols: int) -> str | None:
    if not path.is_file():
        return f"{path.name} missing"
    try:
        table = read_boxes(path, ncols=None)
    except UserError as exc:
        return str(exc)
    if table.shape[0] != num_frames or table.shape[1] < min_cols:
        return f"{path}: {table.shape[0]} rows for {num_frames} frames"
    return None
