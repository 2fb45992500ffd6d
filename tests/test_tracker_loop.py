"""The tracking loop over fixtures/ostrack_reference/synthetic_video against the official tracker's run.

Geometry (crops, Hann weighting, decode, map back, clip) is checked exactly by feeding the official
network maps into our decoder; the whole pipeline (our network included) is checked against the official
per-frame boxes, teacher-forced and free-running. Search crops must be byte-identical every frame.
"""

import hashlib
import json

import cv2
import numpy as np
import pytest
import torch

from conftest import REF, SMALL_CKPT, SMALL_YAML
from ostrack_eval.trackers.ostrack_tracker import build_ostrack_tracker
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.trackers.preprocess import clip_box
from ostrack_eval.utils.boxio import read_boxes

# Our network differs from the official one by the fp32 rounding of another CPU's kernels, amplified
# through the blocks (see test_model_forward): ~5e-6 on normalised boxes, times crop sides of ~400 px.
# Measured teacher-forced on this AVX-512 CPU: 2.6e-3 px (CE) and 4.7e-3 px (no CE) at worst; with oneDNN
# pinned to the goldens' AVX2 kernels (ONEDNN_MAX_CPU_ISA=AVX2): 1.1e-3 and 1.7e-3 px. The decode itself,
# fed the official maps, is held to 1e-3 px (test_geometry_exact_with_official_maps).
PIPELINE_TOL_PX = 5e-3


@pytest.fixture(scope="module")
def frames():
    return [cv2.cvtColor(cv2.imread(str(REF / "synthetic_video" / "img" / f"{i:08d}.png")), cv2.COLOR_BGR2RGB)
            for i in range(1, 41)]


def _tracker(run: str):
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), no_ce=(run == "noce"))
    tr = build_ostrack_tracker(spec, "cpu")
    tr.keep_debug = True
    return tr


@pytest.mark.parametrize("run", ["ce", "noce"])
def test_geometry_exact_with_official_maps(run, frames):
    """Official maps in, our decode/map-back/clip out: within 1e-3 px of the official box every frame."""
    gold = json.loads((REF / f"tracker_{run}_teacher_forced.json").read_text())
    maps = np.load(REF / f"tracker_{run}_teacher_forced.npz")
    tr = _tracker(run)
    tr.initialize(frames[0], gold["init"]["init_bbox"])
    assert hashlib.md5(tr.z_patch.tobytes()).hexdigest() == gold["init"]["template_patch_md5"]
    for j, fr in enumerate(gold["frames"]):
        tr.state = list(fr["prev_state"])
        before = tr.decode(torch.from_numpy(maps["score_map"][j])[None, None],
                           torch.from_numpy(maps["size_map"][j])[None],
                           torch.from_numpy(maps["offset_map"][j])[None], fr["resize_factor"])
        np.testing.assert_allclose(tr._response[0, 0].numpy(), maps["response"][j], atol=1e-7)
        np.testing.assert_allclose(before, fr["box_before_clip_xywh"], atol=1e-3)
        img_h, img_w = frames[fr["frame"]].shape[:2]
        np.testing.assert_allclose(clip_box(before, img_h, img_w, 10), fr["output_box_xywh"], atol=1e-3)


@pytest.mark.parametrize("run", ["ce", "noce"])
def test_teacher_forced_pipeline(run, frames):
    gold = json.loads((REF / f"tracker_{run}_teacher_forced.json").read_text())
    maps = np.load(REF / f"tracker_{run}_teacher_forced.npz")
    tr = _tracker(run)
    tr.initialize(frames[0], gold["init"]["init_bbox"])
    for j, fr in enumerate(gold["frames"]):
        tr.state = list(fr["prev_state"])
        box = tr.track(frames[fr["frame"]])
        assert tr.debug.resize_factor == pytest.approx(fr["resize_factor"], abs=1e-12)
        assert hashlib.md5(tr.debug.search_patch.tobytes()).hexdigest() == fr["search_patch_md5"], fr["frame"]
        assert int(tr.debug.response.flatten().argmax()) == fr["argmax_index"], fr["frame"]
        np.testing.assert_allclose(box, fr["output_box_xywh"], atol=PIPELINE_TOL_PX)
        if run == "ce":
            for k, st in enumerate(tr.debug.out["ce"]):
                np.testing.assert_array_equal(np.sort(st.removed_index[0].numpy()),
                                              np.sort(maps[f"removed_index_ce{k}"][j].astype(np.int64)))


@pytest.mark.parametrize("run", ["ce", "noce"])
def test_free_running_whole_clip(run, frames):
    gold = json.loads((REF / f"tracker_{run}.json").read_text())
    official_file = read_boxes(REF / f"tracker_{run}_official_result_file.txt")
    tr = _tracker(run)
    tr.initialize(frames[0], gold["init"]["init_bbox"])
    boxes = [np.asarray(gold["init"]["init_bbox"], dtype=np.float64)]
    for fr in gold["frames"]:
        boxes.append(tr.track(frames[fr["frame"]]))
        np.testing.assert_allclose(boxes[-1], fr["output_box_xywh"], atol=PIPELINE_TOL_PX)
    boxes = np.stack(boxes)
    assert len(boxes) == 40
    # the official runner's file is the same boxes truncated to int: ours agree wherever
    # truncation is not within noise of an integer boundary
    trunc = boxes.astype(int)
    safe = np.abs(boxes - np.round(boxes)) > PIPELINE_TOL_PX
    np.testing.assert_array_equal(trunc[safe], official_file.astype(int)[safe])


def test_fast_path_tracks_the_same(frames):
    gold = json.loads((REF / "tracker_ce.json").read_text())
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), fast=True)
    tr = build_ostrack_tracker(spec, "cpu")
    tr.initialize(frames[0], gold["init"]["init_bbox"])
    for fr in gold["frames"]:
        np.testing.assert_allclose(tr.track(frames[fr["frame"]]), fr["output_box_xywh"], atol=PIPELINE_TOL_PX)
