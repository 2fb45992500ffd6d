"""``pack --check``: judge any submission zip the way the evaluation servers read it (datasets.md §9).

Members are read as bounded streams (:mod:`ostrack_eval.pack.limits`): an arbitrary zip, a zip bomb
included, costs a few megabytes. GOT-10k files are read like the toolkit reads them
(``np.loadtxt(delimiter=',')``), TrackingNet files like the devkit's ``metrics.py``
(``pandas.read_csv(sep=',', names=[4 columns])``, matching each sequence to the one member whose path
contains ``<seq>.txt``). Every problem is listed, not just the first.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.pack.formats import ServerFormat, get_format, select_names
from ostrack_eval.pack.frames import FrameCounts, dataset_frame_counts
from ostrack_eval.pack.limits import (MAX_MEMBERS, MemberTooLarge, MemberUnreadable, ReadBudget, ZipLimitExceeded,
                                      central_directory_problem, read_member)
from ostrack_eval.utils.text import listing


@dataclass
class CheckReport:
    path: Path
    bench: str
    found: int  # of the sequences the zip must hold, how many have a box file
    repetitions: int
    frames: FrameCounts | None  # what the row counts were checked against (None: no dataset)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked; not a problem of the zip

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def frames_root(self) -> Path | None:
        return None if self.frames is None else self.frames.root


# ---- reading one member's numbers ----------------------------------------------------------------------

def _loadtxt(text: str) -> np.ndarray:
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def _read_csv(text: str) -> np.ndarray:
    import pandas as pd  # only here: ``ostrack-eval --help`` and the GOT-10k check do without it

    frame = pd.read_csv(io.StringIO(text), sep=",", names=["x", "y", "w", "h"])
    if not isinstance(frame.index, pd.RangeIndex):  # extra columns become the index
        raise ValueError("more than 4 columns")
    return frame.astype(float).to_numpy()


OFFICIAL_READERS: dict[str, tuple[str, Callable[[str], np.ndarray]]] = {
    "got10k": ("np.loadtxt(delimiter=',')", _loadtxt),
    "trackingnet": ("pandas.read_csv(sep=',')", _read_csv),
}


@dataclass(frozen=True)
class Defect:
    """``kind`` is the same for every file with this defect (it groups them); ``detail`` locates it."""

    kind: str
    detail: str = ""


DELIMITER = "space/tab delimiter instead of commas (the server silently scores such files as empty)"
COLUMNS = "wrong number of values per line"
NUMBER = "text that is not a number"
NONFINITE = "NaN/inf values"
EMPTY = "empty file"
ENCODING = "not UTF-8 text"
READER = "rejected by the official reader"
ROWS = "row count differs from the frame count"
REP_ROWS = "repetitions of different lengths"
TIME_ROWS = "time rows differ from box rows"
TIME_VALUES = "non-positive times (every frame needs a time > 0)"
TIME_COLUMNS = "more than one time per frame"
REP_NAME = "misnamed repetition (they are <seq>_001.txt, <seq>_002.txt, <seq>_003.txt)"
REP_SET = "repetitions must run _001, _002, … without gaps"
REP_MAX = "too many repetitions"
IN_FOLDER = "unexpected file in a sequence folder (expected <seq>_001.txt … and <seq>_time.txt)"
OUTSIDE = "file outside its sequence folder (expected <seq>/<seq>_001.txt and <seq>/<seq>_time.txt)"
SUBFOLDER = "result file in a sub-folder (expected <seq>.txt at the zip root)"
TN_TIME = "time file (TrackingNet submissions hold none)"
TOO_LARGE = "file larger than any result file can be (reading stopped)"
UNREADABLE = "cannot be decompressed"
AMBIGUOUS = "several files match <seq>.txt (the server then scores the sequence as missing)"


def parse_member(data: bytes, ncols: int | None, reader: tuple[str, Callable[[str], np.ndarray]]
                 ) -> tuple[np.ndarray | None, Defect | None]:
    """(rows, None) when the file is comma-separated numbers the official reader accepts, else (None, why)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, Defect(ENCODING)
    rows, width = [], None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if "," not in line and len(line.split()) > 1:
            return None, Defect(DELIMITER, f"line {lineno}")
        fields = line.split(",")
        if ncols is not None and len(fields) != ncols:
            return None, Defect(COLUMNS, f"line {lineno}: {len(fields)} values, expected {ncols}")
        if width is not None and len(fields) != width:
            return None, Defect(COLUMNS, f"line {lineno}: {len(fields)} values, earlier lines have {width}")
        width = len(fields)
        try:
            values = [float(f) for f in fields]
        except ValueError:
            return None, Defect(NUMBER, f"line {lineno}: {line[:40]!r}")
        if not all(math.isfinite(v) for v in values):
            return None, Defect(NONFINITE, f"line {lineno}")
        rows.append(values)
    if not rows:
        return None, Defect(EMPTY)
    name, read = reader
    try:
        official = read(text)
    except (ValueError, TypeError) as exc:
        return None, Defect(READER, f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    if official.shape != (len(rows), width):
        return None, Defect(READER, f"{name} reads shape {official.shape}, expected ({len(rows)}, {width})")
    return np.asarray(rows, dtype=np.float64), None


class _Problems:
    """Problems in report order; file defects of one kind are grouped once there are many of them."""

    GROUP_FROM = 4

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.by_kind: dict[str, list[tuple[str, str]]] = {}

    def add(self, line: str) -> None:
        self.lines.append(line)

    def file(self, member: str, defect: Defect) -> None:
        self.by_kind.setdefault(defect.kind, []).append((member, defect.detail))

    def render(self) -> list[str]:
        out = list(self.lines)
        for kind, hits in self.by_kind.items():
            where = [f"{m} ({d})" if d else m for m, d in hits]
            if len(hits) < self.GROUP_FROM:
                out += [f"{m}: {kind}" + (f" ({d})" if d else "") for m, d in hits]
            else:
                out.append(f"{kind} in {len(hits)} files: {listing(where)}")
        return out


# ---- where things are in the zip ----------------------------------------------------------------------

@dataclass
class _Layout:
    boxes: dict[str, dict[int, str]] = field(default_factory=dict)  # seq -> repetition -> member
    times: dict[str, str] = field(default_factory=dict)  # seq -> member
    unexpected: list[str] = field(default_factory=list)


def _members(zf: zipfile.ZipFile) -> list[str]:
    """File members; ``__MACOSX/`` resource forks are ignored (as the TrackingNet server does)."""
    return [i.filename for i in zf.infolist() if not i.is_dir() and "__MACOSX" not in i.filename.split("/")]


def _extra_folders(paths: list[str], fmt: ServerFormat, official: set[str]) -> str:
    """The folder(s) every member sits in although the server wants the sequences at the zip root."""
    prefix = ""
    rest = paths
    while rest and all("/" in p for p in rest):
        tops = {p.split("/", 1)[0] for p in rest}
        if len(tops) != 1 or (fmt.folder_per_sequence and next(iter(tops)) in official):
            break
        prefix += f"{tops.pop()}/"
        rest = [p.split("/", 1)[1] for p in rest]
    return prefix


def _sequence_of(filename: str, names: set[str]) -> str | None:
    """The sequence a file name belongs to: ``<seq>.txt`` or ``<seq>_<anything>.txt``."""
    stem = filename[:-4] if filename.endswith(".txt") else filename
    if stem in names:
        return stem
    head = stem.rsplit("_", 1)[0]
    return head if "_" in stem and head in names else None


def _got10k_layout(paths: dict[str, str], names: set[str], problems: _Problems) -> _Layout:
    layout = _Layout()
    for rel, member in paths.items():
        parts = rel.split("/")
        if len(parts) == 2 and parts[0] in names:
            seq, fname = parts
            rep = re.fullmatch(re.escape(seq) + r"_(\d+)\.txt", fname)
            if fname == f"{seq}_time.txt":
                layout.times[seq] = member
            elif rep and len(rep.group(1)) == 3 and int(rep.group(1)) >= 1:
                layout.boxes.setdefault(seq, {})[int(rep.group(1))] = member
            else:
                problems.file(member, Defect(REP_NAME if rep else IN_FOLDER))
        elif len(parts) == 1 and _sequence_of(parts[0], names):
            problems.file(member, Defect(OUTSIDE))
        else:
            layout.unexpected.append(member)
    return layout


def _trackingnet_layout(paths: dict[str, str], names: set[str], problems: _Problems) -> _Layout:
    layout = _Layout()
    for rel, member in paths.items():
        base = rel.rsplit("/", 1)[-1]
        seq = _sequence_of(base, names)
        if seq and base == f"{seq}.txt":
            if "/" in rel:
                problems.file(member, Defect(SUBFOLDER))
            layout.boxes.setdefault(seq, {})[1] = member
        elif seq and base == f"{seq}_time.txt":
            problems.file(member, Defect(TN_TIME))
        else:
            layout.unexpected.append(member)
    # The server takes the one .txt whose path contains "<seq>.txt"; with two candidates it takes none.
    txt = [m for m in paths.values() if m.endswith(".txt")]
    for seq in layout.boxes:
        matches = [m for m in txt if f"{seq}.txt" in m]
        if len(matches) > 1:
            problems.file(seq, Defect(AMBIGUOUS, ", ".join(matches)))
    return layout


# ---- the check ---------------------------------------------------------------------------------------

def _read(zf: zipfile.ZipFile, member: str, frames: int | None, budget: ReadBudget,
          problems: _Problems) -> bytes | None:
    """A member's bytes within the limits (one spare row beyond the frames), or ``None`` with the problem noted."""
    try:
        return read_member(zf, member, None if frames is None else frames + 1, budget)
    except MemberTooLarge as exc:
        problems.file(member, Defect(TOO_LARGE, str(exc)))
    except MemberUnreadable as exc:
        problems.file(member, Defect(UNREADABLE, str(exc)))
    return None


def _check_sequence(zf: zipfile.ZipFile, fmt: ServerFormat, seq: str, layout: _Layout, frames: int | None,
                    problems: _Problems, budget: ReadBudget) -> None:
    reader = OFFICIAL_READERS[fmt.bench]
    reps = layout.boxes[seq]
    numbers = sorted(reps)
    if fmt.folder_per_sequence:
        if numbers != list(range(1, len(numbers) + 1)):
            problems.file(f"{seq}/", Defect(REP_SET, ", ".join(f"_{n:03d}" for n in numbers)))
        if len(numbers) > fmt.max_repetitions:
            problems.file(f"{seq}/", Defect(REP_MAX, f"{len(numbers)}, at most {fmt.max_repetitions}"))
    rows = {}
    for n in numbers:
        data = _read(zf, reps[n], frames, budget, problems)
        if data is None:
            continue
        arr, defect = parse_member(data, 4, reader)
        if defect:
            problems.file(reps[n], defect)
            continue
        rows[n] = len(arr)
        if frames is not None and len(arr) != frames:
            problems.file(reps[n], Defect(ROWS, f"{len(arr)} rows for {frames} frames"))
    if frames is None and len(set(rows.values())) > 1:
        problems.file(f"{seq}/", Defect(REP_ROWS, ", ".join(f"_{n:03d}: {r}" for n, r in rows.items())))
    if not fmt.time_files or seq not in layout.times:
        return
    member = layout.times[seq]
    data = _read(zf, member, frames if frames is not None else max(rows.values(), default=None), budget, problems)
    if data is None:
        return
    arr, defect = parse_member(data, None, reader)
    if defect:
        problems.file(member, defect)
        return
    if arr.shape[1] not in (1, len(numbers)):  # the toolkit writes one column per repetition
        problems.file(member, Defect(TIME_COLUMNS, f"{arr.shape[1]} values per row"))
    bad = np.flatnonzero(~(arr > 0).all(axis=1))
    if len(bad):
        problems.file(member, Defect(TIME_VALUES, f"{len(bad)} row(s), first row {bad[0] + 1}"))
    if frames is not None and len(arr) != frames:
        problems.file(member, Defect(ROWS, f"{len(arr)} rows for {frames} frames"))
    elif frames is None and 1 in rows and len(arr) != rows[1]:
        problems.file(member, Defect(TIME_ROWS, f"{len(arr)} rows, {seq}_001.txt has {rows[1]}"))


def check_zip(zf: zipfile.ZipFile, path: Path, fmt: ServerFormat, expected: list[str],
              frames_for: Callable[[list[str]], FrameCounts | None]) -> CheckReport:
    """Check an open zip (``path`` names it in the report) that must hold the sequences ``expected``.

    ``frames_for(present)`` gives the frame counts of the sequences the zip holds (``None``: no dataset).
    """
    problems = _Problems()
    if len(zf.infolist()) > MAX_MEMBERS:
        return CheckReport(path, fmt.bench, 0, 0, None, [f"not checked: it holds {len(zf.infolist()):,} files, "
                                                         f"more than the {MAX_MEMBERS:,} a submission can need"])
    members = _members(zf)
    for name, count in Counter(members).items():
        if count > 1:
            problems.add(f"{name}: stored {count} times in the zip")
    if not members:
        problems.add("the zip holds no files")
    prefix = _extra_folders(members, fmt, set(fmt.official_names()))
    if prefix:
        where = "sequence folders" if fmt.folder_per_sequence else "result files"
        problems.add(f"everything is inside the extra folder {prefix!r}; the server expects the {where} "
                     f"at the zip root")
    rel = {m[len(prefix):]: m for m in dict.fromkeys(members)}
    layout = (_got10k_layout if fmt.folder_per_sequence else _trackingnet_layout)(rel, set(expected), problems)

    missing = [s for s in expected if s not in layout.boxes]
    if missing:
        problems.add(f"{len(missing)} of {len(expected)} sequences missing: {listing(missing)}")
    if fmt.time_files:
        untimed = [s for s in expected if s in layout.boxes and s not in layout.times]
        if untimed:
            problems.add(f"{len(untimed)} sequence(s) without a time file (<seq>/<seq>_time.txt): "
                         f"{listing(untimed)}")
    if layout.unexpected:
        problems.add(f"{len(layout.unexpected)} unexpected file(s), not part of a {fmt.bench} submission: "
                     f"{listing(layout.unexpected)}")

    present = [s for s in expected if s in layout.boxes]
    frames = frames_for(present) if present else None
    budget = ReadBudget()
    try:
        for seq in present:
            _check_sequence(zf, fmt, seq, layout, None if frames is None else frames.counts.get(seq), problems,
                            budget)
    except ZipLimitExceeded as exc:
        problems.add(f"checking stopped at {seq}: {exc} (far beyond any {fmt.bench} submission)")
    return CheckReport(path, fmt.bench, len(present), max((len(layout.boxes[s]) for s in present), default=0),
                       frames, problems.render(), [] if frames is None else frames.notes())


def check_submission(path: str | Path, bench: str, *, root: str | Path | None = None,
                     names: list[str] | None = None) -> CheckReport:
    """Validate the zip at ``path`` as a ``bench`` server submission; ``UserError`` if it is no zip at all.

    ``names`` checks against part of the official list; ``root`` (else the default dataset location,
    when present) adds the one-row-per-frame check for the sequences that dataset holds.
    """
    path = Path(path)
    fmt = get_format(bench)
    expected = select_names(fmt, names)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    too_large = central_directory_problem(path)
    if too_large is not None:  # zipfile would read the whole member list into memory first
        return CheckReport(path, fmt.bench, 0, 0, None, [f"not checked: {too_large}"])
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise UserError(f"{path}: not a readable zip file ({exc})") from None
    with zf:
        return check_zip(zf, path, fmt, expected, lambda present: dataset_frame_counts(bench, root, present))
