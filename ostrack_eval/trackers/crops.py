"""Search-region crops and input normalisation for the fast path, on the CPU (cv2) or on the model's device.

* :func:`crop_cv2` gives the same bytes as :func:`preprocess.sample_target`'s patch (the faithful default)
  without its unused attention mask, and without the padding copy when the square lies inside the frame.
* :func:`crop_torch` does the same integer crop and zero padding on a tensor (e.g. the frame already on
  the GPU) and resizes with ``F.interpolate`` (bilinear, half-pixel centres, no antialias: the
  ``INTER_LINEAR`` formula), rounding to integers as the uint8 output of cv2 does. OpenCV computes the
  weights in 11-bit fixed point, so some pixels differ by one grey level (see ``bench/bench_fast.py`` and
  the tests for the measured share); it is an option, never the default.
* :func:`normalize_batch` normalises a stack of uint8 patches with exactly the float32 operations of
  :func:`preprocess.normalize_patch`, so the network input is bit-identical; uploading uint8 moves a
  quarter of the bytes of float32.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ostrack_eval.trackers.preprocess import IMAGENET_MEAN, IMAGENET_STD, crop_geometry


def _crop_box(box, factor: float, hw: tuple[int, int]):
    side, x1, y1, x1p, x2p, y1p, y2p = crop_geometry(box, factor, hw)
    # the same slice expressions as sample_target, so even degenerate squares cut the same pixels
    return side, (slice(y1 + y1p, y1 + side - y2p), slice(x1 + x1p, x1 + side - x2p)), (y1p, y2p, x1p, x2p)


def crop_cv2(image: np.ndarray, box, factor: float, output_sz: int) -> tuple[np.ndarray, float]:
    """``(patch uint8 (S, S, 3), resize_factor)``, byte-identical to ``sample_target``'s."""
    side, (ys, xs), (y1p, y2p, x1p, x2p) = _crop_box(box, factor, image.shape[:2])
    crop = image[ys, xs]
    if y1p or y2p or x1p or x2p:
        crop = cv2.copyMakeBorder(crop, y1p, y2p, x1p, x2p, cv2.BORDER_CONSTANT)
    return cv2.resize(crop, (output_sz, output_sz)), output_sz / side


def crop_torch(image: torch.Tensor, box, factor: float, output_sz: int) -> tuple[torch.Tensor, float]:
    """``crop_cv2`` on an ``(H, W, 3)`` uint8 tensor, on its device: ``(patch uint8 (S, S, 3), resize_factor)``."""
    side, (ys, xs), (y1p, y2p, x1p, x2p) = _crop_box(box, factor, tuple(image.shape[:2]))
    crop = image[ys, xs].permute(2, 0, 1)[None].float()
    if y1p or y2p or x1p or x2p:
        crop = F.pad(crop, (x1p, x2p, y1p, y2p))
    out = F.interpolate(crop, size=(output_sz, output_sz), mode="bilinear", align_corners=False, antialias=False)
    return out[0].round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0), output_sz / side


def normalize_batch(patches: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` RGB → float32 ``(B, 3, H, W)``, ``(x/255 - mean) / std`` as ``normalize_patch``."""
    mean = torch.tensor(IMAGENET_MEAN, device=patches.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=patches.device).view(1, 3, 1, 1)
    return ((patches.permute(0, 3, 1, 2).float() / 255.0) - mean) / std
