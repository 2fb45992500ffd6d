"""Named metric conventions: how each reference tool turns boxes into scores.

A :class:`Convention` is data; the per-frame rules of its ``family`` live in
:mod:`ostrack_eval.metrics.frames` and the aggregation in :mod:`ostrack_eval.metrics.scores`.
Sources: pytracking and OSTrack ``analysis/extract_results.py`` + ``plot_results.py``, the GOT-10k
toolkit ``experiments/got10k.py`` + ``utils/metrics.py``, TrackingNet-devkit ``metrics.py`` (the
server's code), the ITB toolkit ``pysot_toolkit/toolkit/evaluation/ope_benchmark.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ostrack_eval.errors import UserError

# Metric keys (JSON keys of ``report --format json``) and their table headers.
METRIC_LABELS: dict[str, str] = {
    "auc": "AUC",
    "norm_precision": "P_Norm",
    "precision": "P",
    "ao": "AO",
    "sr50": "SR0.5",
    "sr75": "SR0.75",
    "miou": "mIoU",
    "op50": "OP50",
    "op75": "OP75",
}


@dataclass(frozen=True)
class Convention:
    """One reference tool's scoring rules.

    ``family`` picks the per-frame rules (``pytracking``, ``got10k``, ``trackingnet``, ``itb``);
    ``valid_needs_xy`` is pytracking's stricter validity test (GT ``x, y, w, h`` all > 0) against
    OSTrack's copy, which only tests ``w, h > 0``. ``metrics`` are the keys this convention reports,
    ``headline`` the one a one-number table (AUC or AO) shows. ``fps_rule`` is how per-frame times become a
    speed: ``"frames_per_second"`` (all timed frames / their total time, as pytracking's runner) or
    ``"mean_inverse"`` (the GOT-10k toolkit's ``mean(1 / t)`` over every time ``t > 0``).
    """

    name: str
    family: str
    summary: str
    metrics: tuple[str, ...]
    headline: str
    valid_needs_xy: bool = False
    fps_rule: str = "frames_per_second"


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("pytracking", "pytracking",
                   "pytracking extract_results: +1-pixel IoU, valid = GT x,y,w,h > 0 (+ target_visible), "
                   "first frame = GT, 21-point success curve (AUC = mean), P@20 px, P_Norm@0.20",
                   ("auc", "norm_precision", "precision"), "auc", valid_needs_xy=True),
        Convention("ostrack", "pytracking",
                   "OSTrack's copy of pytracking extract_results: as pytracking but valid = GT w,h > 0 "
                   "(+ target_visible)", ("auc", "norm_precision", "precision"), "auc"),
        Convention("got10k", "got10k",
                   "GOT-10k toolkit: continuous IoU of boxes clipped to the image, frame 0 excluded, "
                   "valid = cover > 0, AO/SR over all frames of all sequences and repetitions, "
                   "FPS = mean(1 / t) over all positive frame times",
                   ("ao", "sr50", "sr75"), "ao", fps_rule="mean_inverse"),
        Convention("trackingnet_server", "trackingnet",
                   "TrackingNet server (devkit metrics.py): boxes rounded to integers, +1-pixel IoU, "
                   "centre x+(w+1)/2, 21-point curves integrated with the trapezoid rule",
                   ("auc", "norm_precision", "precision"), "auc"),
        Convention("itb", "itb",
                   "ITB toolkit (pysot): continuous IoU, valid = GT w,h > 0, mIoU = mean IoU over valid "
                   "frames per video, then over videos", ("miou", "auc", "norm_precision", "precision"), "miou"),
    )
}

# bench name -> the dataset tag OSTrack's analysis sees (it switches rules on 'lasot' and 'uav')
BENCH_TAGS: dict[str, str] = {
    "lasot": "lasot",
    "lasot_ext": "lasot_extension_subset",
    "trackingnet": "trackingnet",
    "got10k": "got10k",
    "got10k_val": "got10k",
    "nfs": "nfs",
    "uav123": "uav",
    "tnl2k": "tnl2k",
    "itb": "otb",
    "demo": "demo",
}

# OSTrack's dataset classes give target_visible only to the LaSOT family; other adapters may know
# absence too (TNL2K all-zero rows, GOT-10k labels) but the reference analysis never saw it there.
VISIBILITY_TAGS = frozenset({"lasot", "lasot_extension_subset"})


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise UserError(f"unknown metric convention {name!r}; known: {', '.join(CONVENTIONS)}") from None


def bench_tag(bench: str) -> str:
    return BENCH_TAGS.get(bench, bench)
