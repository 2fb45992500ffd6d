"""``ostrack-eval profile``: parameter and MAC counts against the paper and the official manifests, and the CLI.

Full-size counts run on the meta device (shapes only), so the whole file stays fast; the small model's real
CPU forwards (real weights, real template masks) must give exactly the same counts.
"""

import json
import math
import platform
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import ostrack_eval
from conftest import REF, SMALL_CKPT, SMALL_YAML
from ostrack_eval.cli.main import main
from ostrack_eval.profiling import timing
from ostrack_eval.profiling.macs import (example_inputs, flop_counter_macs, full_macs, model_counts, module_macs,
                                         paper_macs)
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import get_preset, load_config
from ostrack_eval.trackers.gemm import default_backend
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.registry import TrackerSpec

# Paper (Table 3 / A4) GMACs, thop convention; the paper prints them with one decimal
PAPER_MACS = {("ostrack256", True): 29.0, ("ostrack256", False): 21.5,
              ("ostrack384", True): 65.3, ("ostrack384", False): 48.3}
PAPER_KEEP_SWEEP_256 = {1.0: 29.0, 0.9: 26.2, 0.8: 23.6, 0.7: 21.5, 0.6: 19.6, 0.5: 18.0}

# Full count (torch FLOP counter / 2) as computed here. For 256 without CE it is 30.91 G = patch embedding
# 0.189 + qkv/proj/MLP linears 27.179 + head convs 1.656 + the attention matmuls q·kᵀ and attn·v
# (12 blocks × 2 × 320² tokens × 768 = 1.887 G), i.e. the ≈30.9 G that torch's counter and fvcore give
# on the official model (spec/ostrack.md). The other three follow from the same terms with 384 crops and
# CE's token counts (checked term by term by test_counts_match_the_closed_form).
FULL_MACS = {("ostrack256", True): 30.911537152, ("ostrack256", False): 22.639694848,
             ("ostrack384", True): 74.859374592, ("ostrack384", False): 54.085375488}

MANIFESTS = {"ostrack256": "manifest_vitb_256_mae_ce_32x4_ep300.json",
             "ostrack384": "manifest_vitb_384_mae_ce_32x4_ep300.json"}
NOCE_MANIFESTS = {"ostrack256": "manifest_vitb_256_mae_32x4_ep300.json",
                  "ostrack384": "manifest_vitb_384_mae_32x4_ep300.json"}


