"""Template/search training pairs, sampled and cropped the way the official OSTrack training does.

* frames: ``causal`` sampling — a visible template frame, then a visible search frame after it, at most
  ``max_gap`` frames later (``MAX_SAMPLE_INTERVAL``);
* joint augmentation of both frames: grayscale (p 0.05) and horizontal flip (p 0.5);
* jitter of the box the crop is taken around (``_get_jittered_box``): size × ``exp(N(0, 1) · scale_jitter)``,
  centre moved by up to ``± center_jitter / 2 · sqrt(w · h)`` of the jittered size; the template is not jittered
  (OSTrack-256: search centre 3, scale 0.25; template 0 / 0);
* crops with the test-time :func:`sample_target` (template factor 2, search factor 4); the target box is
  expressed in the crop, normalised to [0, 1];
* per-crop augmentation: brightness × U(0.8, 1.2) and an independent horizontal flip (p 0.5) of each crop.
A pair whose crop is entirely padding is rejected and re-drawn, as in the official sampler.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ostrack_eval.trackers.preprocess import IMAGENET_MEAN, IMAGENET_STD, sample_target


@dataclass(frozen=True)
class PairConfig:
    template_size: int = 128
    template_factor: float = 2.0
    search_size: int = 256
    search_factor: float = 4.0
    search_center_jitter: float = 3.0
    search_scale_jitter: float = 0.25
    template_center_jitter: float = 0.0
    template_scale_jitter: float = 0.0
    max_gap: int = 200
    gray_prob: float = 0.05
    joint_flip_prob: float = 0.5
    crop_flip_prob: float = 0.5
    brightness_jitter: float = 0.2


@dataclass
class TrainSequence:
    """A generated sequence held in memory: RGB uint8 frames, ``x, y, w, h`` boxes, visibility flags."""

    frames: list[np.ndarray]
    boxes: np.ndarray
    visible: np.ndarray

    def usable(self) -> np.ndarray:
        b = self.boxes
        return np.asarray(self.visible, bool) & np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)


@dataclass
class Pair:
    template: np.ndarray  # (Ht, Wt, 3) uint8
    search: np.ndarray  # (Hs, Ws, 3) uint8
    template_box: np.ndarray  # (4,) x, y, w, h normalised to the template crop
    search_box: np.ndarray  # (4,) normalised to the search crop
    template_brightness: float = 1.0
    search_brightness: float = 1.0


def jitter_box(box: np.ndarray, center_jitter: float, scale_jitter: float, rng: np.random.Generator) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    size = box[2:4] * np.exp(rng.standard_normal(2) * scale_jitter)
    max_offset = math.sqrt(size[0] * size[1]) * center_jitter
    centre = box[0:2] + 0.5 * box[2:4] + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([centre - 0.5 * size, size])


def box_in_crop(box: np.ndarray, crop_box: np.ndarray, resize_factor: float, crop_size: int) -> np.ndarray:
    """``box`` (frame pixels) in the crop taken around ``crop_box``, normalised by the crop size.

    Same formula as :func:`ostrack_eval.trackers.preprocess.transform_image_to_crop` (the official one).
    """
    crop_centre = crop_box[0:2] + 0.5 * crop_box[2:4]
    centre = box[0:2] + 0.5 * box[2:4]
    out_centre = (crop_size - 1) / 2 + (centre - crop_centre) * resize_factor
    wh = box[2:4] * resize_factor
    return np.concatenate([out_centre - 0.5 * wh, wh]) / crop_size


def _flip_frame(frame: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = frame.shape[1]
    return frame[:, ::-1], np.array([w - box[0] - box[2], box[1], box[2], box[3]])


def _gray(frame: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return np.repeat(g[:, :, None], 3, axis=2)


class PairSampler:
    """Draws :class:`Pair` s from in-memory sequences with one seeded ``numpy`` generator."""

    def __init__(self, cfg: PairConfig, rng: np.random.Generator):
        self.cfg = cfg
        self.rng = rng

    def frame_ids(self, seq: TrainSequence) -> tuple[int, int] | None:
        ok = np.flatnonzero(seq.usable())
        candidates = ok[ok < len(seq.frames) - 1]
        if candidates.size == 0:
            return None
        t = int(self.rng.choice(candidates))
        after = ok[(ok > t) & (ok <= t + self.cfg.max_gap)]
        if after.size == 0:
            return None
        return t, int(self.rng.choice(after))

    def _crop(self, frame: np.ndarray, box: np.ndarray, factor: float, size: int, center_jitter: float,
              scale_jitter: float) -> tuple[np.ndarray, np.ndarray] | None:
        jittered = jitter_box(box, center_jitter, scale_jitter, self.rng)
        if math.ceil(math.sqrt(max(jittered[2] * jittered[3], 0.0)) * factor) < 1:
            return None
        patch, resize_factor, att = sample_target(frame, jittered, factor, size)
        if att.all():  # crop lies entirely outside the image
            return None
        return patch, box_in_crop(box, jittered, resize_factor, size)

    def _crop_flip(self, patch: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.rng.random() < self.cfg.crop_flip_prob:
            return np.ascontiguousarray(patch[:, ::-1]), np.array([1 - box[0] - box[2], box[1], box[2], box[3]])
        return patch, box

    def _brightness(self) -> float:
        j = self.cfg.brightness_jitter
        return float(self.rng.uniform(max(0.0, 1 - j), 1 + j))

    def sample(self, seq: TrainSequence, max_tries: int = 10) -> Pair | None:
        cfg = self.cfg
        for _ in range(max_tries):
            ids = self.frame_ids(seq)
            if ids is None:
                return None
            (zf, zb), (xf, xb) = [(seq.frames[i], np.asarray(seq.boxes[i], np.float64)) for i in ids]
            if self.rng.random() < cfg.gray_prob:
                zf, xf = _gray(zf), _gray(xf)
            if self.rng.random() < cfg.joint_flip_prob:
                (zf, zb), (xf, xb) = _flip_frame(zf, zb), _flip_frame(xf, xb)
            z = self._crop(zf, zb, cfg.template_factor, cfg.template_size, cfg.template_center_jitter,
                           cfg.template_scale_jitter)
            x = self._crop(xf, xb, cfg.search_factor, cfg.search_size, cfg.search_center_jitter,
                           cfg.search_scale_jitter)
            if z is None or x is None:
                continue
            z, x = self._crop_flip(*z), self._crop_flip(*x)
            return Pair(z[0], x[0], z[1], x[1], self._brightness(), self._brightness())
        return None


def _to_tensor(patches: list[np.ndarray], brightness: list[float]) -> torch.Tensor:
    t = torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).float()
    scale = torch.tensor(brightness, dtype=torch.float32).view(-1, 1, 1, 1) / 255.0
    t = (t * scale).clamp(0.0, 1.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (t - mean) / std


@dataclass
class Batch:
    template: torch.Tensor  # (B, 3, Ht, Wt) normalised
    search: torch.Tensor  # (B, 3, Hs, Ws)
    template_box: torch.Tensor  # (B, 4) normalised x, y, w, h
    search_box: torch.Tensor  # (B, 4)


def collate(pairs: list[Pair]) -> Batch:
    return Batch(
        template=_to_tensor([p.template for p in pairs], [p.template_brightness for p in pairs]),
        search=_to_tensor([p.search for p in pairs], [p.search_brightness for p in pairs]),
        template_box=torch.tensor(np.stack([p.template_box for p in pairs]), dtype=torch.float32),
        search_box=torch.tensor(np.stack([p.search_box for p in pairs]), dtype=torch.float32),
    )
