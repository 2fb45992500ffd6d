"""``ostrack-eval vis``: attention read-out, CE stages on the token grid, PNG output and CLI errors."""

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import SMALL_CKPT, SMALL_YAML
from ostrack_eval.cli import vis_cmd
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.synth import generate_sequence
from ostrack_eval.errors import UserError
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.config import load_config
from ostrack_eval.trackers.ostrack_tracker import build_ostrack_tracker
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.vis.attention import AttentionRecorder, centre_template_index
from ostrack_eval.vis.sequence import parse_frames, visualise


class _Bench:
    """A one-sequence benchmark on disk (generated frames), enough for :func:`visualise`."""

    name = "fake"
    convention = "pytracking"

    def __init__(self, root: Path, num_frames: int = 6, demo_seed: int | None = None):
        self.root = root
        root.mkdir(parents=True)
        if demo_seed is None:
            gen = generate_sequence(3, split="train", num_frames=num_frames, size=(200, 150))
        else:  # a demo benchmark sequence (frames identical to the benchmark's)
            gen = generate_sequence(demo_seed, split="test")
        paths = []
        for i, frame in enumerate(gen.frames):
            path = root / f"{i:04d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            paths.append(path)
        self.seq = Sequence("seq", paths, gen.ground_truth, self.name, gen.visible)

    def sequence_names(self):
        return ["seq"]

    def load(self, name):
        return self.seq


def test_centre_token_matches_the_official_ctr_point_table():
    for feat in (7, 8, 12, 14):
        mask = template_mask("CTR_POINT", feat * 16, 16, 1)
        assert mask[0].nonzero().flatten().tolist() == [centre_template_index(feat)]


def test_recorded_attention_is_what_ce_ranked_with():
    """For CTR_POINT the CE score of a search token is the centre row's attention averaged over heads:
    the recorder's row in a CE block must equal it, token for token, and its map must put it back on the
    right grid cells."""
    cfg = load_config(SMALL_YAML)
    tracker = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    model = tracker.model
    torch.manual_seed(0)
    z = torch.randn(1, 3, cfg.template_size, cfg.template_size)
    x = torch.randn(1, 3, cfg.search_size, cfg.search_size)
    mask = template_mask("CTR_POINT", cfg.template_size, cfg.patch_size, 1)
    layers = list(range(cfg.depth))
    rec = AttentionRecorder(model, layers, centre_template_index(cfg.feat_sz_t))
    with torch.no_grad(), rec.recording():
        out = model(z, x, ce_template_mask=mask)
    nz, ns = cfg.num_template_tokens, cfg.num_search_tokens
    maps = rec.search_maps(out["ce"], nz, ns)
    assert len(out["ce"]) == len(cfg.ce_loc)
    entering = torch.arange(ns)
    for stage in out["ce"]:
        row = rec.rows[stage.layer][0, nz:]
        assert torch.allclose(row, stage.scores[0], atol=1e-6)
        assert np.allclose(maps[stage.layer][entering.numpy()], stage.scores[0].numpy(), atol=1e-6)
        assert np.isnan(maps[stage.layer]).sum() == ns - len(entering)
        entering = stage.kept_index[0]
    # rows are probability distributions over all keys
    for layer in layers:
        assert rec.rows[layer].sum().item() == pytest.approx(1.0, abs=1e-5)
    # hooks are gone after the context
    rec.rows.clear()
    with torch.no_grad():
        model(z, x, ce_template_mask=mask)
    assert rec.rows == {}


def test_visualise_writes_pngs_and_elimination_summary(tmp_path):
    bench = _Bench(tmp_path / "frames")
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT))
    written = visualise(bench, None, spec, "2:5", tmp_path / "out", layers=[0, 3])
    assert [p.name for p in written] == ["000002.png", "000003.png", "000004.png"]
    image = cv2.imread(str(written[0]))
    # two rows: frame + search crop + 3 CE stages (5 panels); 2 attention maps + score map (3 panels)
    assert image.shape[1] == 5 * 256 + 4 * 4
    assert image.shape[0] == 2 * (256 + 22) + 4
    summary = json.loads((tmp_path / "out" / "seq" / "summary.json").read_text())
    assert summary["layers"] == [0, 3] and len(summary["frames"]) == 3
    n = 256
    expected = []
    for _ in range(3):
        keep = math.ceil(0.7 * n)
        expected.append(n - keep)
        n = keep
    for frame in summary["frames"]:
        assert [s["removed"] for s in frame["stages"]] == expected
        assert [s["layer"] for s in frame["stages"]] == [1, 2, 3]
        assert 0.0 <= frame["target_kept_fraction"] <= 1.0


def test_parse_frames():
    assert parse_frames(None, 100) == range(1, 9)
    assert parse_frames("0:4", 100) == range(1, 4)  # frame 0 only initialises
    assert parse_frames("90:", 100) == range(90, 100)
    assert parse_frames("7", 100) == range(7, 8)
    for bad in ("x:y", "50:40", "200:"):
        with pytest.raises(UserError):
            parse_frames(bad, 100)


def _cli_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    vis_cmd.register(parser.add_subparsers())
    return parser.parse_args(["vis", *argv])


def test_cli_rejects_non_ostrack_trackers_and_bad_layers(tmp_path, monkeypatch):
    bench = _Bench(tmp_path / "frames", num_frames=3)
    monkeypatch.setattr("ostrack_eval.datasets.get_benchmark", lambda name, root=None: bench)
    args = _cli_args(["--bench", "fake", "--tracker", "identity", "--out", str(tmp_path / "o")])
    with pytest.raises(UserError, match="OSTrack tracker"):
        args.func(args)
    args = _cli_args(["--bench", "fake", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT),
                      "--layers", "0,9", "--out", str(tmp_path / "o")])
    with pytest.raises(UserError, match="blocks 0..3"):
        args.func(args)
    args = _cli_args(["--bench", "fake", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT),
                      "--sequence", "nope", "--out", str(tmp_path / "o")])
    with pytest.raises(UserError, match="no sequence 'nope'"):
        args.func(args)
    args = _cli_args(["--bench", "fake", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT),
                      "--frames", "1:3", "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    assert sorted(p.name for p in (tmp_path / "o" / "seq").iterdir()) == ["000001.png", "000002.png",
                                                                         "summary.json"]


def test_trained_tiny_model_eliminates_background_not_the_target(tmp_path):
    """Paper Fig. 5 on the shipped ostrack-tiny, on the 'fast-motion' demo sequence (tracked well): most
    target tokens survive the three CE stages while two thirds of the background is dropped. (Measured
    when the checkpoint was trained: 88 % of target tokens kept, 32 % of background tokens.)"""
    bench = _Bench(tmp_path / "frames", demo_seed=1)
    written = visualise(bench, None, TrackerSpec("ostrack-tiny"), "1:30", tmp_path / "out", layers=[3])
    assert len(written) == 29
    summary = json.loads((tmp_path / "out" / "seq" / "summary.json").read_text())
    assert summary["frames_with_target"] == 29
    assert summary["mean_target_kept_fraction"] > 0.75
    # ρ = 0.7 three times keeps ~35 % of all tokens; what the target keeps comes out of the background's share
    assert summary["mean_background_kept_fraction"] < 0.35
