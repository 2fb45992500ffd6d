"""Frame counts of the test sequences on disk, to hold submissions to one row per frame."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm


@dataclass(frozen=True)
class FrameCounts:
    root: Path
    counts: dict[str, int]


def dataset_frame_counts(bench: str, root: str | Path | None, names: list[str]) -> FrameCounts | None:
    """Frames per sequence from the benchmark adapter, or ``None`` when no dataset is found.

    An explicit ``root`` must hold the benchmark (the adapter raises a one-line ``UserError``
    otherwise); without one the default location (``$OSTRACK_EVAL_DATA``, ``./datasets``) is tried
    and silently skipped when absent, because packing does not need the images.
    """
    # Imported here: the adapters pull in image and annotation code that packing rarely needs.
    from ostrack_eval.datasets import get_benchmark, resolve_root

    if root is None and not resolve_root(bench).is_dir():
        return None
    benchmark = get_benchmark(bench, root, names=names)
    counts = {name: benchmark.load(name).num_frames
              for name in tqdm(names, desc=f"{bench} frames", unit="seq", disable=not sys.stderr.isatty())}
    return FrameCounts(Path(benchmark.root), counts)
