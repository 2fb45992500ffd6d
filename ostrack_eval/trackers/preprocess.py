"""The official test-time geometry: crops, normalisation, Hann window, box mapping and clipping."""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def crop_geometry(box, factor: float, image_hw: tuple[int, int]):
    """Integer crop square and paddings exactly as ``sample_target`` computes them.

    Returns ``(side, x1, y1, x1_pad, x2_pad, y1_pad, y2_pad)``.
    """
    x, y, w, h = (float(v) for v in box)
    side = math.ceil(math.sqrt(w * h) * factor)
    if side < 1:
        raise ValueError("too small bounding box")
    # Python's round: half to even, as the official code
    x1 = round(x + 0.5 * w - side * 0.5)
    y1 = round(y + 0.5 * h - side * 0.5)
    x2, y2 = x1 + side, y1 + side
    H, W = image_hw
    # the "+ 1" pads one pixel more than needed and cuts the image's last column/row: official quirk
    return side, x1, y1, max(0, -x1), max(x2 - W + 1, 0), max(0, -y1), max(y2 - H + 1, 0)


def sample_target(image: np.ndarray, box, factor: float, output_sz: int | None):
    """Square crop of side ``ceil(sqrt(w·h)·factor)`` around the box centre, zero padded, resized.

    Returns ``(patch, resize_factor, att_mask)`` like the official function (``att_mask`` True on padding).
    """
    side, x1, y1, x1p, x2p, y1p, y2p = crop_geometry(box, factor, image.shape[:2])
    x2, y2 = x1 + side, y1 + side
    crop = image[y1 + y1p:y2 - y2p, x1 + x1p:x2 - x2p, :]
    padded = cv2.copyMakeBorder(crop, y1p, y2p, x1p, x2p, cv2.BORDER_CONSTANT)
    hh, ww = padded.shape[:2]
    att = np.ones((hh, ww))
    att[y1p:(-y2p or None), x1p:(-x2p or None)] = 0
    if output_sz is None:
        return padded, 1.0, att.astype(np.bool_)
    resize_factor = output_sz / side
    patch = cv2.resize(padded, (output_sz, output_sz))
    att = cv2.resize(att, (output_sz, output_sz)).astype(np.bool_)
    return patch, resize_factor, att


def normalize_patch(patch: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 HWC RGB → float32 1×3×H×W, ``(x/255 - mean) / std``."""
    t = torch.tensor(patch, device=device).float().permute(2, 0, 1).unsqueeze(0)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((t / 255.0) - mean) / std


def hann1d(sz: int, centered: bool = True) -> torch.Tensor:
    if centered:
        return 0.5 * (1 - torch.cos((2 * math.pi / (sz + 1)) * torch.arange(1, sz + 1).float()))
    w = 0.5 * (1 + torch.cos((2 * math.pi / (sz + 2)) * torch.arange(0, sz // 2 + 1).float()))
    return torch.cat([w, w[1:sz - sz // 2].flip((0,))])


def hann2d(sz: int, centered: bool = True) -> torch.Tensor:
    """``(1, 1, sz, sz)`` window that multiplies the score map at test time."""
    return hann1d(sz, centered).reshape(1, 1, -1, 1) * hann1d(sz, centered).reshape(1, 1, 1, -1)


def map_box_back(state, pred_box_cxcywh, resize_factor: float, search_size: int) -> list[float]:
    """Crop-pixel ``(cx, cy, w, h)`` → frame ``(x, y, w, h)`` relative to the previous state's centre."""
    cx_prev = state[0] + 0.5 * state[2]
    cy_prev = state[1] + 0.5 * state[3]
    cx, cy, w, h = pred_box_cxcywh
    half_side = 0.5 * search_size / resize_factor
    cx_real = cx + (cx_prev - half_side)
    cy_real = cy + (cy_prev - half_side)
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def clip_box(box, H: int, W: int, margin: int = 0) -> list[float]:
    x1, y1, w, h = box
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), W - margin)
    x2 = min(max(margin, x2), W)
    y1 = min(max(0, y1), H - margin)
    y2 = min(max(margin, y2), H)
    w = max(margin, x2 - x1)
    h = max(margin, y2 - y1)
    return [x1, y1, w, h]


def transform_image_to_crop(box_in: torch.Tensor, box_extract: torch.Tensor, resize_factor: float,
                            crop_sz: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """A frame box expressed in the crop taken around ``box_extract`` (used for the GT_BOX template mask)."""
    extract_center = box_extract[0:2] + 0.5 * box_extract[2:4]
    in_center = box_in[0:2] + 0.5 * box_in[2:4]
    out_center = (crop_sz - 1) / 2 + (in_center - extract_center) * resize_factor
    out_wh = box_in[2:4] * resize_factor
    out = torch.cat((out_center - 0.5 * out_wh, out_wh))
    return out / crop_sz[0] if normalize else out
