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
from ostrack_eval.metrics.bootstrap import Interval, bootstrap_ci, paired_difference_ci, resampled_scores
from ostrack_eval.metrics.conventions import (
    BENCH_TAGS,
    CONVENTIONS,
    DEFAULT_CONVENTIONS,
    METRIC_LABELS,
    VISIBILITY_TAGS,
    Convention,
    bench_tag,
    default_convention,
    get_convention,
)
from ostrack_eval.metrics.curves import auc_mean, auc_trapz, precision_curve, success_curve, threshold_counts
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
    "BENCH_TAGS", "CONVENTIONS", "DEFAULT_CONVENTIONS", "METRIC_LABELS", "VISIBILITY_TAGS",
    "BenchScores", "Convention", "Curve", "FrameMeasures", "Interval", "ResultError",
    "auc_mean", "auc_trapz", "bench_tag", "bootstrap_ci", "centre_error", "centres_pixel", "centres_plus_one",
    "clip_to_image", "default_convention", "frame_measures", "get_convention", "got10k_frames", "iou_continuous",
    "iou_pixel", "iou_rounded_pixel", "itb_frames", "normalised_centre_error", "paired_difference_ci",
    "precision_curve", "pytracking_frames", "resampled_scores", "score_sequences", "success_curve",
    "threshold_counts", "trackingnet_frames",
]
