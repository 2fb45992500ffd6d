"""Reading a tracker's raw results for one benchmark, whoever wrote them, and saying what is missing.

Accepted layouts, detected per sequence inside a results folder ``F``:

* **flat** (ours, pytracking, OSTrack, pysot/ITB): ``F/<seq>.txt`` (+ ``F/<seq>_time.txt``), comma, tab
  or space separated, integers or floats;
* **repetitions** (GOT-10k toolkit, ``ostrack-eval run --runs N``): ``F/<seq>/<seq>_001.txt`` … with
  ``F/<seq>/<seq>_time.txt`` holding one column per repetition;
* **pytracking run ids**: no ``F`` but sibling folders ``F_000``, ``F_001`` … (one run each);
* **benchmark prefixes**: in a folder shared by several benchmarks a file may carry the bench as prefix
  (``itb_basketball-1.txt`` beside LaSOT's ``basketball-1.txt``), and toolkits that drop pytracking's
  ``uav_``/``nfs_`` prefixes (``bird1_1.txt``) are matched too.

Nothing here raises on a missing or broken sequence: :class:`Completeness` collects the problems so a
report can list them all at once. Files are only read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.run.store import sequence_files
from ostrack_eval.utils.numtable import read_table, read_tables  # noqa: F401  (read_table: part of this API)
from ostrack_eval.utils.text import plural

# extra result-file prefixes per bench, besides "<bench>_"
_PREFIXES: dict[str, tuple[str, ...]] = {
    "lasot_ext": ("lasot_extension_subset_", "lasotext_"),
    "uav123": ("uav_",),
    "nfs": ("nfs_",),
    "got10k_val": ("got10k_",),
}
# prefixes that pytracking puts into sequence names and other toolkits leave out
_NAME_PREFIXES = ("uav_", "nfs_")


@dataclass
class SequenceResult:
    """One sequence of one tracker: a box array per run and, when stored, per-frame seconds per run."""

    name: str
    runs: list[np.ndarray]
    times: list[np.ndarray]
    files: list[Path]


@dataclass
class Completeness:
    """What a results folder lacks for a benchmark: missing sequences, unusable files, row counts."""

    source: str
    expected: int
    missing: list[str] = field(default_factory=list)
    unusable: dict[str, str] = field(default_factory=dict)  # sequence -> why
    wrong_rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # sequence -> (rows, frames)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts plus the first few names."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} of {self.expected} sequences missing ({_names(self.missing)})")
        if self.unusable:
            first = next(iter(self.unusable.items()))
            parts.append(f"{len(self.unusable)} unusable ({first[0]}: {first[1]}"
                         + (f"; +{len(self.unusable) - 1} more" if len(self.unusable) > 1 else "") + ")")
        if self.wrong_rows:
            seq, (rows, frames) = next(iter(self.wrong_rows.items()))
            parts.append(f"{len(self.wrong_rows)} with a row count that differs from the frames "
                         f"({seq}: {rows} rows for {frames} frames)")
        return f"{self.source}: " + ("; ".join(parts) if parts else f"all {plural(self.expected, 'sequence')} present")


def _names(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f", +{len(names) - limit} more" if len(names) > limit else "")


@dataclass
class TrackerResults:
    """A tracker's results for one benchmark, read from ``folders`` (one per pytracking run id)."""

    label: str
    bench: str
    folders: list[Path]
    sequences: dict[str, SequenceResult]
    completeness: Completeness
    run_record: dict | None = None
    server_scores: dict[str, float] | None = None

    def _timed_runs(self, names: list[str] | None):
        """The time arrays of every run of ``names`` (default: all) with one time per result row."""
        for name in names if names is not None else list(self.sequences):
            seq = self.sequences.get(name)
            if seq is None:
                continue
            for boxes, times in zip(seq.runs, seq.times):
                if times is not None and len(times) == len(boxes):
                    yield times

    def timing(self, names: list[str] | None = None) -> tuple[int, float]:
        """``(frames, seconds)`` over every timed run of ``names`` (default: all); row 0 (the
        initialisation) counts, as in the pytracking runner's FPS."""
        runs = list(self._timed_runs(names))
        return sum(len(t) for t in runs), float(sum(np.sum(t) for t in runs))

    def fps(self, names: list[str] | None = None, rule: str = "frames_per_second") -> float | None:
        """Speed over ``names`` (default: all), ``None`` without time files.

        ``rule`` (a :class:`~ostrack_eval.metrics.conventions.Convention`'s ``fps_rule``):
        ``"frames_per_second"``, all timed frames / their total tracker time; ``"mean_inverse"``, the
        GOT-10k toolkit's ``mean(1 / t)`` over every time ``t > 0`` (NaN dropped).
        """
        if rule == "frames_per_second":
            frames, seconds = self.timing(names)
            return frames / seconds if frames and seconds > 0 else None
        if rule != "mean_inverse":
            raise ValueError(f"unknown FPS rule {rule!r}")
        # the toolkit reads each value of a time file once: a column shared by runs counts once
        columns = {id(times): times for times in self._timed_runs(names)}
        t = np.concatenate(list(columns.values())) if columns else np.zeros(0)
        t = t[~np.isnan(t)]
        t = t[t > 0]
        return float(np.mean(1.0 / t)) if len(t) else None


