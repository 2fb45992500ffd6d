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

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.utils.boxio import parse_boxes

# extra result-file prefixes per bench, besides "<bench>_"
_PREFIXES: dict[str, tuple[str, ...]] = {
    "lasot_ext": ("lasot_extension_subset_", "lasotext_"),
    "uav123": ("uav_",),
    "nfs": ("nfs_",),
    "got10k_val": ("got10k_",),
}
# prefixes that pytracking puts into sequence names and other toolkits leave out
_NAME_PREFIXES = ("uav_", "nfs_")


def read_table(path: Path, ncols: int | None = 4) -> np.ndarray:
    """A numeric text table, fast: ``np.loadtxt`` on the common single-delimiter files, else the
    tolerant :func:`~ostrack_eval.utils.boxio.parse_boxes` (mixed delimiters, exact error messages)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    head = text[:256]
    delimiter = "," if "," in head else ("\t" if "\t" in head else None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file warns; it is reported below as 0 rows
            arr = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, dtype=np.float64)
        if arr.size and (ncols is None or arr.shape[1] == ncols):
            return arr
    except ValueError:
        pass
    return parse_boxes(text, source=str(path), ncols=ncols)


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

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unusable

    @property
    def bad(self) -> set[str]:
        return set(self.missing) | set(self.unusable)

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
        return f"{self.source}: " + ("; ".join(parts) if parts else f"all {self.expected} sequences present")


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

    def timing(self, names: list[str] | None = None) -> tuple[int, float]:
        """``(frames, seconds)`` over every run of ``names`` (default: all) whose time file has one row
        per result row; row 0 (the initialisation) counts, as in the pytracking runner's FPS."""
        frames, seconds = 0, 0.0
        for name in names if names is not None else list(self.sequences):
            seq = self.sequences.get(name)
            if seq is None:
                continue
            for boxes, times in zip(seq.runs, seq.times):
                if times is not None and len(times) == len(boxes):
                    frames += len(times)
                    seconds += float(np.sum(times))
        return frames, seconds

    def fps(self, names: list[str] | None = None) -> float | None:
        """Frames per second: all timed frames / their total tracker time (``None`` without time files)."""
        frames, seconds = self.timing(names)
        return frames / seconds if frames and seconds > 0 else None


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


def _repetition_files(folder: Path, stem: str) -> list[Path]:
    sub = folder / stem
    if not sub.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(stem)}_(\d+)\.txt$")
    found = [(int(m[1]), p) for p in sub.iterdir() if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


def _read_times(path: Path, rows: int, runs: int, problems: list[str]) -> list[np.ndarray | None]:
    if not path.is_file():
        return [None] * runs
    try:
        table = read_table(path, ncols=None)
    except UserError as exc:
        problems.append(f"{exc} (ignored for FPS)")
        return [None] * runs
    if table.shape[0] != rows:
        problems.append(f"{path}: {table.shape[0]} time rows for {rows} result rows (ignored for FPS)")
        return [None] * runs
    cols = table.shape[1]
    # one column per repetition (GOT-10k toolkit); a single column is shared by all runs (pytracking
    # keeps the last run's times)
    return [table[:, r] if r < cols else (table[:, 0] if cols == 1 else None) for r in range(runs)]


def _read_sequence(folders: list[Path], seq: str, bench: str, problems: list[str]) -> SequenceResult | None:
    """All runs of ``seq`` found in ``folders`` (``None`` when there is no file at all)."""
    runs, times, files = [], [], []
    for folder in folders:
        for stem in _stems(seq, bench):
            flat = folder / f"{stem}.txt"
            reps = [flat] if flat.is_file() else _repetition_files(folder, stem)
            if not reps:
                continue
            arrays = [read_table(p) for p in reps]
            tpath = folder / f"{stem}_time.txt" if flat.is_file() else folder / stem / f"{stem}_time.txt"
            times += _read_times(tpath, len(arrays[0]), len(arrays), problems)
            runs += arrays
            files += reps
            break
    if not runs:
        return None
    return SequenceResult(seq, runs, times, files)


def load_tracker_results(path: str | Path, bench: str, names: list[str], *, label: str | None = None,
                         run_record: dict | None = None, progress=None) -> TrackerResults:
    """Read the results of ``names`` from ``path`` (any layout in the module doc).

    A folder that does not exist at all is a :class:`UserError`; everything else goes into
    :attr:`TrackerResults.completeness` (row counts: :func:`check_rows`, once the frames are known).
    """
    path = Path(path)
    folders = run_folders(path)
    if not folders:
        raise UserError(f"{path}: results folder not found")
    comp = Completeness(str(path), len(names))
    sequences: dict[str, SequenceResult] = {}
    for seq in names if progress is None else progress(names):
        try:
            result = _read_sequence(folders, seq, bench, comp.warnings)
        except UserError as exc:
            comp.unusable[seq] = str(exc)
            continue
        if result is None:
            comp.missing.append(seq)
        else:
            sequences[seq] = result
    return TrackerResults(label or path.name, bench, folders, sequences, comp, run_record)


def check_rows(results: TrackerResults, frames: dict[str, int]) -> None:
    """Record every run whose row count differs from its sequence's frame count (what the conventions do
    about it differs: pad, cut or refuse; see :mod:`ostrack_eval.metrics.frames`)."""
    for name, seq in results.sequences.items():
        expected = frames.get(name)
        bad = [len(r) for r in seq.runs if expected is not None and len(r) != expected]
        if bad:
            results.completeness.wrong_rows[name] = (bad[0], expected)
