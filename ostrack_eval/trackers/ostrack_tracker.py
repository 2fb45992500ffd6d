"""The OSTrack test-time tracking loop (``lib/test/tracker/ostrack.py`` of the official code)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.trackers.preprocess import (clip_box, hann2d, map_box_back, normalize_patch, sample_target,
                                              transform_image_to_crop)


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class FrameDebug:
    """What happened in the last ``track`` call (for tests, visualisation and debugging)."""

    resize_factor: float = 0.0
    search_patch: np.ndarray | None = None
    out: dict = field(default_factory=dict)
    response: torch.Tensor | None = None
    pred_box_crop: list[float] | None = None
    box_before_clip: list[float] | None = None


class OSTrackTracker:
    """``initialize(frame, box)`` / ``track(frame) -> box`` with the official inference pipeline.

    With ``fast=True`` the template tokens are embedded once per sequence and the backbone uses fused
    attention (see :mod:`ostrack_eval.trackers.vit`); geometry and decoding are unchanged.
    """

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device=None, fast: bool = False):
        self.cfg = cfg
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.model.fast = fast
        self.fast = fast
        self.window = hann2d(cfg.feat_sz_s, centered=True).to(self.device)
        self.debug = FrameDebug()
        self.keep_debug = False

    @torch.no_grad()
    def initialize(self, image: np.ndarray, box) -> None:
        box = [float(v) for v in box]
        z_patch, resize_factor, _ = sample_target(image, box, self.cfg.template_factor, self.cfg.template_size)
        self.z_patch = z_patch
        self.template = normalize_patch(z_patch, self.device)
        self.template_tokens = self.model.backbone.embed_template(self.template) if self.fast else None
        self.mask_z = None
        if self.cfg.ce_loc:
            crop_sz = torch.tensor([self.cfg.template_size, self.cfg.template_size], dtype=torch.float)
            b = torch.tensor(box)
            t_box = transform_image_to_crop(b, b, resize_factor, crop_sz, normalize=True).view(1, 4)
            self.mask_z = template_mask(self.cfg.ce_template_range, self.cfg.template_size, self.cfg.patch_size,
                                        1, t_box.to(self.device), device=self.device)
        self.state = box

    @torch.no_grad()
    def track(self, image: np.ndarray) -> np.ndarray:
        H, W = image.shape[:2]
        x_patch, resize_factor, _ = sample_target(image, self.state, self.cfg.search_factor, self.cfg.search_size)
        search = normalize_patch(x_patch, self.device)
        out = self.model(self.template, search, ce_template_mask=self.mask_z,
                         template_tokens=self.template_tokens)
        before = self.decode(out["score_map"], out["size_map"], out["offset_map"], resize_factor)
        self.state = clip_box(before, H, W, margin=10)
        if self.keep_debug:
            self.debug = FrameDebug(resize_factor, x_patch, out, self._response, self._pred_box, before)
        return np.asarray(self.state, dtype=np.float64)

    def decode(self, score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
               resize_factor: float) -> list[float]:
        """Hann-weighted argmax decode → frame ``x, y, w, h`` before clipping (relative to ``self.state``)."""
        response = self.window * score_map
        pred = self.model.box_head.cal_bbox(response, size_map, offset_map).view(-1, 4)
        # float32 tensor arithmetic before .tolist(), as in the official code
        pred_box = (pred.mean(dim=0) * self.cfg.search_size / resize_factor).tolist()
        self._response, self._pred_box = response, pred_box
        return map_box_back(self.state, pred_box, resize_factor, self.cfg.search_size)
