"""Per-frame box measures over ``(N, 4)`` arrays of ``x, y, w, h`` (top-left corner, pixels).

Each reference tool measures boxes its own way; the variants live side by side so a convention can
name the one it uses (see :mod:`ostrack_eval.metrics.conventions`):

* **pixel** (pytracking, OSTrack, TrackingNet server): a box covers the pixels ``x .. x + w - 1``, so
  the intersection side is ``min(br) - max(tl) + 1`` with ``br = x + w - 1``; areas stay ``w * h``.
* **continuous** (GOT-10k toolkit, pysot/ITB toolkit): a box is the real interval ``[x, x + w)``.

NaN inputs give NaN outputs; no function here raises on them (the conventions decide what NaN means).
"""

from __future__ import annotations

import numpy as np


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"expected an (N, 4) box array, got shape {arr.shape}")
    return arr


def iou_pixel(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU with the +1-pixel convention (pytracking ``calc_iou_overlap``, same operation order)."""
    px, py, pw, ph = _as_boxes(pred).T
    gx, gy, gw, gh = _as_boxes(gt).T
    # column-wise: the same arithmetic as on (N, 2) slices, without the strided passes
    iw = np.minimum(px + pw - 1.0, gx + gw - 1.0) - np.maximum(px, gx) + 1.0
    ih = np.minimum(py + ph - 1.0, gy + gh - 1.0) - np.maximum(py, gy) + 1.0
    np.maximum(iw, 0.0, out=iw)
    np.maximum(ih, 0.0, out=ih)
    inter = iw * ih
    union = pw * ph + gw * gh - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def iou_rounded_pixel(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """TrackingNet server IoU: both boxes rounded to integers (half to even, as ``np.round``), then +1-pixel."""
    return iou_pixel(np.round(_as_boxes(pred)), np.round(_as_boxes(gt)))


def clip_to_image(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """The GOT-10k toolkit's ``rect_iou(bound=...)`` clipping, quirk included.

    ``x`` is clipped to ``[0, W]`` and then ``w`` to ``[0, W - x]``; a box starting left of the image
    keeps its full width after ``x`` moves to 0 (the toolkit does not shorten it).
    """
    out = _as_boxes(boxes).copy()
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def iou_continuous(pred: np.ndarray, gt: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """IoU of real-valued boxes, clipped to ``[0, 1]``.

    ``eps`` is added to the union: the GOT-10k toolkit adds ``np.finfo(float).eps``, the pysot/ITB toolkit
    adds nothing (so an empty union gives NaN there).
    """
    pred, gt = _as_boxes(pred), _as_boxes(gt)
    x1 = np.maximum(pred[:, 0], gt[:, 0])
    y1 = np.maximum(pred[:, 1], gt[:, 1])
    x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
    y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
    inter = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(inter / (union + eps), 0.0, 1.0)


def centres_pixel(boxes: np.ndarray) -> np.ndarray:
    """Centre of the pixel span: ``x + (w - 1) / 2`` (pytracking, GOT-10k, pysot)."""
    boxes = _as_boxes(boxes)
    return boxes[:, :2] + 0.5 * (boxes[:, 2:] - 1.0)


def centres_plus_one(boxes: np.ndarray) -> np.ndarray:
    """TrackingNet server centre: ``x + (w + 1) / 2``."""
    boxes = _as_boxes(boxes)
    return boxes[:, :2] + (boxes[:, 2:] + 1.0) / 2.0


def centre_error(pred_centres: np.ndarray, gt_centres: np.ndarray) -> np.ndarray:
    """Euclidean distance between centres, in pixels."""
    pred_centres = np.asarray(pred_centres, dtype=np.float64)
    gt_centres = np.asarray(gt_centres, dtype=np.float64)
    dx = pred_centres[:, 0] - gt_centres[:, 0]
    dy = pred_centres[:, 1] - gt_centres[:, 1]
    return np.sqrt(dx * dx + dy * dy)


def normalised_centre_error(pred_centres: np.ndarray, gt_centres: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """Centre distance with each axis divided by the ground-truth size (pytracking ``normalized=True``).

    A zero GT width or height gives inf/NaN; the conventions overwrite those frames.
    """
    gt_boxes = _as_boxes(gt_boxes)
    pred_centres = np.asarray(pred_centres, dtype=np.float64)
    gt_centres = np.asarray(gt_centres, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = pred_centres[:, 0] / gt_boxes[:, 2] - gt_centres[:, 0] / gt_boxes[:, 2]
        dy = pred_centres[:, 1] / gt_boxes[:, 3] - gt_centres[:, 1] / gt_boxes[:, 3]
        return np.sqrt(dx * dx + dy * dy)
