"""Success AUC of a tracker on the demo benchmark, in process (for checking a trained checkpoint).

The numbers are those ``ostrack-eval run`` + ``report --full-precision`` give on the ``demo`` bench (OSTrack's convention:
pytracking IoU, frames with an empty ground-truth box count as failures, AUC = mean of the 21-point success
curve, averaged over sequences). The demo sequences are rendered in memory by the same generator that
writes the benchmark's (lossless PNG) files, so no cache folder is touched.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ostrack_eval.datasets.synth import TEST_SCENARIOS, generate_sequence
from ostrack_eval.metrics import auc_mean, pytracking_frames, success_curve
from ostrack_eval.trackers.api import Tracker
from ostrack_eval.trackers.registry import TrackerSpec, build_tracker

DemoSequence = tuple[list[np.ndarray], np.ndarray]  # (RGB frames, ground truth x, y, w, h)


def demo_test_sequences(names: Iterable[str] | None = None) -> dict[str, DemoSequence]:
    """The demo benchmark's test sequences (sequence ``i`` of the table is test seed ``i``)."""
    order = list(TEST_SCENARIOS)
    wanted = list(names) if names is not None else order
    out = {}
    for name in wanted:
        seq = generate_sequence(order.index(name), split="test")
        out[name] = (seq.frames, seq.ground_truth)
    return out


def heldout_test_sequences(count: int) -> dict[str, DemoSequence]:
    """``count`` further sequences of the generator's TEST stream (random scenarios after the demo's eight):
    never trained on, and many more than the demo has, for measuring differences the demo is too small for."""
    first = len(TEST_SCENARIOS)
    out = {}
    for seed in range(first, first + count):
        seq = generate_sequence(seed, split="test")
        out[f"heldout-{seed}"] = (seq.frames, seq.ground_truth)
    return out


def track_frames(tracker: Tracker, frames: list[np.ndarray], init_box: np.ndarray) -> np.ndarray:
    """Boxes for every frame (row 0 = the initial box), as the runner produces them."""
    boxes = np.empty((len(frames), 4))
    boxes[0] = init_box
    tracker.initialize(frames[0], np.asarray(init_box, dtype=np.float64).copy())
    for i in range(1, len(frames)):
        boxes[i] = tracker.track(frames[i])
    return boxes


def sequence_auc(pred: np.ndarray, gt: np.ndarray) -> float:
    """Success AUC (percent) of one trajectory."""
    overlap = pytracking_frames(pred, gt, tag="demo").overlap
    return float(auc_mean(success_curve(overlap)) * 100.0)


def demo_auc(spec: TrackerSpec, sequences: dict[str, DemoSequence], device: str = "cpu") -> dict[str, float]:
    """Per-sequence success AUC of ``spec`` (a fresh tracker per sequence, as the runner does)."""
    return {name: sequence_auc(track_frames(build_tracker(spec, device), frames, gt[0]), gt)
            for name, (frames, gt) in sequences.items()}


def mean_auc(scores: dict[str, float]) -> float:
    return float(np.mean(list(scores.values())))
