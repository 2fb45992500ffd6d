"""The OSTrack test-time tracking loop (``lib/test/tracker/ostrack.py`` of the official code)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.engine import FastOptions, TrackingEngine, template_inputs
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.trackers.preprocess import clip_box, hann2d, map_box_back, normalize_patch, sample_target


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

    With ``fast=True`` each frame goes through :class:`~ostrack_eval.trackers.engine.TrackingEngine` (a batch
    of one): template embedded once per sequence, the fast network of :mod:`ostrack_eval.trackers.fast`,
    and ``options`` (autocast, ``torch.compile``, device crops); geometry and decoding are unchanged.
    """

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device=None, fast: bool = False,
                 options: FastOptions | None = None):
        self.cfg = cfg
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.model.fast = fast
        self.fast = fast
        if options is not None and not fast:
            raise ValueError("fast-path options need fast=True")
        self.engine = TrackingEngine(self.model, cfg, self.device, fast=True, options=options) if fast else None
        self.window = hann2d(cfg.feat_sz_s, centered=True).to(self.device)
        self.debug = FrameDebug()
        self.keep_debug = False

    @torch.no_grad()
    def initialize(self, image: np.ndarray, box) -> None:
        box = [float(v) for v in box]
        if self.fast:
            self._seq = self.engine.start(image, box)
            self.z_patch, self.template, self.mask_z = self._seq.z_patch, self._seq.template, self._seq.mask
            self._templates = self.engine.batch_templates([self._seq])
        else:
            self.z_patch, self.template, self.mask_z = template_inputs(image, box, self.cfg, self.device)
        self.state = box

    @torch.no_grad()
    def track(self, image: np.ndarray) -> np.ndarray:
        if self.fast:
            return self._track_fast(image)
        H, W = image.shape[:2]
        x_patch, resize_factor, _ = sample_target(image, self.state, self.cfg.search_factor, self.cfg.search_size)
        search = normalize_patch(x_patch, self.device)
        out = self.model(self.template, search, ce_template_mask=self.mask_z)
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

    def _track_fast(self, image: np.ndarray) -> np.ndarray:
        self._seq.box = list(self.state)  # lets callers set ``state`` (teacher forcing) as on the faithful path
        self.engine.keep_debug = self.keep_debug
        box = self.engine.step([image], [self._seq], self._templates)[0]
        self.state = self._seq.box
        if self.keep_debug:
            last = self.engine.last
            self.debug = FrameDebug(last.resize_factors[0], np.asarray(last.patches[0]), {}, last.response,
                                    last.pred_boxes[0], last.boxes_before_clip[0])
        return box
