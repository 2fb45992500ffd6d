"""``ostrack-eval profile``: parameters, MACs and latency of an OSTrack tracker (paper Tables 3 / A4)."""

from __future__ import annotations

import argparse
import json

from ostrack_eval.errors import UserError
from ostrack_eval.profiling import DEFAULT_ITERS, DEFAULT_WARMUP
from ostrack_eval.cli.run_cmd import keep_ratio_arg
from ostrack_eval.trackers.spec import CE_TEMPLATES, TrackerSpec


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="parameters, MACs and latency of an OSTrack tracker",
                       description="Count parameters and MACs (paper/thop convention and full count) of one "
                                   "batch-1 forward and time the forward and a whole tracking step. Works "
                                   "without a checkpoint (random weights time the same work).")
    p.add_argument("--tracker", required=True, help="ostrack256, ostrack384 or a tracker YAML")
    p.add_argument("--checkpoint", default=None,
                   help="weights to time with (default: trackers/checkpoints/<preset>.pth.tar if present, "
                        "else random weights)")
    variant = p.add_mutually_exclusive_group()
    variant.add_argument("--no-ce", action="store_true", help="disable candidate elimination")
    variant.add_argument("--keep-ratio", type=keep_ratio_arg, default=None, metavar="R",
                         help="keep ratio of every CE block, or one per CE block (0.7,0.6,0.5); 0 < R <= 1")
    p.add_argument("--ce-template", choices=CE_TEMPLATES, default=None,
                   help="template tokens that rank the search tokens")
    p.add_argument("--name", default=None, help="run name shown in the output")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when present)")
    p.add_argument("--format", choices=("md", "json"), default="md", help="output format (default: md)")
    p.add_argument("--iters", type=int, default=DEFAULT_ITERS, help=f"timed iterations (default: {DEFAULT_ITERS})")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                   help=f"untimed warm-up iterations (default: {DEFAULT_WARMUP})")
    p.add_argument("--fast", action="store_true",
                   help="time the fast path (OSTrackTracker(fast=True): template embedded once, fused attention)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's own choice); recorded in the output")
    p.add_argument("--no-timing", action="store_true", help="only count parameters and MACs")
    p.set_defaults(func=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    from ostrack_eval.profiling.environment import resolve_device
    from ostrack_eval.profiling.report import profile_tracker
    from ostrack_eval.run.memory import retain_freed_memory

    if args.iters < 1 or args.warmup < 0:
        raise UserError(f"--iters must be >= 1 and --warmup >= 0, got {args.iters} and {args.warmup}")
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    retain_freed_memory()  # time the steps as `run` runs them
    spec = TrackerSpec(args.tracker, checkpoint=args.checkpoint, no_ce=args.no_ce, keep_ratio=args.keep_ratio,
                       ce_template=args.ce_template, name=args.name, fast=args.fast)
    report = profile_tracker(spec, resolve_device(args.device), timing=not args.no_timing, iters=args.iters,
                             warmup=args.warmup)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.as_markdown())
    return 0
