"""Tracking metrics as pure NumPy functions, parameterised by named conventions.

``CONVENTIONS`` maps a name (``pytracking``, ``ostrack``, ``got10k``, ``trackingnet_server``, ``itb``) to a
frozen :class:`Convention`; :func:`frame_measures` applies its per-frame rules to one trajectory and
:func:`score_sequences` turns many trajectories into :class:`BenchScores` (percent).
"""

from ostrack_eval.metrics.boxes import (
    centre_error,
    centres_pixel,
    centres_plus_one,
    clip_to_image,
    iou_continuous,
    iou_pixel,
    iou_rounded_pixel,
    normalised_centre_error,
)
from ostrack_eval.metrics.bootstrap import (
    Interval,
    PairedIntervals,
    bootstrap_ci,
    paired_difference_ci,
    paired_intervals,
    resampled_scores,
)
from ostrack_eval.metrics.conventions import (
    BENCH_TAGS,
    CONVENTIONS,
    METRIC_LABELS,
    VISIBILITY_TAGS,
    Convention,
    bench_tag,
    get_convention,
)
from ostrack_eval.metrics.curves import auc_mean, auc_trapz, success_curve, threshold_counts
from ostrack_eval.metrics.frames import (
    FrameMeasures,
    ResultError,
    frame_measures,
    got10k_frames,
    itb_frames,
    pytracking_frames,
    trackingnet_frames,
)
from ostrack_eval.metrics.scores import BenchScores, Curve, score_sequences

__all__ = [
    "BENCH_TAGS", "CONVENTIONS", "METRIC_LABELS", "VISIBILITY_TAGS",
    "BenchScores", "Convention", "Curve", "FrameMeasures", "Interval", "PairedIntervals", "ResultError",
    "auc_mean", "auc_trapz", "bench_tag", "bootstrap_ci", "centre_error", "centres_pixel", "centres_plus_one",
    "clip_to_image", "frame_measures", "get_convention", "got10k_frames", "iou_continuous",
    "iou_pixel", "iou_rounded_pixel", "itb_frames", "normalised_centre_error", "paired_difference_ci",
    "paired_intervals", "pytracking_frames", "resampled_scores", "score_sequences", "success_curve",
    "threshold_counts", "trackingnet_frames",
]
