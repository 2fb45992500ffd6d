"""ostrack-tiny: the training pieces (loss, pairs, schedules, determinism) and the trained demo tracker."""

import math

import numpy as np
import pytest
import torch

from ostrack_eval.datasets.synth import generate_sequence
from ostrack_eval.trackers.config import get_preset
from ostrack_eval.trackers.factory import PACKAGED_CHECKPOINTS, default_checkpoint
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.training.evaluate import demo_auc, demo_test_sequences, heldout_test_sequences, mean_auc
from ostrack_eval.training.losses import focal_loss, gaussian_heatmap, gaussian_radius, giou, tracking_loss
from ostrack_eval.training.pairs import PairConfig, PairSampler, TrainSequence, jitter_box
from ostrack_eval.training.train import TrainConfig, keep_rate_at, new_model, save_checkpoint, train

TINY_CKPT = PACKAGED_CHECKPOINTS["ostrack-tiny"]

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
    cfg = TrainConfig(steps=300, ce_start=20 / 300, ce_warm=80 / 300)  # the official epochs 20 and 80 of 300
    rates = [keep_rate_at(s, 300, cfg, 0.7) for s in range(300)]
    assert rates[0] == rates[19] == 1.0
    assert rates[100] == rates[299] == 0.7
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert rates[60] == pytest.approx(0.85, abs=1e-9)  # cosine midpoint


def _small_source(index: int) -> TrainSequence:
    seq = generate_sequence(index, split="train", num_frames=6, size=(160, 120))
    return TrainSequence(list(seq.frames), seq.ground_truth, seq.visible)


def _losses(seed: int) -> list[float]:
    cfg = TrainConfig(seed=seed, steps=3, batch_size=4, pool_size=2, refresh_every=2, warmup_steps=1)
    result = train(get_preset("ostrack-tiny"), _small_source, cfg)
    return [h["loss"] for h in result.history]


def test_training_steps_are_deterministic():
    first = _losses(0)
    assert len(first) == 3 and all(math.isfinite(v) for v in first)
    assert _losses(0) == first  # bit-identical on CPU: same initialisation, pairs and updates
    assert _losses(1) != first


# ---- the shipped checkpoint ------------------------------------------------------------------------------


def test_packaged_checkpoint_is_official_format_with_plain_meta():
    assert default_checkpoint(TrackerSpec("ostrack-tiny")) == TINY_CKPT
    assert TINY_CKPT.stat().st_size < 8 * 2**20
    ckpt = torch.load(TINY_CKPT, map_location="cpu", weights_only=True)  # no pickled objects in it
    assert set(ckpt) == {"net", "meta"}
    model = new_model(get_preset("ostrack-tiny"), 0)
    assert set(ckpt["net"]) == set(model.state_dict())
    meta = ckpt["meta"]
    assert meta["model_config"] == get_preset("ostrack-tiny").to_dict()
    assert meta["steps"] > 0 and meta["seed"] == 0


@pytest.fixture(scope="module")
def demo_sequences():
    return demo_test_sequences()


@pytest.fixture(scope="module")
def scores(demo_sequences, tmp_path_factory):
    random_ckpt = tmp_path_factory.mktemp("random") / "random.pth.tar"
    save_checkpoint(random_ckpt, new_model(get_preset("ostrack-tiny"), 0).eval(), {"note": "untrained"})
    specs = {
        "tiny": TrackerSpec("ostrack-tiny"),
        "tiny_keep1": TrackerSpec("ostrack-tiny", keep_ratio=1.0),
        "identity": TrackerSpec("identity"),
        "random": TrackerSpec("ostrack-tiny", checkpoint=str(random_ckpt)),
    }
    return {k: mean_auc(demo_auc(spec, demo_sequences)) for k, spec in specs.items()}


# Demo success AUC of the shipped checkpoint (ostrack_eval/trackers/weights/README.md): ρ = 0.7 52.7,
# ρ = 1 56.7, identity 14.1. Tracking compounds rounding differences of another CPU/BLAS into different
# trajectories, so the floor sits well below, while still far above the baselines.
TINY_AUC_FLOOR = 45.0


def test_tiny_tracker_really_tracks(scores):
    assert scores["tiny"] >= TINY_AUC_FLOOR
    assert scores["tiny_keep1"] >= TINY_AUC_FLOOR
    assert scores["tiny"] > scores["identity"] + 25
    assert scores["tiny"] > scores["random"] + 25


HELDOUT = 32


@pytest.fixture(scope="module")
def keep_ratio_scores(demo_sequences):
    """Per-sequence AUC at ρ = 0.7 and ρ = 1 over the demo's 8 sequences and 32 held-out test-stream ones."""
    sequences = {**demo_sequences, **heldout_test_sequences(HELDOUT)}
    return {kr: demo_auc(TrackerSpec("ostrack-tiny", keep_ratio=kr), sequences) for kr in (0.7, 1.0)}


def test_candidate_elimination_keeps_the_accuracy(keep_ratio_scores):
    # One lost track moves a sequence's AUC by 30 points, so 8 sequences cannot resolve a one-point
    # difference (demo alone: ρ = 0.7 52.7 vs ρ = 1 56.7). Over 40 sequences, measured: ρ = 0.7 46.5,
    # ρ = 1 45.6 (paired difference +0.9 ± 1.9 s.e.): elimination costs no accuracy, as in the paper.
    ce, full = (np.array(list(keep_ratio_scores[kr].values())) for kr in (0.7, 1.0))
    assert len(ce) == len(full) == 8 + HELDOUT
    assert ce.mean() >= full.mean() - 1.0
