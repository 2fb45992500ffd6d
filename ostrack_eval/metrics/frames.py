"""Per-frame measures of one predicted trajectory against its ground truth, one function per family.

Each function reproduces its reference tool's pre-processing (length fixes, first-frame overwrite,
zero-size boxes, validity) and returns :class:`FrameMeasures`. Inputs the reference would reject
raise :class:`ResultError`, which callers report per sequence instead of crashing.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

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
from ostrack_eval.metrics.conventions import Convention


class ResultError(ValueError):
    """A prediction (or ground truth) the reference evaluator would refuse; the message says why."""


@dataclass(frozen=True)
class FrameMeasures:
    """What the curves are built from.

    ``overlap``, ``centre`` and ``norm_centre`` hold one value per counted frame, already rewritten the
    way the convention treats invalid frames (e.g. overlap ``-1``, centre error ``inf``, or ``-1`` for
    UAV); the curves divide their counts by ``denominator``. GOT-10k keeps only the valid frames'
    overlaps and leaves the centre arrays empty.
    """

    overlap: np.ndarray
    centre: np.ndarray
    norm_centre: np.ndarray
    denominator: int


def _boxes(arr: np.ndarray | None, what: str) -> np.ndarray:
    if arr is None:
        raise ResultError(f"no {what}")
    out = np.array(arr, dtype=np.float64, copy=True)
    if out.ndim == 1 and out.size == 4:
        out = out.reshape(1, 4)
    if out.ndim != 2 or out.shape[1] != 4:
        raise ResultError(f"{what} must have 4 columns, got shape {out.shape}")
    if len(out) == 0:
        raise ResultError(f"{what} is empty")
    return out


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def pytracking_frames(pred: np.ndarray, gt: np.ndarray, *, tag: str = "", visible: np.ndarray | None = None,
                      valid_needs_xy: bool = False) -> FrameMeasures:
    """pytracking / OSTrack ``calc_seq_err_robust``.

    Order of the reference: reject NaN or negative sizes in the prediction; reject NaN ground truth
    unless the tag is ``uav``; replace zero-size predicted boxes (from frame 1 on, where the GT row has
    no NaN) by the previous box; truncate a longer prediction, zero-pad a shorter one (``lasot``: error);
    overwrite frame 0 with the GT; invalid frames get overlap -1, normalised error -1 and centre error
    inf (``uav``: -1, so they pass every precision threshold); ``lasot`` additionally gives frames with
    an invisible target infinite centre errors. Curves divide by the number of GT frames.
    """
    pred = _boxes(pred, "prediction")
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] != 4 or len(gt) == 0:
        raise ResultError(f"ground truth must be a non-empty (M, 4) array, got shape {gt.shape}")
    n, m = len(pred), len(gt)

    # whole-array tests first: the per-row ones only run to name the row
    if np.isnan(pred).any():
        raise ResultError(f"NaN in the prediction (row {_first_row(np.isnan(pred).any(axis=1))})")
    if (pred[:, 2:] < 0).any():
        raise ResultError(f"negative width or height in the prediction "
                          f"(row {_first_row((pred[:, 2:] < 0).any(axis=1))})")
    gt_nan = np.isnan(gt).any(axis=1) if np.isnan(gt).any() else None
    if gt_nan is not None and tag != "uav":
        raise ResultError(f"NaN in the ground truth (row {_first_row(gt_nan)}); only UAV123 may have NaN rows")

    zero = (pred[:, 2] == 0) | (pred[:, 3] == 0)
    zero[0] = False
    if gt_nan is not None:
        zero[: min(n, m)] &= ~gt_nan[: min(n, m)]
    if zero.any():
        # sequential "copy the previous box" == forward fill from the last row that is kept
        src = np.maximum.accumulate(np.where(zero, 0, np.arange(n)))
        pred = pred[src]

    if n > m:
        pred = pred[:m]
    elif n < m:
        if tag == "lasot":
            raise ResultError(f"{n} rows for {m} frames (a LaSOT prediction may be longer, never shorter)")
        pred = np.vstack([pred, np.zeros((m - n, 4))])
    pred[0] = gt[0]

    with np.errstate(invalid="ignore"):
        positive = gt > 0.0  # NaN compares False: a NaN row is invalid
    valid = positive[:, 2] & positive[:, 3]
    if valid_needs_xy:
        valid &= positive[:, 0] & positive[:, 1]
    vis = None
    if visible is not None:
        vis = np.asarray(visible, dtype=bool).reshape(-1)
        if len(vis) != m:
            raise ResultError(f"target_visible has {len(vis)} entries for {m} ground-truth rows")
        valid &= vis

    pc, gc = centres_pixel(pred), centres_pixel(gt)
    centre = centre_error(pc, gc)
    norm = normalised_centre_error(pc, gc, gt)
    overlap = iou_pixel(pred, gt)

    centre[~valid] = -1.0 if tag == "uav" else np.inf
    norm[~valid] = -1.0
    overlap[~valid] = -1.0
    if tag == "lasot" and vis is not None:
        norm[~vis] = np.inf
        centre[~vis] = np.inf
    if np.isnan(overlap).any():
        raise ResultError(f"NaN overlap in frame {_first_row(np.isnan(overlap))}")
    return FrameMeasures(overlap, centre, norm, m)


def trackingnet_frames(pred: np.ndarray | None, gt: np.ndarray) -> FrameMeasures:
    """TrackingNet server (devkit ``metrics.py``).

    All values rounded to integers (``np.round``: half to even); a missing prediction is all zeros; a
    longer one is cut to the GT length and missing rows are NaN (failures); row 0 is the GT; no frame is
    invalid; centre ``x + (w + 1) / 2``; normalised distance ``sqrt((dx/w)·dx/w + (dy/h)·dy/h)``.
    """
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] != 4 or len(gt) == 0:
        raise ResultError(f"ground truth must be a non-empty (M, 4) array, got shape {gt.shape}")
    m = len(gt)
    boxes = np.zeros((m, 4))
    if pred is not None:
        pred = _boxes(pred, "prediction")
        boxes[:] = np.nan
        k = min(len(pred), m)
        boxes[:k] = pred[:k]
    boxes[0] = gt[0]

    overlap = iou_rounded_pixel(boxes, gt)
    # the server rounds once, up front: the centres see the same integer boxes as the IoU
    gt, boxes = np.round(gt), np.round(boxes)
    gc, pc = centres_plus_one(gt), centres_plus_one(boxes)
    d = gc - pc
    centre = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        w, h = gt[:, 2], gt[:, 3]
        norm = np.sqrt(d[:, 0] / w * d[:, 0] / w + d[:, 1] / h * d[:, 1] / h)
    return FrameMeasures(overlap, centre, norm, m)


def itb_frames(pred: np.ndarray, gt: np.ndarray) -> FrameMeasures:
    """ITB toolkit (pysot ``OPEBenchmark``): no first-frame overwrite, prediction cut to the GT length.

    Overlap: continuous IoU where GT ``w, h > 0``, else -1. Centre error (``success_error``): where both
    GT centre coordinates are > 0, else -1 (counts as a hit); normalised: centres divided by
    ``gt_wh + 1e-16``, same mask on the normalised GT centre.
    """
    pred = _boxes(pred, "prediction")
    gt = np.asarray(gt, dtype=np.float64)
    m = len(gt)
    # pysot's mean over the frames would make the video's mIoU NaN without a word
    for what, arr in (("prediction", pred[:m]), ("ground truth", gt)):
        if np.isnan(arr).any():
            raise ResultError(f"NaN in the {what} (row {_first_row(np.isnan(arr).any(axis=1))})")
    if len(pred) < m:
        raise ResultError(f"{len(pred)} rows for {m} frames (the ITB toolkit needs one row per frame)")
    pred = pred[:m]
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0)
        overlap = np.full(m, -1.0)
        overlap[valid] = iou_continuous(pred[valid], gt[valid])

        gc, pc = centres_pixel(gt), centres_pixel(pred)
        centre = np.full(m, -1.0)
        cmask = (gc > 0).all(axis=1)
        centre[cmask] = centre_error(pc[cmask], gc[cmask])

        wh = gt[:, 2:] + 1e-16
        gcn, pcn = gc / wh, pc / wh
        norm = np.full(m, -1.0)
        nmask = (gcn > 0).all(axis=1)
        norm[nmask] = centre_error(pcn[nmask], gcn[nmask])
    return FrameMeasures(overlap, centre, norm, m)


def got10k_frames(pred: np.ndarray, gt: np.ndarray, *, cover: np.ndarray | None = None,
                  resolution: tuple[float, float] | None = None) -> FrameMeasures:
    """GOT-10k toolkit (``ExperimentGOT10k.report``, val split).

    The prediction must have exactly the GT's shape; frame 0 is dropped; with the image ``resolution``
    ``(W, H)`` both boxes are clipped the toolkit's way; IoU is continuous with ``eps`` in the union;
    only frames with ``cover > 0`` count (all frames when no cover labels are known).
    """
    pred = _boxes(pred, "prediction")
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ResultError(f"{len(pred)} rows for {len(gt)} frames (the GOT-10k evaluator needs one row per frame)")
    nan_pred = np.isnan(pred).any(axis=1)
    if nan_pred.any():
        raise ResultError(f"NaN in the prediction (row {_first_row(nan_pred)})")
    nan_gt = np.isnan(gt).any(axis=1)
    if nan_gt.any():  # the toolkit's mean would turn the whole score into NaN
        raise ResultError(f"NaN in the ground truth (row {_first_row(nan_gt)})")
    p, g = pred[1:], gt[1:]
    if resolution is not None:
        width, height = float(resolution[0]), float(resolution[1])
        p, g = clip_to_image(p, width, height), clip_to_image(g, width, height)
    iou = iou_continuous(p, g, eps=np.finfo(float).eps)
    if cover is None:
        valid = np.ones(len(iou), dtype=bool)
    else:
        cover = np.asarray(cover).reshape(-1)
        if len(cover) != len(gt):
            raise ResultError(f"cover labels have {len(cover)} entries for {len(gt)} frames")
        valid = cover[1:] > 0
    overlap = iou[valid]
    empty = np.zeros(0)
    return FrameMeasures(overlap, empty, empty, len(overlap))


def _refuse_infinite(arr: np.ndarray | None, what: str) -> None:
    # no reference tool handles inf (their IoU turns it into NaN or silently into a miss, and the official
    # runner would have written garbage integers for it), so it is named like NaN instead of scored
    if arr is None:
        return
    arr = np.asarray(arr, dtype=np.float64)
    inf = np.isinf(arr)
    if inf.any():
        rows = inf.reshape(len(arr), -1).any(axis=1) if arr.ndim else inf.reshape(1)
        raise ResultError(f"infinite value in the {what} (row {_first_row(rows)})")


def official_int_boxes(pred: np.ndarray) -> np.ndarray:
    """The boxes as the official runner stores them: ``np.array(boxes).astype(int)`` (toward zero).

    ``np.trunc`` equals ``astype(int)`` for every finite box and keeps NaN and inf, which the checks then
    name (the runner would have written garbage integers for them). Integer boxes come
    back unchanged, so third-party integer files score exactly as the reference analysis scores them.
    """
    return np.trunc(np.asarray(pred, dtype=np.float64))


def frame_measures(convention: Convention, pred: np.ndarray | None, gt: np.ndarray, *, tag: str = "",
                   visible: np.ndarray | None = None, cover: np.ndarray | None = None,
                   resolution: tuple[float, float] | None = None) -> FrameMeasures:
    """Dispatch to the convention's family. ``pred=None`` is only meaningful for the TrackingNet server.

    With ``convention.truncate`` the prediction first goes through :func:`official_int_boxes`.
    """
    _refuse_infinite(pred, "prediction")
    _refuse_infinite(gt, "ground truth")
    if convention.truncate and pred is not None:
        pred = official_int_boxes(pred)
    # huge finite boxes (1e308) overflow to inf inside IoU and distances: a miss, not a warning on stderr
    with np.errstate(over="ignore", invalid="ignore"):
        return _family_measures(convention, pred, gt, tag=tag, visible=visible, cover=cover, resolution=resolution)


def _family_measures(convention: Convention, pred: np.ndarray | None, gt: np.ndarray, *, tag: str,
                     visible: np.ndarray | None, cover: np.ndarray | None,
                     resolution: tuple[float, float] | None) -> FrameMeasures:
    if convention.family == "pytracking":
        return pytracking_frames(pred, gt, tag=tag, visible=visible, valid_needs_xy=convention.valid_needs_xy)
    if convention.family == "trackingnet":
        return trackingnet_frames(pred, gt)
    if convention.family == "itb":
        return itb_frames(pred, gt)
    if convention.family == "got10k":
        return got10k_frames(pred, gt, cover=cover, resolution=resolution)
    raise ValueError(f"unknown metric family {convention.family!r}")