def closed_form(cfg):
    """(paper, full) MACs of one forward, written out by hand from the architecture and thop's rules."""
    c, p, hidden = cfg.embed_dim, cfg.patch_size, int(cfg.embed_dim * cfg.mlp_ratio)
    nz, ns = cfg.num_template_tokens, cfg.num_search_tokens
    keep = dict(zip(cfg.ce_loc, cfg.ce_keep_ratio))
    linear = attn = norm = 0
    for i in range(cfg.depth):
        n = nz + ns
        linear += n * (3 * c * c + c * c)
        attn += 2 * n * n * c
        norm += 4 * n * c  # LayerNorm: 2 per element, doubled for the affine transform
        ns = math.ceil(keep.get(i, 1.0) * ns)  # CE acts between the attention and the MLP
        linear += (nz + ns) * 2 * c * hidden
        norm += 4 * (nz + ns) * c
    norm += 4 * (nz + ns) * c  # final LayerNorm
    patch = (nz + cfg.num_search_tokens) * c * 3 * p * p
    cells, ch = cfg.feat_sz_s ** 2, cfg.head_channels
    chans = [c, ch, ch // 2, ch // 4, ch // 8]
    head = 3 * sum(cells * cin * cout * 9 for cin, cout in zip(chans, chans[1:])) + cells * (ch // 8) * (1 + 2 + 2)
    batchnorm = 3 * sum(4 * cells * cout for cout in chans[1:])
    return linear + patch + head + norm + batchnorm, linear + patch + head + attn


def _cfg(preset: str, no_ce: bool = False, keep_ratio: float | None = None):
    return get_preset(preset).with_variant(no_ce=no_ce, keep_ratio=keep_ratio)


@pytest.mark.parametrize("preset", ["ostrack256", "ostrack384"])
@pytest.mark.parametrize("no_ce", [True, False])
def test_paper_macs_match_the_paper(preset, no_ce):
    spec = TrackerSpec(preset, no_ce=no_ce)
    got = paper_macs(spec)
    assert got == pytest.approx(PAPER_MACS[preset, no_ce], rel=0.005)
    assert full_macs(spec) == pytest.approx(FULL_MACS[preset, no_ce], rel=1e-9)


def test_thop_count_of_the_plain_256_model_is_29_05():
    # spec/ostrack.md: thop on the official model prints 29.05 G (the paper rounds it to 29.0)
    assert round(paper_macs(TrackerSpec("ostrack256", no_ce=True)), 2) == 29.05


@pytest.mark.parametrize("ratio", sorted(PAPER_KEEP_SWEEP_256))
def test_keep_ratio_sweep_matches_the_paper(ratio):
    got = paper_macs(TrackerSpec("ostrack256", keep_ratio=ratio))
    assert got == pytest.approx(PAPER_KEEP_SWEEP_256[ratio], rel=0.01)


def test_keep_ratio_one_costs_the_same_as_no_ce():
    assert model_counts(_cfg("ostrack256", keep_ratio=1.0)) == model_counts(_cfg("ostrack256", no_ce=True))


@pytest.mark.parametrize("cfg", [_cfg("ostrack256", True), _cfg("ostrack256"), _cfg("ostrack384", True),
                                 _cfg("ostrack384"), _cfg("ostrack256", keep_ratio=0.5),
                                 replace(load_config(SMALL_YAML), ce_keep_ratio=(0.5, 0.9, 0.3))],
                         ids=["256noce", "256", "384noce", "384", "256keep0.5", "small-mixed"])
def test_counts_match_the_closed_form(cfg):
    paper, full = closed_form(cfg)
    counts = model_counts(cfg)
    assert (counts.macs_paper, counts.macs_full) == (paper, full)


@pytest.mark.parametrize("preset", ["ostrack256", "ostrack384"])
def test_parameter_counts_equal_the_official_manifests(preset):
    for no_ce, manifests in ((False, MANIFESTS), (True, NOCE_MANIFESTS)):
        manifest = json.loads((REF / manifests[preset]).read_text())
        assert model_counts(_cfg(preset, no_ce)).params == manifest["n_parameters"]


@pytest.mark.parametrize("template_range,keep", [("CTR_POINT", 0.7), ("GT_BOX", 0.5), ("ALL", 0.7),
                                                 ("CTR_POINT", 1.0)])
def test_real_forward_counts_equal_the_meta_counts(template_range, keep):
    """Real weights and a real template mask pick other tokens, never another number of them."""
    cfg = replace(load_config(SMALL_YAML), ce_template_range=template_range,
                  ce_keep_ratio=(keep,) * len(load_config(SMALL_YAML).ce_loc))
    model = build_model(cfg)
    apply_state_dict(model, load_state_dict(SMALL_CKPT), "small")
    gen = torch.Generator().manual_seed(0)
    z, x = (torch.randn(t.shape, generator=gen) for t in example_inputs(cfg, "cpu"))
    mask = template_mask(template_range, cfg.template_size, cfg.patch_size, 1,
                         torch.tensor([[0.3, 0.25, 0.4, 0.5]]))
    counts = model_counts(cfg)
    assert module_macs(model, z, x, ce_template_mask=mask) == counts.macs_paper
    assert flop_counter_macs(model, z, x, ce_template_mask=mask) == counts.macs_full
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed after counting


def test_module_rules_follow_thop():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 4 * 4, 10), nn.GELU(), nn.LayerNorm(10, elementwise_affine=False))
    got = module_macs(model.eval(), torch.zeros(1, 3, 4, 4))
    conv = (8 * 4 * 4) * 3 * 9  # output elements × input channels × kernel area, bias not counted
    batchnorm = 2 * 2 * (8 * 4 * 4)  # affine: 4 per element
    linear = 10 * 128
    layernorm = 2 * 10  # not affine: 2 per element; ReLU and GELU count zero
    assert got == conv + batchnorm + linear + layernorm
    # the rules kept for modified models: thop's count_convNd, count_normalization and count_softmax
    other = nn.Sequential(nn.Conv1d(2, 4, 3), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Softmax(dim=1))
    conv1d = (4 * 3) * 2 * 3  # output (1, 4, 3)
    batchnorm1d = 2 * 2 * (4 * 3)
    softmax = 3 * (3 * 4 - 1)  # 3 rows of 4 features: exp + add + div, one add fewer than features
    assert module_macs(other.eval(), torch.zeros(1, 2, 5)) == conv1d + batchnorm1d + softmax


