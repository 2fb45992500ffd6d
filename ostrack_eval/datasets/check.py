"""``datasets check``: hold a download against the spec (datasets.md) and list every problem found.

Problems (the check fails): a wrong layout (original NFS, no ``TEST/``, …), an incomplete sequence list
(GOT-10k ``list.txt`` without some official names), listed sequences missing, sequences the adapter cannot
load (frame count ≠ ground-truth rows, malformed or undecodable annotation, …), missing or undecodable
images (every image is decoded with OpenCV, the way the runner reads it).
Notes (informational): folders not in the official list, lengths that differ from the shipped table.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import cv2
from tqdm import tqdm

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import FolderBenchmark
from ostrack_eval.datasets.sanity import first_frame_problem, init_box_problem
from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing

_EXPLAINED = 3  # missing sequences explained one by one; the rest are only counted


@dataclass
class CheckReport:
    bench: str
    root: Path
    listed: int = 0
    checked: int = 0
    frames: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"{self.bench}: {self.root}"]
        out += [f"  problem: {p}" for p in self.problems]
        out += [f"  note: {n}" for n in self.notes]
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problem{'s' * (len(self.problems) != 1)})"
        out.append(f"{self.bench}: {self.checked}/{self.listed} sequences and {self.frames} frames checked: {verdict}")
        return out


def _frame_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"{path}: frame missing"
    if cv2.imread(str(path), cv2.IMREAD_COLOR) is None:
        return f"{path}: cannot decode image (corrupt or unsupported)"
    return None


def _first_frame_problem(seq: Sequence) -> str | None:
    """What ``run`` would refuse about the first frame and the first box (too small, box off the image)."""
    image = cv2.imread(str(seq.frames[0]), cv2.IMREAD_COLOR)
    return None if image is None else first_frame_problem(seq, *image.shape[:2])


def _length_note(benchmark: FolderBenchmark, seq: Sequence) -> str | None:
    expected = benchmark.expected_length(seq.name)
    if expected is not None and expected != seq.num_frames:
        return f"{seq.name}: {seq.num_frames} frames; the official table says {expected}"
    return None


def check_benchmark(benchmark: FolderBenchmark, decode: bool = True, progress: bool | None = None,
                    workers: int | None = None) -> CheckReport:
    """Check every listed (or selected) sequence of an adapter from :func:`ostrack_eval.datasets.get_benchmark`."""
    report = CheckReport(benchmark.name, Path(benchmark.root))
    progress = sys.stderr.isatty() if progress is None else progress
    list_problems: list[str] = []
    try:
        benchmark.validate_root()
        list_problems = benchmark.list_problems()
        names = benchmark.sequence_names()
    except UserError as exc:
        # an invalid name refuses the whole list; list_problems names every offender on its own line
        report.problems += list_problems or [str(exc)]
        return report
    report.listed = len(names)
    report.problems += list_problems
    missing = [n for n in names if not benchmark.is_present(n)]
    if missing:
        report.problems.append(f"{len(missing)} of {len(names)} listed sequences missing: {listing(missing)}")
        hints = [(name, benchmark.missing_hint(name)) for name in missing[:_EXPLAINED]]
        report.problems += [f"{name}: {hint}" for name, hint in hints if hint]
    absent = set(missing)
    sequences: list[Sequence] = []
    for name in tqdm([n for n in names if n not in absent], desc=f"{benchmark.name} annotations",
                     unit="seq", disable=not progress):
        try:
            seq = benchmark.load(name)
        except UserError as exc:
            report.problems.append(f"{name}: {exc}")
            continue
        if len(seq.ground_truth) not in (1, seq.num_frames):
            report.problems.append(f"{name}: {len(seq.ground_truth)} ground-truth rows for {seq.num_frames} frames")
            continue
        problem = init_box_problem(seq.init_box)
        if problem is not None:  # run refuses the sequence
            report.problems.append(f"{name}: {problem}")
        report.notes += [f"{name}: {note}" for note in benchmark.sequence_notes(name)]
        sequences.append(seq)
    report.checked = len(sequences)
    report.frames = sum(s.num_frames for s in sequences)
    long_notes = [note for s in sequences if (note := _length_note(benchmark, s))]
    if long_notes:
        report.notes.append(f"{len(long_notes)} sequence lengths differ from the official table: "
                            f"{listing(long_notes, 3)}")
    unlisted = benchmark.unlisted()
    if unlisted:
        report.notes.append(f"{len(unlisted)} folders not in the official list (ignored): {listing(unlisted)}")
    _check_frames(sequences, report, decode, progress, workers)
    return report


def _check_frames(sequences: Iterable[Sequence], report: CheckReport, decode: bool, progress: bool,
                  workers: int | None) -> None:
    check = _frame_problem if decode else (lambda p: None if p.is_file() else f"{p}: frame missing")
    workers = workers or min(8, os.cpu_count() or 1)
    with tqdm(total=report.frames, desc=f"{report.bench} images", unit="img", disable=not progress) as bar, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        for seq in sequences:
            # OpenCV releases the GIL while decoding, so threads decode in parallel.
            found = [p for p in pool.map(check, seq.frames) if p]
            if decode and not found and init_box_problem(seq.init_box) is None:
                found = [p for p in [_first_frame_problem(seq)] if p]
            bar.update(seq.num_frames)
            if found:
                report.problems.append(f"{seq.name}: {found[0]}" + (f" (+{len(found) - 1} more bad frames)"
                                                                      if len(found) > 1 else ""))
