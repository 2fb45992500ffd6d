"""Named metric conventions: how each reference tool turns boxes into scores.

A :class:`Convention` is data; the per-frame rules of its ``family`` live in
:mod:`ostrack_eval.metrics.frames` and the aggregation in :mod:`ostrack_eval.metrics.scores`.
Sources: pytracking and OSTrack ``analysis/extract_results.py`` + ``plot_results.py``, the GOT-10k
toolkit ``experiments/got10k.py`` + ``utils/metrics.py``, TrackingNet-devkit ``metrics.py`` (the
server's code), the ITB toolkit ``pysot_toolkit/toolkit/evaluation/ope_benchmark.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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


# how the convention summaries say what happens to the boxes before scoring
TRUNCATION_NOTE = "boxes truncated toward zero first (the official runner's astype(int), as published)"
FULL_PRECISION_NOTE = "boxes scored at full precision (--full-precision)"


@dataclass(frozen=True)
class Convention:
    """One reference tool's scoring rules.

    ``family`` picks the per-frame rules (``pytracking``, ``got10k``, ``trackingnet``, ``itb``);
    ``valid_needs_xy`` is pytracking's stricter validity test (GT ``x, y, w, h`` all > 0) against
    OSTrack's copy, which only tests ``w, h > 0``. ``metrics`` are the keys this convention reports,
    ``headline`` the one a one-number table (AUC or AO) shows. ``fps_rule`` is how per-frame times become a
    speed: ``"frames_per_second"`` (all timed frames / their total time, as pytracking's runner) or
    ``"mean_inverse"`` (the GOT-10k toolkit's ``mean(1 / t)`` over every time ``t > 0``).

    ``truncate``: predicted boxes go through the official runner's integer step before scoring, as
    every published number did (OSTrack's and pytracking's ``running.py`` save ``np.array(boxes)
    .astype(int)`` with ``fmt='%d'``; OSTrack's ``transform_got10k.py`` / ``transform_trackingnet.py``
    repack those integer files for the servers). Truncation toward zero is idempotent, so integer
    files score exactly as before; :meth:`full_precision` scores the boxes as stored.
    """

    name: str
    family: str
    summary: str
    metrics: tuple[str, ...]
    headline: str
    valid_needs_xy: bool = False
    fps_rule: str = "frames_per_second"
    truncate: bool = False

    def full_precision(self) -> Convention:
        """The same rules fed the boxes as stored, without the official runner's integer step."""
        if not self.truncate:
            return self
        # a name of its own, so tables and JSON say which boxes were scored
        return replace(self, name=f"{self.name}+full-precision", truncate=False,
                       summary=self.summary.replace(TRUNCATION_NOTE, FULL_PRECISION_NOTE))


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("pytracking", "pytracking",
                   "pytracking extract_results: +1-pixel IoU, valid = GT x,y,w,h > 0 (+ target_visible), "
                   "first frame = GT, 21-point success curve (AUC = mean), P@20 px, P_Norm@0.20; "
                   + TRUNCATION_NOTE, ("auc", "norm_precision", "precision"), "auc", valid_needs_xy=True,
                   truncate=True),
        Convention("ostrack", "pytracking",
                   "OSTrack's copy of pytracking extract_results: as pytracking but valid = GT w,h > 0 "
                   "(+ target_visible); " + TRUNCATION_NOTE, ("auc", "norm_precision", "precision"), "auc",
                   truncate=True),
        Convention("got10k", "got10k",
                   "GOT-10k toolkit: continuous IoU of boxes clipped to the image, frame 0 excluded, "
                   "valid = cover > 0, AO/SR over all frames of all sequences and repetitions, "
                   "FPS = mean(1 / t) over all positive frame times; " + TRUNCATION_NOTE,
                   ("ao", "sr50", "sr75"), "ao", fps_rule="mean_inverse", truncate=True),
        Convention("trackingnet_server", "trackingnet",
                   "TrackingNet server (devkit metrics.py as of commit 79783f2, the file last changed in "
                   "967661d): boxes rounded to integers, +1-pixel IoU, success counts IoU >= t, "
                   "centre x+(w+1)/2, 21-point curves integrated with the trapezoid rule; " + TRUNCATION_NOTE,
                   ("auc", "norm_precision", "precision"), "auc", truncate=True),
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
