"""ostrack-tiny: the training pieces (loss, pairs, schedules, determinism) and the trained demo tracker."""

import math

import numpy as np
import pytest
import torch

from ostrack_eval.training.losses import focal_loss, gaussian_heatmap, gaussian_radius, giou, tracking_loss
from ostrack_eval.training.pairs import PairConfig, PairSampler, TrainSequence, jitter_box
from ostrack_eval.training.train import TrainConfig, keep_rate_at

# ---- training pieces -------------------------------------------------------------------------------------


def test_heatmap_peak_at_rounded_centre_cell():
    # box centre (0.53, 0.30) of a 16x16 map: cell (round(8.48), round(4.8)) = (8, 5)
    box = torch.tensor([[0.53 - 0.1, 0.30 - 0.05, 0.2, 0.1]])
    hm = gaussian_heatmap(box, 256, 16)[0, 0]
    assert hm.shape == (16, 16)
    assert (hm == 1).sum() == 1 and hm[5, 8] == 1
    # Gaussian: decreasing away from the peak, symmetric around it
    assert hm[5, 9] < 1 and hm[5, 9] == hm[5, 7] and hm[4, 8] == hm[6, 8]
    assert hm[5, 12] <= hm[5, 10]


def test_heatmap_radius_grows_with_box_and_centre_outside_gives_no_peak():
    small = gaussian_heatmap(torch.tensor([[0.45, 0.45, 0.1, 0.1]]), 256, 16)[0, 0]
    large = gaussian_heatmap(torch.tensor([[0.25, 0.25, 0.5, 0.5]]), 256, 16)[0, 0]
    assert (large > 0).sum() > (small > 0).sum()
    outside = gaussian_heatmap(torch.tensor([[1.2, 0.4, 0.2, 0.2]]), 256, 16)
    assert outside.sum() == 0


def test_gaussian_radius_matches_centernet_formula():
    # min_overlap 0.7, w = h = 10: the smallest root is r3 = (b3 + sqrt(b3² - 4 a3 c3)) / 2
    a3, b3, c3 = 4 * 0.7, -2 * 0.7 * 20, (0.7 - 1) * 100
    expected = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    assert float(gaussian_radius(torch.tensor([10.0, 10.0]))) == pytest.approx(expected, rel=1e-6)


def test_focal_loss_rewards_the_right_peak():
    target = gaussian_heatmap(torch.tensor([[0.4, 0.4, 0.2, 0.2]]), 256, 16)
    good = target.clamp(1e-4, 1 - 1e-4)
    wrong = torch.roll(good, shifts=(5, 5), dims=(2, 3))
    flat = torch.full_like(target, 0.1)
    assert focal_loss(good, target) < focal_loss(flat, target) < focal_loss(wrong, target)
    # one positive cell, everything else 0 target: the loss is the plain formula over all cells
    t = torch.zeros(1, 1, 2, 2)
    t[0, 0, 0, 0] = 1
    p = torch.tensor([[[[0.8, 0.3], [0.1, 0.2]]]])
    pos = math.log(0.8) * 0.2**2
    neg = sum(math.log(1 - q) * q**2 for q in (0.3, 0.1, 0.2))
    assert float(focal_loss(p, t)) == pytest.approx(-(pos + neg), rel=1e-5)


def test_giou_known_values():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 3.0, 3.0]])
    g, iou = giou(a, b)
    assert torch.allclose(iou, torch.tensor([1.0, 0.0, 1 / 7]))
    # hull areas 1, 3, 9; unions 1, 2, 7
    assert torch.allclose(g, torch.tensor([1.0, -1 / 3, 1 / 7 - 2 / 9]))


def test_tracking_loss_weights_and_perfect_box():
    gt = torch.tensor([[0.4, 0.3, 0.2, 0.25]])
    feat = 16
    target = gaussian_heatmap(gt, 256, 16)
    cx, cy = 0.5, 0.425
    out = {"score_map": target.clamp(1e-4, 1 - 1e-4),
           "pred_boxes": torch.tensor([[[cx, cy, 0.2, 0.25]]])}
    total, stats = tracking_loss(out, gt, 256, 16)
    assert stats["giou"] == pytest.approx(0.0, abs=1e-6) and stats["l1"] == pytest.approx(0.0, abs=1e-6)
    assert stats["iou"] == pytest.approx(1.0, abs=1e-6)
    shifted = {**out, "pred_boxes": torch.tensor([[[cx + 0.1, cy, 0.2, 0.25]]])}
    total2, s2 = tracking_loss(shifted, gt, 256, 16)
    assert float(total2) == pytest.approx(s2["focal"] + 2 * s2["giou"] + 5 * s2["l1"], rel=1e-6)
    assert s2["l1"] == pytest.approx(0.05, rel=1e-5)  # two of four coordinates off by 0.1
    assert feat == 256 // 16


