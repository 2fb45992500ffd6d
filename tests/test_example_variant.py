"""The shipped example plug-in (examples/max_head_ce.py): an OSTrack variant made by overriding one method."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.config import get_preset
from ostrack_eval.trackers.registry import build_tracker
from ostrack_eval.trackers.spec import TrackerSpec
from ostrack_eval.training.evaluate import demo_auc, demo_test_sequences, mean_auc

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "max_head_ce.py"
VARIANT = f"{EXAMPLE}:MaxHeadOSTrack"


def _kept(model, fast: bool, seed: int = 0):
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2, 3, cfg.template_size, cfg.template_size, generator=g)
    x = torch.randn(2, 3, cfg.search_size, cfg.search_size, generator=g)
    mask = template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, 2)
    model.fast = fast
    with torch.no_grad():
        out = model(z, x, ce_template_mask=mask)
    return [st.kept_index.sort(dim=1)[0] for st in out["ce"]]


def test_the_variant_swaps_only_the_ranking_rule():
    variant = build_tracker(TrackerSpec(VARIANT), "cpu")
    official = build_tracker(TrackerSpec("ostrack-tiny"), "cpu")
    assert variant.cfg == official.cfg == get_preset("ostrack-tiny")  # same model and weights
    for a, b in zip(variant.model.state_dict().values(), official.model.state_dict().values()):
        assert torch.equal(a, b)
    probs = torch.rand(2, 4, 3, 10)
    assert torch.equal(variant.model.backbone.score_rule(probs, None), probs.mean(dim=2).amax(dim=1))
    # both model paths rank with it, and it ranks differently from the official mean over heads
    faithful, fast = _kept(variant.model, False), _kept(variant.model, True)
    assert all(torch.equal(a, b) for a, b in zip(faithful, fast))
    assert any(not torch.equal(a, b) for a, b in zip(faithful, _kept(official.model, False)))


@pytest.mark.slow
def test_the_variant_tracks_the_demo():
    # the whole demo (8 sequences, 600 frames), scored as `report` scores it; measured: see the README
    score = mean_auc(demo_auc(TrackerSpec(VARIANT), demo_test_sequences()))
    assert score >= 40.0
