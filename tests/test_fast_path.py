"""The fast path (fused attention, work skipping, batched multi-sequence tracking, frame pipeline) against
the faithful one, with the small random model of fixtures/ostrack_reference.

Tolerances: both paths evaluate the same maths in fp32 with different kernels, so their outputs differ by
rounding only. As in test_model_forward, the bound is ``max(2e-5, 5 × |faithful fp32 − fp64|)`` per map
(this random model's sharp attention amplifies fp32 noise to ~1e-4 on the offset map; a real bug moves
outputs far beyond it), while token rankings and argmaxes must match exactly. Boxes tracked through the
fixture video: 5e-3 px, the bound test_tracker_loop uses for fp32 noise times crop sides of up to ~400 px
(fast vs faithful measured 1.3e-3 px; batched vs single ~5e-5 px).
"""

import collections
import copy
import hashlib
from dataclasses import dataclass, replace

import cv2
import numpy as np
import pytest
import torch

from conftest import REF, SMALL_CKPT, SMALL_YAML
from test_model_forward import CASES, INPUTS, SUMMARY, _forward
from ostrack_eval.errors import UserError
from ostrack_eval.trackers.batched import BatchedOSTrack
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import load_config
from ostrack_eval.trackers.crops import crop_cv2, crop_torch, normalize_batch
from ostrack_eval.trackers.engine import FastOptions
from ostrack_eval.trackers.ostrack_tracker import build_ostrack_tracker
from ostrack_eval.trackers import fast as fast_module
from ostrack_eval.trackers.fast import TemplateState, head_decode_fast
from ostrack_eval.trackers.gemm import PACK_MIN_ELEMENTS, GemmCache, backend_available
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.trackers.preprocess import normalize_patch, sample_target
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils.boxio import read_boxes
from ostrack_eval.utils.frames import FrameError, FramePipeline, read_rgb

GEMM_LINEAR = GemmCache._linear  # the real one, for spies that count its calls

VIDEO = REF / "synthetic_video"
PATHS = [VIDEO / "img" / f"{i:08d}.png" for i in range(1, 41)]
GT = read_boxes(VIDEO / "groundtruth.txt")
BOX_TOL_PX = 5e-3
KEYS = ("score_map", "size_map", "offset_map", "pred_boxes", "backbone_feat")


@pytest.fixture(scope="module")
def frames():
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in PATHS]


# the fast path's CPU attention: the flash kernel at every size, or one q·kᵀ, softmax, ·v at every size
# (which of them runs where depends on the CPU's ISA, so both are tested on any machine)
ATTENTION = {"flash": 0, "plain": 1 << 30}


@pytest.mark.parametrize("attention", ATTENTION)
@pytest.mark.parametrize("case", CASES)
def test_fast_forward_equals_faithful(case, attention, monkeypatch):
    """Every CE setting: ρ 1 / 0.7 / 0.5, CTR_POINT / ALL / CTR_REC / GT_BOX (3 pairs, 16/12/12 rows), no CE."""
    monkeypatch.setattr(fast_module, "_PLAIN_ATTENTION_BELOW", ATTENTION[attention])
    slow, _ = _forward(case)
    exact, _ = _forward(case, torch.float64)
    fast, _ = _forward(case, fast=True)
    for key in KEYS:
        noise = float((slow[key].double() - exact[key]).abs().max())
        diff = float((fast[key] - slow[key]).abs().max())
        assert diff <= max(2e-5, 5 * noise), (case, key, diff, noise)
    np.testing.assert_array_equal(fast["score_map"].flatten(1).argmax(1), slow["score_map"].flatten(1).argmax(1))
    assert [st.layer for st in fast["ce"]] == [st.layer for st in slow["ce"]]
    # the same tokens kept and removed; their ranking order may differ where two scores tie within fp32
    # rounding (ce07_all: two pairs 2e-7 apart trade places), which moves no output beyond rounding
    for a, b in zip(fast["ce"], slow["ce"]):
        assert torch.equal(a.kept_index.sort(1).values, b.kept_index.sort(1).values)
        assert (a.removed_index is None) == (b.removed_index is None)
        if a.removed_index is not None:
            assert torch.equal(a.removed_index.sort(1).values, b.removed_index.sort(1).values)
    # eliminated search positions are zero in the fast output too
    for st in fast["ce"]:
        if st.removed_index is not None:
            feat = fast["backbone_feat"][:, 64:]
            assert all(torch.all(feat[b, st.removed_index[b]] == 0) for b in range(3))


