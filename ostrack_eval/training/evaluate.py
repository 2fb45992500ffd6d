"""Success AUC of a tracker on the demo benchmark, in process (for checking a trained checkpoint).

The numbers are those ``ostrack-eval run`` + ``report`` give for the ``demo`` bench (OSTrack's
convention: pytracking IoU, frames with an empty ground-truth box count as failures), computed without
writing result files.
"""

from __future__ import annotations

import numpy as np

from ostrack_eval.datasets.base import Benchmark
from ostrack_eval.metrics import auc_mean, pytracking_frames, success_curve
from ostrack_eval.run.track import track_sequence
from ostrack_eval.trackers.registry import TrackerSpec, build_tracker


def sequence_auc(pred: np.ndarray, gt: np.ndarray) -> float:
    """Success AUC (percent) of one trajectory."""
    overlap = pytracking_frames(pred, gt, tag="demo").overlap
    return float(auc_mean(success_curve(overlap)) * 100.0)


def benchmark_auc(spec: TrackerSpec, benchmark: Benchmark, sequences: list[str] | None = None,
                  device: str = "cpu") -> dict[str, float]:
    """Per-sequence success AUC of ``spec`` on ``benchmark`` (one fresh tracker per sequence)."""
    scores = {}
    for name in sequences or benchmark.sequence_names():
        seq = benchmark.load(name)
        result = track_sequence(build_tracker(spec, device), seq)
        scores[name] = sequence_auc(result.boxes, seq.ground_truth)
    return scores


def mean_auc(scores: dict[str, float]) -> float:
    return float(np.mean(list(scores.values())))
