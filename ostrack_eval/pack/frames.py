"""Frame counts from the local dataset, for holding submissions to one row per frame."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing

NOT_LOCAL = "not in the local dataset"


@dataclass(frozen=True)
class FrameCounts:
    """Frames per sequence found under ``root``; ``unchecked`` maps the others to why they could not be counted.

    The official list is the shipped table, not the download's own list (GOT-10k ``test/list.txt``), so a
    partial or older download can lack official sequences: their rows are then checked against each other
    (repetitions, time file) instead of refused.
    """

    root: Path
    counts: dict[str, int]
    unchecked: dict[str, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One line per reason the frames of some sequences could not be counted."""
        by_reason: dict[str, list[str]] = {}
        for seq, why in self.unchecked.items():
            by_reason.setdefault(why, []).append(seq)
        return [f"{seqs[0]}: row count not checked ({why})" if len(seqs) == 1 else
                f"row counts of {len(seqs)} sequences not checked ({why}): {listing(seqs)}"
                for why, seqs in by_reason.items()]


def rows_checked(frames: FrameCounts | None) -> str:
    """How far the one-row-per-frame check went, for the summary line of ``pack`` and ``pack --check``."""
    if frames is None:
        return "row counts not checked against frames (no dataset found; pass --root)"
    if not frames.unchecked:
        return f"row counts checked against {frames.root}"
    total = len(frames.counts) + len(frames.unchecked)
    return f"row counts of {len(frames.counts)} of {total} sequences checked against {frames.root}"


def dataset_frame_counts(bench: str, root: str | Path | None, names: list[str]) -> FrameCounts | None:
    """Frames per sequence from the benchmark adapter, or ``None`` when no dataset is found.

    An explicit ``root`` must hold the benchmark (the adapter raises a one-line ``UserError``
    otherwise); without one the default location (``$OSTRACK_EVAL_DATA``, ``./datasets``) is tried
    and silently skipped when absent, because packing does not need the images. A sequence the
    dataset cannot give (absent, or broken on disk) goes to ``unchecked`` with the reason.
    """
    # Imported here: the adapters pull in image and annotation code that packing rarely needs.
    from ostrack_eval.datasets import get_benchmark, resolve_root
    from ostrack_eval.datasets.names import InvalidNameError

    if root is None and not resolve_root(bench).is_dir():
        return None
    benchmark = get_benchmark(bench, root)
    benchmark.validate_root()
    counts, unchecked = {}, {}
    try:
        listed = set(benchmark.listed_names())
    except InvalidNameError:  # a list naming paths is hostile, not just unreadable: refuse, as run and report do
        raise
    except UserError as exc:  # the download's own list is unreadable: every sequence says why
        listed, list_error = None, str(exc)
    for name in tqdm(names, desc=f"{bench} frames", unit="seq", disable=not sys.stderr.isatty()):
        if listed is None:
            unchecked[name] = list_error
        elif name not in listed or not benchmark.is_present(name):
            hint = benchmark.missing_hint(name) if name in listed else None
            unchecked[name] = f"{NOT_LOCAL}: {hint}" if hint else NOT_LOCAL
        else:
            try:
                counts[name] = benchmark.load(name).num_frames
            except UserError as exc:  # present but broken on disk
                unchecked[name] = str(exc)
    return FrameCounts(Path(benchmark.root), counts, unchecked)