def _profile_json(capsys, *argv) -> dict:
    assert main(["profile", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_json_without_timing(capsys):
    out = _profile_json(capsys, "--tracker", "ostrack256", "--no-timing")
    for key in ("tracker", "run_name", "params", "macs_paper_g", "macs_full_g", "ce", "latency_ms", "fps",
                "device", "dtype", "torch", "cuda", "cudnn", "python", "numpy", "ostrack_eval", "threads"):
        assert key in out
    assert (out["python"], out["numpy"], out["ostrack_eval"]) == (platform.python_version(), np.__version__,
                                                                    ostrack_eval.__version__)
    assert out["cudnn"] == (torch.backends.cudnn.version() if out["device_type"].startswith("cuda") else None)
    assert out["tracker"] == "ostrack256" and out["run_name"] == "ostrack256"
    assert out["params"] == 92518533
    assert out["macs_paper_g"] == pytest.approx(21.5, rel=0.005)
    assert out["macs_full_g"] == pytest.approx(FULL_MACS["ostrack256", False])
    assert out["ce"] == {"loc": [3, 6, 9], "keep_ratio": [0.7, 0.7, 0.7], "template": "ctr_point"}
    assert out["latency_ms"] is None and out["fps"] is None
    assert out["dtype"] == "float32" and out["threads"] >= 1


def test_cli_variant_flags_reach_the_counts(capsys):
    out = _profile_json(capsys, "--tracker", "ostrack256", "--keep-ratio", "0.5", "--ce-template", "all",
                        "--no-timing")
    assert out["run_name"] == "ostrack256-keep0.5-all"
    assert out["ce"] == {"loc": [3, 6, 9], "keep_ratio": [0.5, 0.5, 0.5], "template": "all"}
    assert out["macs_paper_g"] == pytest.approx(18.0, rel=0.01)
    out = _profile_json(capsys, "--tracker", "ostrack256", "--no-ce", "--no-timing")
    assert out["ce"] == {"loc": [], "keep_ratio": [], "template": None}
    assert out["macs_paper_g"] == pytest.approx(29.05, abs=0.005)


@pytest.mark.parametrize("fast", [False, True])
def test_cli_quick_timing_on_the_small_model(capsys, fast):
    argv = ["--tracker", str(SMALL_YAML), "--device", "cpu", "--iters", "2", "--warmup", "1"]
    out = _profile_json(capsys, *argv, *(["--fast"] if fast else []))
    assert out["weights"] == "random"  # no checkpoint beside the YAML: random weights time the same work
    assert out["fast"] is fast and out["iters"] == 2 and out["warmup"] == 1
    for part in ("forward", "track_step"):
        assert out["latency_ms"][part]["p10"] > 0
    assert out["device_type"] == "cpu"
    # the fast path's CPU GEMM backend is part of what the figure was measured on
    assert out.get("cpu_gemm") == (default_backend() if fast else None)


class _FakeClock:
    """``perf_counter`` stand-in that only moves when the timed step says so, logging every reading."""

    def __init__(self, events: list[str]):
        self.now, self.events = 0.0, events

    def perf_counter(self) -> float:
        self.events.append("clock")
        return self.now


def test_measure_excludes_warmup_and_syncs_around_every_timed_call(monkeypatch):
    events: list[str] = []
    clock = _FakeClock(events)
    monkeypatch.setattr(timing, "time", clock)
    warmup = 3
    durations_ms = [900.0] * warmup + [5.0, 1.0, 4.0, 2.0, 3.0]  # the warm-up calls are the slow ones
    calls = iter(durations_ms)

    def step():
        events.append("step")
        clock.now += next(calls) / 1000.0

    stats = timing.measure(step, iters=5, warmup=warmup, sync=lambda: events.append("sync"),
                           before=lambda: events.append("before"))
    assert stats.iters == 5
    assert (stats.median, stats.p10, stats.p90) == pytest.approx((3.0, 1.4, 4.6))
    # each step: untimed set-up, then sync, start clock, step, sync, and (timed calls) the stop clock
    steps = [i for i, e in enumerate(events) if e == "step"]
    assert len(steps) == len(durations_ms) and events.count("sync") == 2 * len(durations_ms)
    for k, i in enumerate(steps):
        assert events[i - 3:i + 2] == ["before", "sync", "clock", "step", "sync"], (k, events)
        if k >= warmup:
            assert events[i + 2] == "clock", (k, events)


def test_timed_calls_run_in_eval_mode_without_grad_between_syncs(monkeypatch):
    """Both timed loops (network forward and tracking step) of both paths, on the small model."""
    events: list[object] = []
    monkeypatch.setattr(timing, "device_sync", lambda device: lambda: events.append("sync"))
    build = timing.build_timing_tracker

    def build_and_watch(spec, device):
        tracker, weights = build(spec, device)
        model = tracker.model

        def seen(module, inputs):
            # one entry per network call: anything in train mode (dropout, BatchNorm statistics) or autograd
            events.append(("call", any(m.training for m in model.modules()), torch.is_grad_enabled()))

        model.backbone.norm.register_forward_pre_hook(seen)  # the final norm: once per call, both paths
        return tracker, weights

    monkeypatch.setattr(timing, "build_timing_tracker", build_and_watch)
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT))
    for fast in (False, True):
        events.clear()
        result = timing.time_tracker(replace(spec, fast=fast), torch.device("cpu"), iters=2, warmup=1)
        assert result.forward.iters == result.track_step.iters == 2
        assert events == ["sync", ("call", False, False), "sync"] * (2 * 3), (fast, events)


