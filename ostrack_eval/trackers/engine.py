"""One tracking step for a batch of sequences: crop, normalise, network, decode, map back, clip.

Shared by :class:`OSTrackTracker` (``fast=True``, a batch of one) and :class:`BatchedOSTrack`, so batched
and single tracking run the same code. Geometry and decoding are the faithful ones, sample by sample, in
the same float32 arithmetic as :meth:`OSTrackTracker.decode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.crops import crop_cv2, crop_torch, normalize_batch
from ostrack_eval.trackers.fast import TemplateState
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.trackers.preprocess import (clip_box, hann2d, map_box_back, normalize_patch, sample_target,
                                              transform_image_to_crop)
from ostrack_eval.trackers.spec import DTYPES, FastOptions

# autocast dtype of each of the spec's dtype names (fp32: no autocast)
AUTOCAST: dict[str, torch.dtype | None] = dict(zip(DTYPES, (None, torch.bfloat16, torch.float16)))


@dataclass
class SequenceState:
    """One sequence's tracking state: current box and template inputs."""

    box: list[float]
    z_patch: np.ndarray
    template: torch.Tensor  # (1, 3, T, T) normalised template image
    mask: torch.Tensor | None  # (1, Nz) CE template mask (None: every row, or no CE)
    tokens: TemplateState | None  # fast path: embedded template, ranking rows


@dataclass
class StepDebug:
    """What the last step computed, per sample (kept when ``keep_debug``)."""

    patches: list
    resize_factors: list[float]
    response: torch.Tensor
    pred_boxes: list[list[float]]
    boxes_before_clip: list[list[float]]


def template_inputs(image: np.ndarray, box: list[float], cfg: OSTrackConfig, device: torch.device):
    """Template crop, its normalised tensor and the CE template mask, as the official ``initialize``."""
    z_patch, resize_factor, _ = sample_target(image, box, cfg.template_factor, cfg.template_size)
    template = normalize_patch(z_patch, device)
    mask = None
    if cfg.ce_loc:
        crop_sz = torch.tensor([cfg.template_size, cfg.template_size], dtype=torch.float)
        b = torch.tensor(box)
        t_box = transform_image_to_crop(b, b, resize_factor, crop_sz, normalize=True).view(1, 4)
        mask = template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, 1, t_box.to(device),
                             device=device)
    return z_patch, template, mask


class TrackingEngine:
    """Batched steps with the fast network (``fast=True``) or the faithful one on stacked inputs."""

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device: torch.device, fast: bool = True,
                 options: FastOptions | None = None):
        self.cfg, self.device, self.fast = cfg, device, fast
        self.options = options or FastOptions()
        if not fast and self.options != FastOptions():
            raise UserError("fast-path options (dtype, compile, device crop) need the fast path")
        self.model = model.to(device).eval()
        self.model.fast = fast
        self.window = hann2d(cfg.feat_sz_s, centered=True).to(device)
        self._net = model.track_step
        if self.options.compile == "cudagraphs":
            self._net = torch.compile(model.track_step, backend="cudagraphs", fullgraph=True)
        elif self.options.compile:
            self._net = torch.compile(model.track_step, mode=self.options.compile, fullgraph=True)
        self._autocast = AUTOCAST[self.options.dtype]
        self.keep_debug = False
        self.last: StepDebug | None = None

    @torch.no_grad()
    def start(self, image: np.ndarray, box) -> SequenceState:
        box = [float(v) for v in box]
        z_patch, template, mask = template_inputs(image, box, self.cfg, self.device)
        tokens = None
        if self.fast:
            bb = self.model.backbone
            tokens = TemplateState.from_mask(bb.embed_template(template), mask)
            with self._autocast_context():  # the cached first-block values in the steps' dtype
                tokens = tokens.with_first_block(bb)
        return SequenceState(box, z_patch, template, mask, tokens)

    def _autocast_context(self):
        return torch.autocast(self.device.type, dtype=self._autocast, enabled=self._autocast is not None)

    def batch_templates(self, states: list[SequenceState]):
        """Stacked template inputs of ``states`` (reuse while the batch's membership is unchanged)."""
        if self.fast:
            return TemplateState.cat([s.tokens for s in states])
        masks = None if states[0].mask is None else torch.cat([s.mask for s in states])
        return torch.cat([s.template for s in states]), masks

    def _crop(self, image, box):
        cfg = self.cfg
        if self.options.device_crop:
            frame = torch.as_tensor(image).to(self.device)
            return crop_torch(frame, box, cfg.search_factor, cfg.search_size)
        return crop_cv2(image, box, cfg.search_factor, cfg.search_size)

    @torch.no_grad()
    def step(self, images: list[np.ndarray], states: list[SequenceState], templates=None) -> list[np.ndarray]:
        """Track one frame of each sequence; updates ``states[i].box`` and returns the new boxes (x, y, w, h)."""
        crops = [self._crop(img, st.box) for img, st in zip(images, states)]
        patches = [p for p, _ in crops]
        factors = [rf for _, rf in crops]
        if self.options.device_crop:
            batch = torch.stack(patches)
        else:
            batch = torch.from_numpy(np.stack(patches)).to(self.device)
        search = normalize_batch(batch)
        if templates is None:
            templates = self.batch_templates(states)
        with self._autocast_context():
            if self.fast:
                bbox, response = self._net(search, templates.tokens, self.window, templates.rank_rows,
                                           templates.rank_valid, template_qkv=templates.qkv0)
            else:
                template, mask = templates
                out = self.model(template, search, ce_template_mask=mask)
                response = self.window * out["score_map"]
                bbox = self.model.box_head.cal_bbox(response, out["size_map"], out["offset_map"])
        bbox = bbox.float().cpu()
        size = self.cfg.search_size
        boxes, preds, befores = [], [], []
        for b, (img, st) in enumerate(zip(images, states)):
            # float32 tensor arithmetic before .tolist(), as OSTrackTracker.decode
            pred_box = (bbox[b] * size / factors[b]).tolist()
            before = map_box_back(st.box, pred_box, factors[b], size)
            st.box = clip_box(before, img.shape[0], img.shape[1], margin=10)
            boxes.append(np.asarray(st.box, dtype=np.float64))
            preds.append(pred_box)
            befores.append(before)
        if self.keep_debug:
            self.last = StepDebug(patches, factors, response, preds, befores)
        return boxes