def test_fast_gt_box_rows_of_different_counts_batch_like_one_by_one():
    """Padded ranking rows (rank_valid) give each pair its own mean, as a batch of one does."""
    s = SUMMARY["ce07_gtbox"]
    cfg = replace(load_config(SMALL_YAML), ce_loc=tuple(s["ce_loc"]), ce_keep_ratio=tuple(s["ce_keep_ratio"]),
                  ce_template_range="GT_BOX")
    m = build_model(cfg)
    apply_state_dict(m, load_state_dict(SMALL_CKPT), "small")
    m.fast = True
    gt = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.45, 0.45, 0.1, 0.1], [0.0, 0.0, 1.0, 1.0]])
    mask = template_mask("GT_BOX", 128, 16, 3, gt)
    assert len(set(mask.sum(1).tolist())) == 3
    z, x = torch.from_numpy(INPUTS["template"]), torch.from_numpy(INPUTS["search"])
    with torch.no_grad():
        full = m(z, x, ce_template_mask=mask)
        state = TemplateState.cat([TemplateState.from_mask(m.backbone.embed_template(z[b:b + 1]), mask[b:b + 1])
                                   for b in range(3)])
        assert state.rank_valid is not None and state.rank_rows.shape == (3, int(mask.sum(1).max()))
        for b in range(3):
            one = m(z[b:b + 1], x[b:b + 1], ce_template_mask=mask[b:b + 1])
            np.testing.assert_allclose(one["pred_boxes"][0], full["pred_boxes"][b], atol=2e-5)
            for st_one, st_full in zip(one["ce"], full["ce"]):
                assert torch.equal(st_one.removed_index[0], st_full.removed_index[b])


def test_windowed_head_equals_full_head():
    """Size/offset read from a 9×9 window equal the full maps' values, argmax at corners, edges and inside."""
    torch.manual_seed(0)
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    head = tr.model.box_head
    cells = [(0, 0), (0, 15), (15, 0), (15, 15), (1, 2), (3, 3), (4, 4), (8, 12), (15, 7), (12, 14), (2, 13)]
    feat = torch.randn(len(cells), 64, 16, 16)
    window = torch.full((len(cells), 1, 16, 16), 1e-3)
    for b, (y, x) in enumerate(cells):
        window[b, 0, y, x] = 1.0
    with torch.no_grad():
        bbox, response = head_decode_fast(head, feat, window)
        score, size, offset = head.get_score_map(feat)
        expected, index = head.cal_bbox(window * score, size, offset, return_index=True)
    np.testing.assert_array_equal(index.numpy(), [y * 16 + x for y, x in cells])
    torch.testing.assert_close(response, window * score, rtol=0, atol=0)
    np.testing.assert_allclose(bbox.numpy(), expected.numpy(), rtol=0, atol=1e-5)


def test_fast_step_is_one_graph(monkeypatch):
    """No graph break (host sync, data-dependent branch) in the fast step: what CUDA graphs need."""
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), ce_template="gt_box"), "cpu")
    m = tr.model
    gt = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.45, 0.45, 0.1, 0.1]])
    mask = template_mask("GT_BOX", 128, 16, 2, gt)
    m.backbone.gemm.min_elements = 0  # pack this small model's weights too
    with torch.no_grad():
        state = TemplateState.from_mask(m.backbone.embed_template(torch.from_numpy(INPUTS["template"][:2])),
                                        mask).with_first_block(m.backbone)
    x = torch.from_numpy(INPUTS["search"][:2])
    compiled = torch.compile(m.track_step, backend="eager", fullgraph=True)
    calls = []
    monkeypatch.setattr(GemmCache, "_linear", lambda self, *a: calls.append(1) or GEMM_LINEAR(self, *a))
    with torch.no_grad():
        m.backbone.gemm.clear()
        a = compiled(x, state.tokens, tr.window, state.rank_rows, state.rank_valid, template_qkv=state.qkv0)
        # the traced step kept the backend's GEMMs (an opaque custom op calling the cache when it runs)
        assert calls or m.backbone.gemm.backend == "aten"
        monkeypatch.undo()
        b = m.track_step(x, state.tokens, tr.window, state.rank_rows, state.rank_valid, template_qkv=state.qkv0)
    assert torch.equal(a[0], b[0])