def _square_sequence(n: int = 6, size: int = 40) -> TrainSequence:
    """A red square on a blue-to-green gradient, moving right; boxes are exact pixel edges."""
    frames, boxes = [], []
    for t in range(n):
        img = np.zeros((160, 240, 3), np.uint8)
        img[..., 2] = np.linspace(60, 200, 240, dtype=np.uint8)[None, :]
        img[..., 1] = np.linspace(200, 60, 160, dtype=np.uint8)[:, None]
        x, y = 60 + 10 * t, 50
        img[y:y + size, x:x + size] = (255, 0, 0)
        frames.append(img)
        boxes.append([x, y, size, size])
    return TrainSequence(frames, np.array(boxes, float), np.ones(n, bool))


def _red_fraction(patch: np.ndarray, box: np.ndarray) -> float:
    s = patch.shape[0]
    x0, y0, w, h = box * s
    x1, y1 = (np.clip([x0 + 2, y0 + 2], 0, s)).astype(int)
    x2, y2 = (np.clip([x0 + w - 2, y0 + h - 2], 0, s)).astype(int)
    inner = patch[y1:y2, x1:x2].reshape(-1, 3).astype(int)
    return float(((inner[:, 0] > 200) & (inner[:, 1] < 60) & (inner[:, 2] < 60)).mean())


@pytest.mark.parametrize("seed", range(6))
def test_pair_boxes_land_on_the_target_in_both_crops(seed):
    # every augmentation on (flips, jitter, grey off so the colour test stays meaningful)
    cfg = PairConfig(gray_prob=0.0, joint_flip_prob=0.5, crop_flip_prob=0.5, brightness_jitter=0.0)
    sampler = PairSampler(cfg, np.random.default_rng(seed))
    pair = sampler.sample(_square_sequence())
    assert pair.template.shape == (128, 128, 3) and pair.search.shape == (256, 256, 3)
    # template: no jitter -> the box is centred and half the crop wide (factor 2, square box)
    assert pair.template_box[2] == pytest.approx(0.5, abs=0.02)
    assert pair.template_box[0] + pair.template_box[2] / 2 == pytest.approx(0.5, abs=0.02)
    assert _red_fraction(pair.template, pair.template_box) > 0.95
    assert _red_fraction(pair.search, pair.search_box) > 0.95


def test_pair_sampling_is_causal_and_jitter_is_bounded():
    rng = np.random.default_rng(0)
    sampler = PairSampler(PairConfig(max_gap=2), rng)
    seq = _square_sequence(n=8)
    seq.visible[3] = False
    for _ in range(200):
        t, s = sampler.frame_ids(seq)
        assert t < s <= t + 2 and t != 3 and s != 3
    box = np.array([10.0, 20.0, 30.0, 40.0])
    jit = np.array([jitter_box(box, 3.0, 0.25, rng) for _ in range(2000)])
    centre_shift = (jit[:, :2] + jit[:, 2:] / 2) - (box[:2] + box[2:] / 2)
    bound = 1.5 * np.sqrt(jit[:, 2] * jit[:, 3])
    assert (np.abs(centre_shift) <= bound[:, None] + 1e-9).all()
    log_scale = np.log(jit[:, 2:] / box[2:])
    assert log_scale.std() == pytest.approx(0.25, rel=0.1)
    assert np.array_equal(jitter_box(box, 0.0, 0.0, rng), box)


def test_keep_rate_schedule_follows_the_official_shape():
    cfg = TrainConfig(steps=300)
    rates = [keep_rate_at(s, 300, cfg, 0.7) for s in range(300)]
    assert rates[0] == rates[19] == 1.0
    assert rates[100] == rates[299] == 0.7
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert rates[60] == pytest.approx(0.85, abs=1e-9)  # cosine midpoint