def test_cli_no_timing_still_reports_the_checkpoint(capsys):
    out = _profile_json(capsys, "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT), "--no-timing")
    assert out["latency_ms"] is None and out["weights"] == str(SMALL_CKPT)
    assert main(["profile", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT), "--no-timing"]) == 0
    assert f"| weights | {SMALL_CKPT} |" in capsys.readouterr().out
    assert _profile_json(capsys, "--tracker", str(SMALL_YAML), "--no-timing")["weights"] is None


def test_cli_threads_flag_is_applied_and_recorded(capsys):
    before = torch.get_num_threads()
    try:
        out = _profile_json(capsys, "--tracker", str(SMALL_YAML), "--threads", "1", "--no-timing")
    finally:
        torch.set_num_threads(before)
    assert out["threads"] == 1


def test_cli_markdown_with_a_checkpoint(capsys):
    assert main(["profile", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT), "--device", "cpu",
                 "--iters", "2", "--warmup", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("| small_ce | |\n|---|---|\n")
    assert f"| weights | {SMALL_CKPT} |" in text
    assert "| forward (faithful) |" in text and "FPS" in text
    assert "MACs, paper convention" in text


@pytest.mark.parametrize("argv,needle", [
    (["--tracker", "identity"], "identity"),
    (["--tracker", "ostrack256", "--checkpoint", "nowhere.pth.tar"], "nowhere.pth.tar"),
    (["--tracker", "ostrack256", "--keep-ratio", "1.5"], "--keep-ratio"),
    (["--tracker", "missing.yaml"], "missing.yaml"),
    (["--tracker", "ostrack256", "--iters", "0"], "--iters"),
    (["--tracker", "ostrack256", "--device", "tpu"], "--device"),
    (["--tracker", "ostrack256", "--threads", "0"], "--threads"),
])
def test_cli_bad_input_is_one_line_exit_2(capsys, argv, needle):
    assert main(["profile", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ostrack-eval: error:") and needle in err and err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_cuda_without_a_gpu_is_a_user_error(capsys):
    assert main(["profile", "--tracker", "ostrack256", "--device", "cuda", "--no-timing"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