def test_first_block_template_qkv_cached_per_sequence():
    """The template rows' first-block q, k, v, computed once per sequence, give the step's outputs; the
    cache is really read (a wrong one changes them) and one made outside the step's autocast is ignored."""
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), ce_template="gt_box"), "cpu")
    m = tr.model
    gt = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.45, 0.45, 0.1, 0.1]])
    mask = template_mask("GT_BOX", 128, 16, 2, gt)
    x = torch.from_numpy(INPUTS["search"][:2])
    with torch.no_grad():
        state = TemplateState.from_mask(m.backbone.embed_template(torch.from_numpy(INPUTS["template"][:2])), mask)
        cached = state.with_first_block(m.backbone)
        assert cached.qkv0.shape == (2, 64, 3 * 64)

        def step(st):
            return m.track_step(x, st.tokens, tr.window, st.rank_rows, st.rank_valid, template_qkv=st.qkv0)

        plain, fast = step(state), step(cached)
        torch.testing.assert_close(fast[1], plain[1], rtol=0, atol=1e-5)
        torch.testing.assert_close(fast[0], plain[0], rtol=0, atol=1e-5)
        assert torch.equal(fast[1].flatten(1).argmax(1), plain[1].flatten(1).argmax(1))
        wrong = step(replace(cached, qkv0=torch.zeros_like(cached.qkv0)))
        assert not torch.allclose(wrong[1], plain[1], atol=1e-3)
        batched = TemplateState.cat([replace(cached, tokens=cached.tokens[i:i + 1], rank_rows=cached.rank_rows[i:i + 1],
                                             rank_valid=cached.rank_valid[i:i + 1], qkv0=cached.qkv0[i:i + 1])
                                     for i in range(2)])
        assert torch.equal(batched.qkv0, cached.qkv0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.equal(step(cached)[0], step(state)[0])  # fp32 cache, bf16 step: recomputed


def _track(tr, frames, init):
    tr.initialize(frames[0], init)
    return np.stack([np.asarray(init, dtype=np.float64)] + [tr.track(f) for f in frames[1:]])


@pytest.mark.parametrize("no_ce", [False, True])
def test_fast_tracker_follows_faithful_over_video(frames, no_ce):
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), no_ce=no_ce)
    slow = _track(build_ostrack_tracker(spec, "cpu"), frames[:25], GT[0])
    fast = _track(build_ostrack_tracker(replace(spec, fast=True), "cpu"), frames[:25], GT[0])
    np.testing.assert_allclose(fast, slow, atol=BOX_TOL_PX, rtol=0)


def test_fast_tracker_debug_crop_is_the_faithful_crop(frames):
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), fast=True), "cpu")
    tr.keep_debug = True
    tr.initialize(frames[0], GT[0])
    for f in frames[1:6]:
        state = list(tr.state)
        tr.track(f)
        patch, rf, _ = sample_target(f, state, 4.0, 256)
        assert hashlib.md5(tr.debug.search_patch.tobytes()).hexdigest() == hashlib.md5(patch.tobytes()).hexdigest()
        assert tr.debug.resize_factor == rf


@dataclass
class _Seq:
    name: str
    frames: object
    ground_truth: np.ndarray

    @property
    def init_box(self):
        return self.ground_truth[0]


def _sequences(spans):
    return [_Seq(f"s{k}_{a}_{b}", PATHS[a:b], GT[a:b]) for k, (a, b) in enumerate(spans)]


