"""Pure helpers of the tracking loop against the official functions' goldens (helpers.json/npz)."""

import json

import numpy as np
import pytest
import torch

from conftest import REF
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.preprocess import (clip_box, hann1d, hann2d, map_box_back, normalize_patch,
                                              sample_target, transform_image_to_crop)
from ostrack_eval.trackers.head import CenterPredictor

H = json.loads((REF / "helpers.json").read_text())
Z = np.load(REF / "helpers.npz")


@pytest.mark.parametrize("case", H["sample_target"]["cases"], ids=lambda c: c["name"])
def test_sample_target(case):
    img = Z["sample_target_image"]
    key = f"sample_target__{case['name']}"
    patch, rf, att = sample_target(img, case["box_xywh"], case["search_area_factor"], case["output_sz"])
    assert rf == pytest.approx(case["resize_factor"], abs=1e-12)
    np.testing.assert_array_equal(patch, Z[f"{key}__patch"])
    np.testing.assert_array_equal(att, Z[f"{key}__att_mask"])
    crop, _, att0 = sample_target(img, case["box_xywh"], case["search_area_factor"], None)
    np.testing.assert_array_equal(crop, Z[f"{key}__crop_unresized"])
    np.testing.assert_array_equal(att0, Z[f"{key}__att_mask_unresized"])


@pytest.mark.parametrize("sz", [16, 24, 8, 7])
def test_hann_window(sz):
    np.testing.assert_array_equal(hann1d(sz).numpy(), Z[f"hann1d_centered_{sz}"])
    np.testing.assert_array_equal(hann2d(sz).numpy(), Z[f"hann2d_centered_{sz}"])


@pytest.mark.parametrize("case", H["clip_box"])
def test_clip_box(case):
    assert clip_box(case["box"], case["H"], case["W"], case["margin"]) == pytest.approx(case["out"], abs=1e-9)


@pytest.mark.parametrize("case", H["map_box_back"])
def test_map_box_back(case):
    out = map_box_back(case["state"], case["pred_box_cxcywh"], case["resize_factor"], case["search_size"])
    assert out == pytest.approx(case["out_xywh"], abs=1e-9)


def test_cal_bbox():
    head = CenterPredictor(8, 16, 16)
    score, size, offset = (torch.from_numpy(Z[f"cal_bbox__{k}"]) for k in ("score_map", "size_map", "offset_map"))
    np.testing.assert_allclose(head.cal_bbox(score, size, offset).numpy(), Z["cal_bbox__bbox_no_hann"], atol=1e-7)
    np.testing.assert_allclose(head.cal_bbox(hann2d(16) * score, size, offset).numpy(),
                               Z["cal_bbox__bbox_with_hann"], atol=1e-7)


@pytest.mark.parametrize("case", H["generate_mask_cond"], ids=lambda c: f"{c['template_size']}-{c['range']}")
def test_template_masks(case):
    gt = None if case["gt_box_norm_xywh"] is None else torch.tensor([case["gt_box_norm_xywh"]])
    mask = template_mask(case["range"], case["template_size"], 16, 1, gt)
    if case["mask_is_none"]:
        assert mask is None
        return
    assert mask.nonzero()[:, 1].tolist() == case["true_flat_indices"]


@pytest.mark.parametrize("case", H["transform_image_to_crop"])
def test_transform_image_to_crop(case):
    out = transform_image_to_crop(torch.tensor(case["box_in"]), torch.tensor(case["box_extract"]),
                                  case["resize_factor"], torch.tensor([float(case["crop_sz"])] * 2), normalize=True)
    np.testing.assert_allclose(out.numpy(), case["out_norm_xywh"], atol=1e-6)


def test_preprocess_formula():
    np.testing.assert_array_equal(normalize_patch(Z["preprocess__input_patch"]).numpy(),
                                  Z["preprocess__output_tensor"])
