"""``ostrack-eval vis``: PNGs of a tracker on a stretch of one benchmark sequence, plus a JSON summary."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ostrack_eval.datasets.base import Benchmark
from ostrack_eval.errors import UserError
from ostrack_eval.run.frames import FrameError, FramePrefetcher
from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.trackers.registry import TrackerSpec, build_tracker
from ostrack_eval.utils.atomic import atomic_write_bytes, atomic_write_text
from ostrack_eval.vis.explain import elimination_summary, explain_frames
from ostrack_eval.vis.render import png_bytes, render


def parse_frames(text: str | None, num_frames: int) -> range:
    """``a:b`` (end exclusive), ``a:`` or ``a``; frame 0 is the initialisation frame and is never drawn."""
    default = range(1, min(num_frames, 9))
    if text is None:
        return default
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            start = int(a) if a else 1
            stop = int(b) if b else num_frames
        else:
            start = int(text)
            stop = start + 1
    except ValueError:
        raise UserError(f"--frames must look like a:b, a: or a (frame indices), got {text!r}") from None
    start = max(start, 1)
    stop = min(stop, num_frames)
    if start >= stop:
        raise UserError(f"--frames {text}: no frame to draw in a sequence of {num_frames} frames "
                        "(frame 0 initialises the tracker)")
    return range(start, stop)


def default_layers(depth: int, ce_loc: tuple[int, ...]) -> list[int]:
    """The first block, the CE blocks and the last block."""
    return sorted({0, *ce_loc, depth - 1})


def build_vis_tracker(spec: TrackerSpec, device: str | None) -> OSTrackTracker:
    # the faithful path: hooks read q, k of every block (the fast path skips work the pictures need)
    tracker = build_tracker(replace(spec, fast=False), device)
    if not isinstance(tracker, OSTrackTracker):
        raise UserError(f"vis needs an OSTrack tracker (a preset or tracker YAML), not {spec.tracker!r}")
    return tracker


def visualise(benchmark: Benchmark, sequence: str | None, spec: TrackerSpec, frames: str | None,
              out_dir: Path, layers: list[int] | None = None, device: str | None = "cpu") -> list[Path]:
    names = benchmark.sequence_names()
    if not names:
        raise UserError(f"benchmark {benchmark.name}: no sequences")
    name = sequence or names[0]
    if name not in names:
        raise UserError(f"benchmark {benchmark.name} has no sequence {name!r}")
    seq = benchmark.load(name)
    wanted = parse_frames(frames, seq.num_frames)
    tracker = build_vis_tracker(spec, device)
    cfg = tracker.cfg
    layers = default_layers(cfg.depth, cfg.ce_loc) if layers is None else layers
    bad = [i for i in layers if not 0 <= i < cfg.depth]
    if bad:
        raise UserError(f"--layers {bad}: the model has blocks 0..{cfg.depth - 1}")
    target = out_dir / name
    written: list[Path] = []
    summary = []
    bar = tqdm(total=len(wanted), desc=f"vis {name}", unit="frame", disable=None)
    try:
        with FramePrefetcher(seq.frames[:wanted.stop]) as images:
            for view in explain_frames(tracker, images, seq.ground_truth, wanted, layers):
                path = target / f"{view.index:06d}.png"
                atomic_write_bytes(path, png_bytes(render(view)))
                written.append(path)
                summary.append(elimination_summary(view))
                bar.update(1)
    except FrameError as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    doc = {"bench": benchmark.name, "sequence": name, "tracker": spec.run_name(), "layers": layers,
           **kept_means(summary), "frames": summary}
    atomic_write_text(target / "summary.json", json.dumps(doc, indent=1) + "\n")
    return written


def kept_means(frames: list[dict]) -> dict:
    """Mean share of target and of background tokens surviving every CE stage (frames with a GT box)."""
    rows = [f for f in frames if "target_kept_fraction" in f]
    if not rows:
        return {}
    return {"mean_target_kept_fraction": float(np.mean([f["target_kept_fraction"] for f in rows])),
            "mean_background_kept_fraction": float(np.mean([f["background_kept_fraction"] for f in rows])),
            "frames_with_target": len(rows)}
