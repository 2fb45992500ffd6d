"""Latency of the OSTrack network forward and of one whole tracking step, at batch 1.

The tracking step is ``OSTrackTracker.track`` on a 1280×720 frame: crop + resize, normalise, forward,
Hann-weighted decode, map back, clip. Its state is reset to the same box before every step, so each
step crops the same region whatever the (possibly random) weights predict.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.fast import TemplateState
from ostrack_eval.trackers.factory import checkpoint_path, config_for_spec, default_checkpoint
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.trackers.preprocess import normalize_patch, sample_target
from ostrack_eval.trackers.registry import TrackerSpec

FRAME_HW = (720, 1280)
INIT_BOX = (560.0, 300.0, 160.0, 120.0)  # x, y, w, h: a mid-sized target near the frame centre


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds per call over ``iters`` timed calls (warm-up excluded)."""

    median: float
    p10: float
    p90: float
    iters: int

    @property
    def fps(self) -> float:
        return 1000.0 / self.median if self.median > 0 else float("inf")

    def as_dict(self) -> dict:
        return {"median": self.median, "p10": self.p10, "p90": self.p90}


@dataclass(frozen=True)
class Timing:
    forward: LatencyStats
    track_step: LatencyStats
    weights: str  # the checkpoint file, or "random"
    dtype: torch.dtype


def measure(step: Callable[[], object], iters: int, warmup: int, sync: Callable[[], None],
            before: Callable[[], None] | None = None, desc: str = "") -> LatencyStats:
    """Time ``step()``; ``before()`` runs untimed ahead of every call, ``sync()`` waits for the device."""
    times = []
    bar = tqdm(total=warmup + iters, desc=desc, leave=False, disable=not sys.stderr.isatty())
    with bar, torch.no_grad():
        for i in range(warmup + iters):
            if before is not None:
                before()
            sync()
            start = time.perf_counter()
            step()
            sync()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000.0)
            bar.update()
    p10, median, p90 = np.percentile(np.asarray(times), [10, 50, 90])
    return LatencyStats(median=float(median), p10=float(p10), p90=float(p90), iters=iters)


def weights_file(spec: TrackerSpec) -> Path | None:
    """The checkpoint to time with: the one given (must exist), else the default one if present."""
    if spec.checkpoint:
        return checkpoint_path(spec)
    path = default_checkpoint(spec)
    return path if path.is_file() else None


def build_timing_tracker(spec: TrackerSpec, device: torch.device) -> tuple[OSTrackTracker, str]:
    """The tracker ``spec`` names, with its checkpoint when there is one, else seeded random weights.

    Weights change which tokens CE keeps, not how many, so random weights time the same work.
    """
    cfg = config_for_spec(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(cfg)
    path = weights_file(spec)
    if path is not None:
        apply_state_dict(model, load_state_dict(path), str(path))
    return OSTrackTracker(model, cfg, device=device, fast=spec.fast), str(path) if path else "random"


def network_call(tracker: OSTrackTracker, search: torch.Tensor) -> Callable[[], object]:
    """The network part of ``tracker.track`` on a normalised search crop, as that path calls it.

    Faithful: the full forward (template embedding included). Fast: ``OSTrack.track_step`` on the template
    embedded once, which also reads the Hann-weighted box off the head.
    """
    model = tracker.model
    if not tracker.fast:
        return lambda: model(tracker.template, search, ce_template_mask=tracker.mask_z)
    with torch.no_grad():
        bb = model.backbone
        state = TemplateState.from_mask(bb.embed_template(tracker.template), tracker.mask_z).with_first_block(bb)
    return lambda: model.track_step(search, state.tokens, tracker.window, state.rank_rows, state.rank_valid,
                                    template_qkv=state.qkv0)


def device_sync(device: torch.device) -> Callable[[], None]:
    """What waits for ``device`` to finish queued work: CUDA kernels run asynchronously, CPU ops do not."""
    if device.type == "cuda":
        return functools.partial(torch.cuda.synchronize, device)
    return lambda: None


def synthetic_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*FRAME_HW, 3), dtype=np.uint8)


def time_tracker(spec: TrackerSpec, device: torch.device, iters: int, warmup: int) -> Timing:
    tracker, weights = build_timing_tracker(spec, device)
    cfg = tracker.cfg
    frame = synthetic_frame()
    tracker.initialize(frame, INIT_BOX)
    sync = device_sync(device)

    patch, _, _ = sample_target(frame, list(INIT_BOX), cfg.search_factor, cfg.search_size)
    search = normalize_patch(patch, tracker.device)
    forward = network_call(tracker, search)

    def reset_state() -> None:
        tracker.state = list(INIT_BOX)

    fwd = measure(forward, iters, warmup, sync, desc="forward")
    step = measure(lambda: tracker.track(frame), iters, warmup, sync, before=reset_state, desc="track step")
    dtype = next(tracker.model.parameters()).dtype
    return Timing(forward=fwd, track_step=step, weights=weights, dtype=dtype)
