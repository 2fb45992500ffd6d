"""What every benchmark adapter returns: a :class:`Sequence`, and the :class:`Benchmark` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Sequence:
    """One annotated video of a benchmark.

    ``ground_truth`` is float64 ``(M, 4)`` in ``x, y, w, h`` exactly as the annotation file has it
    (NaN allowed); ``M == len(frames)`` except for test splits that publish only the first box
    (TrackingNet, GOT-10k test: ``M == 1``).
    """

    name: str
    frames: list[Path]
    ground_truth: np.ndarray
    bench: str
    target_visible: np.ndarray | None = None
    object_class: str | None = None
    language: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> np.ndarray:
        return np.asarray(self.ground_truth[0], dtype=np.float64)

    @property
    def has_full_annotation(self) -> bool:
        return len(self.ground_truth) == len(self.frames)


@runtime_checkable
class Benchmark(Protocol):
    """A benchmark split on disk.

    ``name`` is the CLI/bench name (also the results sub-folder); ``convention`` names the metric
    convention its reference numbers were computed with (see :mod:`ostrack_eval.metrics`).
    """

    name: str
    convention: str
    root: Path

    def sequence_names(self) -> list[str]: ...

    def load(self, name: str) -> Sequence: ...
