"""OSTrack's training loss (paper §3.4, official ``OSTrackActor.compute_losses``).

``L = L_focal(score map, Gaussian target) + λ_giou · L_giou + λ_L1 · L_1`` with λ_giou = 2, λ_L1 = 5.
The box losses compare the box decoded at the predicted score-map argmax with the ground truth, as the
official actor does; the Gaussian target is CenterNet's (radius from ``min_overlap`` 0.7, σ = diameter / 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    focal: float = 1.0
    giou: float = 2.0
    l1: float = 5.0


def gaussian_radius(wh: torch.Tensor, min_overlap: float = 0.7) -> torch.Tensor:
    """CenterNet's radius: the smallest of the three quadratic roots, as the official helper (no 1/2a)."""
    w, h = wh[..., 0], wh[..., 1]
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + torch.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + torch.sqrt(b2**2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + torch.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return torch.minimum(r1, torch.minimum(r2, r3))


def _gaussian_patch(radius: int) -> torch.Tensor:
    diameter = 2 * radius + 1
    sigma = diameter / 6
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    return torch.from_numpy(g).float()


def gaussian_heatmap(boxes: torch.Tensor, search_size: int, stride: int) -> torch.Tensor:
    """``(B, 1, F, F)`` target: a peak of 1 at the rounded box centre cell, CenterNet Gaussian around it.

    ``boxes`` are ``(B, 4)`` ``x, y, w, h`` normalised to the search crop.
    """
    feat = search_size // stride
    boxes = boxes.detach().float().cpu() * feat
    wh = boxes[:, 2:]
    centres = (boxes[:, :2] + wh / 2).round()
    radii = gaussian_radius(wh).clamp(min=0).to(torch.int).tolist()
    maps = torch.zeros(boxes.shape[0], feat, feat)
    for i, r in enumerate(radii):
        x, y = int(centres[i, 0]), int(centres[i, 1])
        if not (0 <= x < feat and 0 <= y < feat):
            continue  # centre outside the search crop: no positive cell
        g = _gaussian_patch(r)
        left, right = min(x, r), min(feat - x, r + 1)
        top, bottom = min(y, r), min(feat - y, r + 1)
        region = maps[i, y - top:y + bottom, x - left:x + right]
        maps[i, y - top:y + bottom, x - left:x + right] = torch.maximum(
            region, g[r - top:r + bottom, r - left:r + right])
    return maps.unsqueeze(1)


def focal_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """Penalty-reduced pixel-wise focal loss (CornerNet/CenterNet), normalised by the positive cells."""
    pos = target.eq(1).float()
    neg = target.lt(1).float()
    pred = pred.clamp(min=1e-12)
    pos_loss = (torch.log(pred) * (1 - pred).pow(alpha) * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred.pow(alpha) * (1 - target).pow(beta) * neg).sum()
    num_pos = pos.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def xywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def giou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise-aligned generalised IoU and IoU of ``(N, 4)`` ``x1, y1, x2, y2`` boxes."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, 2:], boxes2[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area1 + area2 - inter
    iou = inter / union
    lt_c = torch.min(boxes1[:, :2], boxes2[:, :2])
    rb_c = torch.max(boxes1[:, 2:], boxes2[:, 2:])
    hull = (rb_c - lt_c).clamp(min=0).prod(dim=1)
    return iou - (hull - union) / hull, iou


def tracking_loss(out: dict, search_boxes: torch.Tensor, search_size: int, stride: int,
                  weights: LossWeights = LossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for a forward ``out`` of :class:`OSTrack` and ``(B, 4)`` normalised GT boxes."""
    target = gaussian_heatmap(search_boxes, search_size, stride).to(out["score_map"].device)
    pred = cxcywh_to_xyxy(out["pred_boxes"].view(-1, 4))
    gt = xywh_to_xyxy(search_boxes).clamp(0.0, 1.0)
    g, iou = giou(pred, gt)
    if not torch.isfinite(g).all():
        # degenerate predicted boxes (zero area) make GIoU undefined: the official actor skips the term
        g_loss = pred.new_zeros(())
    else:
        g_loss = (1 - g).mean()
    l1 = F.l1_loss(pred, gt)
    focal = focal_loss(out["score_map"], target)
    total = weights.focal * focal + weights.giou * g_loss + weights.l1 * l1
    stats = {"loss": float(total.detach()), "focal": float(focal.detach()), "giou": float(g_loss.detach()),
             "l1": float(l1.detach()), "iou": float(iou.detach().nan_to_num(0.0).mean())}
    return total, stats