@pytest.fixture(scope="module")
def small_model():
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    return tr.model, tr.cfg


def test_batched_equals_sequential_with_sequences_joining_and_leaving(small_model, frames):
    model, cfg = small_model
    # lengths 20, 7, 2, 12, 1, 8, 9 at max_batch 3: slots free at different steps and refill at once
    seqs = _sequences([(0, 20), (5, 12), (18, 20), (8, 20), (3, 4), (30, 38), (21, 30)])
    single = OSTrackTracker(copy.deepcopy(model), cfg, "cpu", fast=True)
    expected = {s.name: _track(single, frames[int(s.name.split("_")[1]):int(s.name.split("_")[2])], s.init_box)
                for s in seqs}
    steps = []
    results = list(BatchedOSTrack(copy.deepcopy(model), cfg, "cpu", fast=True).run(
        seqs, max_batch=3, on_frames=steps.append))
    assert sorted(r.name for r in results) == sorted(expected)
    # each frame of each sequence is reported once (frame 0 at initialisation), at most 3 per step
    assert max(len(step) for step in steps) == 3
    assert collections.Counter(s.name for step in steps for s in step) == {s.name: len(s.frames) for s in seqs}
    # the 2-frame sequence finishes first, while the 40-frame one is still running
    order = [r.name for r in results]
    assert order.index("s2_18_20") < order.index("s0_0_20")
    for r in results:
        assert r.error is None
        assert r.boxes.shape == (len(expected[r.name]), 4) and r.times.shape == (len(expected[r.name]),)
        assert np.all(r.times > 0)
        np.testing.assert_allclose(r.boxes, expected[r.name], atol=BOX_TOL_PX, rtol=0)


def test_batched_gt_box_templates_of_different_row_counts(small_model, frames):
    """Sequences whose GT_BOX template masks have different sizes share a batch."""
    model, cfg = small_model
    cfg = replace(cfg, ce_template_range="GT_BOX")
    spans = [(0, 8), (6, 12), (12, 18)]
    # the template crop scales with sqrt(w·h): only the aspect ratio changes the mask's size
    seqs = [_Seq(f"g{a}", PATHS[a:b], GT[a:b] * [1, 1, s, 1 / s]) for (a, b), s in zip(spans, (1.0, 2.0, 0.6))]
    single = OSTrackTracker(copy.deepcopy(model), cfg, "cpu", fast=True)
    bt = BatchedOSTrack(copy.deepcopy(model), cfg, "cpu", fast=True)
    counts = {int(bt.engine.start(frames[a], s.init_box).mask.sum()) for (a, _), s in zip(spans, seqs)}
    assert len(counts) > 1
    for r in bt.run(seqs, max_batch=3):
        a, b = spans[[s.name for s in seqs].index(r.name)]
        init = seqs[[s.name for s in seqs].index(r.name)].init_box
        np.testing.assert_allclose(r.boxes, _track(single, frames[a:b], init), atol=BOX_TOL_PX, rtol=0)


def test_batched_faithful_mode_and_frame_arrays(small_model, frames):
    """fast=False stacks the faithful network; frames may be an iterable of arrays instead of paths."""
    model, cfg = small_model
    seqs = [_Seq("a", iter(frames[:10]), GT[:10]), _Seq("b", (f for f in frames[4:12]), GT[4:12])]
    slow = OSTrackTracker(copy.deepcopy(model), cfg, "cpu")
    got = {r.name: r.boxes for r in BatchedOSTrack(copy.deepcopy(model), cfg, "cpu", fast=False).run(seqs, 2)}
    np.testing.assert_allclose(got["a"], _track(slow, frames[:10], GT[0]), atol=BOX_TOL_PX, rtol=0)
    np.testing.assert_allclose(got["b"], _track(slow, frames[4:12], GT[4]), atol=BOX_TOL_PX, rtol=0)