def _stems(seq: str, bench: str) -> list[str]:
    """File stems that may hold ``seq``, most specific first."""
    out = [f"{bench}_{seq}"] + [p + seq for p in _PREFIXES.get(bench, ()) if not seq.startswith(p)] + [seq]
    out += [seq[len(p):] for p in _NAME_PREFIXES if seq.startswith(p)]
    return list(dict.fromkeys(out))


def run_folders(path: Path) -> list[Path]:
    """``path`` itself, or pytracking's per-run siblings ``<path>_000``, ``<path>_001`` … in id order."""
    if path.is_dir():
        return [path]
    parent = path.parent
    if not parent.is_dir():
        return []
    run_id = re.compile(re.escape(path.name) + r"_\d{3}")
    return sorted(p for p in parent.iterdir() if p.is_dir() and run_id.fullmatch(p.name))


def _times(path: Path, table: np.ndarray | UserError, rows: int, runs: int,
           problems: list[str]) -> list[np.ndarray | None]:
    if isinstance(table, UserError):
        problems.append(f"{table} (ignored for FPS)")
        return [None] * runs
    if table.shape[0] != rows:
        problems.append(f"{path}: {table.shape[0]} time rows for {rows} result rows (ignored for FPS)")
        return [None] * runs
    cols = table.shape[1]
    if cols == 1:
        # pytracking keeps only the last run's times, shared by all runs (one object, counted once
        # where the GOT-10k toolkit's FPS rule reads each stored value once)
        return [table[:, 0]] * runs
    # one column per repetition (GOT-10k toolkit)
    return [table[:, r] if r < cols else None for r in range(runs)]


@dataclass(frozen=True)
class _Found:
    """The files of one sequence in one run folder: boxes of each run, and the time file if any."""

    boxes: list[Path]
    times: Path | None


def _locate(folders: list[Path], seq: str, bench: str) -> list[_Found]:
    """Where ``seq``'s results are in each of ``folders`` (empty: nowhere)."""
    found = []
    for folder in folders:
        for stem in _stems(seq, bench):
            files = sequence_files(folder, stem)  # the layouts exactly as the runner's store reads them
            if files is None:
                continue
            found.append(_Found(list(files.boxes), files.times if files.times.is_file() else None))
            break
    return found


def _assemble(seq: str, found: list[_Found], boxes: dict[Path, np.ndarray | UserError],
              times: dict[Path, np.ndarray | UserError], problems: list[str]) -> SequenceResult:
    """All runs of ``seq`` (raises the first unreadable box file's :class:`UserError`)."""
    runs, run_times, files = [], [], []
    for f in found:
        arrays = [boxes[p] for p in f.boxes]
        for a in arrays:
            if isinstance(a, UserError):
                raise a
        if f.times is None:
            run_times += [None] * len(arrays)
        else:
            run_times += _times(f.times, times[f.times], len(arrays[0]), len(arrays), problems)
        runs += arrays
        files += f.boxes
    return SequenceResult(seq, runs, run_times, files)


def load_tracker_results(path: str | Path, bench: str, names: list[str], *, label: str | None = None,
                         run_record: dict | None = None) -> TrackerResults:
    """Read the results of ``names`` from ``path`` (any layout in the module doc).

    A folder that does not exist at all is a :class:`UserError`; everything else goes into
    :attr:`TrackerResults.completeness` (row counts: :func:`check_rows`, once the frames are known).
    """
    path = Path(path)
    folders = run_folders(path)
    if not folders:
        raise UserError(f"{path}: results folder not found")
    comp = Completeness(str(path), len(names))
    located: dict[str, list[_Found]] = {}
    for seq in names:
        found = _locate(folders, seq, bench)
        if found:
            located[seq] = found
        else:
            comp.missing.append(seq)
    box_paths = [p for found in located.values() for f in found for p in f.boxes]
    time_paths = [f.times for found in located.values() for f in found if f.times is not None]
    boxes = dict(zip(box_paths, read_tables(box_paths)))
    times = dict(zip(time_paths, read_tables(time_paths, ncols=None)))
    sequences: dict[str, SequenceResult] = {}
    for seq, found in located.items():
        try:
            sequences[seq] = _assemble(seq, found, boxes, times, comp.warnings)
        except UserError as exc:
            comp.unusable[seq] = str(exc)
    return TrackerResults(label or path.name, bench, folders, sequences, comp, run_record)


def check_rows(results: TrackerResults, frames: dict[str, int]) -> None:
    """Record every run whose row count differs from its sequence's frame count (what the conventions do
    about it differs: pad, cut or refuse; see :mod:`ostrack_eval.metrics.frames`)."""
    for name, seq in results.sequences.items():
        expected = frames.get(name)
        bad = [len(r) for r in seq.runs if expected is not None and len(r) != expected]
        if bad:
            results.completeness.wrong_rows[name] = (bad[0], expected)
