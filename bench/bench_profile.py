"""Faithful vs fast path latency of the OSTrack presets (batch 1), with their MAC counts.

    python bench/bench_profile.py [--device cuda] [--iters 50] [--warmup 10] [--presets ostrack256,ostrack384]

Prints one Markdown row per (preset, variant, path), then what was measured on. Random weights unless
trackers/checkpoints/ holds them. The defaults are those of ``ostrack-eval profile``.
"""

from __future__ import annotations

import argparse

from ostrack_eval.profiling import DEFAULT_ITERS, DEFAULT_WARMUP
from ostrack_eval.profiling.environment import resolve_device
from ostrack_eval.profiling.report import profile_tracker
from ostrack_eval.trackers.registry import TrackerSpec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--iters", type=int, default=DEFAULT_ITERS)
    ap.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    ap.add_argument("--presets", default="ostrack256,ostrack384")
    args = ap.parse_args()
    device = resolve_device(args.device)
    print("| run | MACs paper (G) | MACs full (G) | forward ms (p10–p90) | track step ms (p10–p90) | step FPS |")
    print("|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        for no_ce in (False, True):
            for fast in (False, True):
                rep = profile_tracker(TrackerSpec(preset, no_ce=no_ce, fast=fast), device, iters=args.iters,
                                      warmup=args.warmup)
                f, s = rep.timing.forward, rep.timing.track_step
                print(f"| {rep.spec.run_name()} | {rep.counts.macs_paper_g:.2f} | {rep.counts.macs_full_g:.2f} | "
                      f"{f.median:.1f} ({f.p10:.1f}–{f.p90:.1f}) | {s.median:.1f} ({s.p10:.1f}–{s.p90:.1f}) | "
                      f"{s.fps:.1f} |", flush=True)
    env = rep.environment
    cuda = f", CUDA {env['cuda']}, cuDNN {env['cudnn']}" if env["cudnn"] is not None else ""
    print(f"\n{env['device']} ({env['device_type']}, {env['threads']} threads), {env['dtype']}, "
          f"torch {env['torch']}{cuda}, Python {env['python']}, NumPy {env['numpy']}, "
          f"ostrack-eval {env['ostrack_eval']}; {args.iters} iterations after {args.warmup} warm-up")


if __name__ == "__main__":
    main()