def test_batched_unreadable_frame_fails_only_its_sequence(tmp_path):
    broken = PATHS[:5] + [tmp_path / "missing.png"] + PATHS[6:10]
    bad_init = GT[:5].copy()
    bad_init[0] = np.nan
    seqs = [_Seq("broken", broken, GT[:10]), _Seq("ok", PATHS[:8], GT[:8]), _Seq("nan", PATHS[:5], bad_init),
            _Seq("empty", [], GT[:1])]
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT), fast=True)
    results = {r.name: r for r in BatchedOSTrack.from_spec(spec, "cpu").run(seqs, max_batch=2)}
    assert "missing.png" in results["broken"].error and len(results["broken"].boxes) == 5
    assert results["ok"].error is None and len(results["ok"].boxes) == 8
    assert "not a finite" in results["nan"].error and len(results["nan"].boxes) == 0
    assert "no frames" in results["empty"].error


def test_batched_stop_request_ends_the_run(small_model):
    model, cfg = small_model
    steps = []
    results = list(BatchedOSTrack(model, cfg, "cpu").run(
        _sequences([(0, 12), (0, 10)]), max_batch=2, on_frames=steps.append, should_stop=lambda: len(steps) >= 3))
    assert results == [] and len(steps) == 3


def test_read_rgb_matches_opencv(tmp_path):
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 256, (72, 128, 3), dtype=np.uint8), (0, 0), 1.5)
    cv2.imwrite(str(tmp_path / "a.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    cv2.imwrite(str(tmp_path / "g.jpg"), img[..., 0])  # grayscale JPEG decodes to 3 equal channels
    for p in [tmp_path / "a.jpg", tmp_path / "g.jpg", PATHS[0]]:
        np.testing.assert_array_equal(read_rgb(p), cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(FrameError, match="bad.jpg: cannot decode"):
        read_rgb(tmp_path / "bad.jpg")
    with pytest.raises(FrameError, match="nope.jpg: frame file not found"):
        read_rgb(tmp_path / "nope.jpg")


def test_pipeline_yields_frames_in_order_and_errors_in_place(tmp_path, frames):
    with FramePipeline(workers=3, ahead=3) as pipe:
        for got, want in zip(pipe.open(PATHS[:12]), frames[:12], strict=True):
            np.testing.assert_array_equal(got, want)
        stream = pipe.open(PATHS[:2] + [tmp_path / "gone.png"] + PATHS[3:5])
        next(stream), next(stream)
        with pytest.raises(FrameError, match="gone.png"):
            next(stream)
        stream.close()
        with pytest.raises(StopIteration):
            next(stream)


def test_cv2_crop_is_the_faithful_crop(frames):
    img = frames[7]
    h, w = img.shape[:2]
    boxes = [GT[7], [0, 0, 40, 30], [w - 30, h - 25, 30, 25], [w / 2, h / 2, 5, 5], [-20, 100, 60, 400],
             [100.5, 50.5, 33.3, 17.7], [0, 0, w, h]]
    for box in boxes:
        patch, rf, _ = sample_target(img, box, 4.0, 256)
        ours, rf2 = crop_cv2(img, box, 4.0, 256)
        assert rf2 == rf and np.array_equal(ours, patch), box


def test_torch_crop_within_one_grey_level_of_cv2(frames):
    """F.interpolate's float weights vs OpenCV's 11-bit fixed point: at most 1 level apart, few pixels."""
    img = frames[7]
    t = torch.from_numpy(img)
    for box in [GT[7], [0, 0, 40, 30], [300, 200, 250, 200], [50, 60, 8, 6], [100.5, 50.5, 33.3, 17.7]]:
        patch, rf, _ = sample_target(img, box, 4.0, 256)
        ours, rf2 = crop_torch(t, box, 4.0, 256)
        diff = np.abs(ours.numpy().astype(int) - patch.astype(int))
        assert rf2 == rf and diff.max() <= 1 and (diff > 0).mean() < 0.2, (box, diff.max(), (diff > 0).mean())
    # a crop of exactly the output size is not resampled: identical bytes
    patch, _, _ = sample_target(img, [100, 100, 64, 64], 4.0, 256)
    assert np.array_equal(crop_torch(t, [100, 100, 64, 64], 4.0, 256)[0].numpy(), patch)


def test_normalize_batch_bit_identical(frames):
    patches = [sample_target(f, GT[i], 4.0, 256)[0] for i, f in enumerate(frames[:3])]
    batch = normalize_batch(torch.from_numpy(np.stack(patches)))
    for b, p in enumerate(patches):
        assert torch.equal(batch[b:b + 1], normalize_patch(p))


def test_fast_options_are_checked(small_model):
    model, cfg = small_model
    with pytest.raises(UserError, match="dtype"):
        FastOptions(dtype="fp8")
    with pytest.raises(UserError, match="compile"):
        FastOptions(compile="fastest")
    with pytest.raises(ValueError, match="fast=True"):
        OSTrackTracker(model, cfg, "cpu", fast=False, options=FastOptions(dtype="bf16"))


def test_bf16_autocast_is_applied(small_model, frames):
    """bf16 is an approximation (this random model amplifies it to pixels): it must run and take effect."""
    model, cfg = small_model
    fp32 = OSTrackTracker(copy.deepcopy(model), cfg, "cpu", fast=True)
    bf16 = OSTrackTracker(copy.deepcopy(model), cfg, "cpu", fast=True, options=FastOptions(dtype="bf16"))
    for tr in (fp32, bf16):
        tr.initialize(frames[0], GT[0])
    a, b = fp32.track(frames[1]), bf16.track(frames[1])
    assert np.all(np.isfinite(b)) and not np.allclose(a, b, atol=1e-3)
    # the per-sequence first-block cache is made in the steps' dtype, so the bf16 steps use it
    assert bf16._seq.tokens.qkv0.dtype == torch.bfloat16 and fp32._seq.tokens.qkv0.dtype == torch.float32


@pytest.mark.parametrize("backend", ["mkl", "onednn"])
def test_backend_gemms_equal_plain_and_follow_weight_changes(backend, monkeypatch):
    """The CPU fp32 GEMM backends against F.linear; MKL packs are remade when weights change."""
    if not backend_available(backend):
        pytest.skip(f"torch built without {backend}")
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    m = tr.model
    # this small model's weights are below the size real ones are handled from
    gemm = m.backbone.gemm = GemmCache(min_elements=0, backend=backend)
    calls = []
    monkeypatch.setattr(GemmCache, "_linear", lambda self, *a: calls.append(1) or GEMM_LINEAR(self, *a))
    z, x = torch.from_numpy(INPUTS["template"]), torch.from_numpy(INPUTS["search"])
    mask = template_mask("CTR_POINT", 128, 16, 3)
    state = TemplateState.from_mask(m.backbone.embed_template(z), mask)

    def step(enabled):
        gemm.enabled = enabled
        with torch.no_grad():
            return m.track_step(x, state.tokens, tr.window, state.rank_rows)

    plain, packed = step(False), step(True)
    assert calls and (len(gemm) > 0) == (backend == "mkl")
    # other kernels, other rounding: this model amplifies it to ~2e-5 (the bound the forward test derives
    # from fp64 is up to 1e-4 on these maps); the argmax cell must not move
    torch.testing.assert_close(packed[1], plain[1], rtol=0, atol=1e-4)
    torch.testing.assert_close(packed[0], plain[0], rtol=0, atol=1e-4)
    assert torch.equal(packed[1].flatten(1).argmax(1), plain[1].flatten(1).argmax(1))
    # weights changed in place (a new checkpoint loaded into the same model): packs must not go stale
    with torch.no_grad():
        for prm in m.parameters():
            prm.mul_(0.9)
    plain, packed = step(False), step(True)
    torch.testing.assert_close(packed[0], plain[0], rtol=0, atol=1e-4)
    assert len(copy.deepcopy(m).backbone.gemm) == 0
    # real-size threshold: this model's weights stay on F.linear
    gemm.min_elements = PACK_MIN_ELEMENTS
    gemm.clear()
    calls.clear()
    step(True)
    assert len(gemm) == 0 and not calls
