"""``ostrack-eval run``: track a benchmark and write pytracking-layout results (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.spec import DTYPES, parse_keep_ratio, parse_option


def keep_ratio_arg(text: str):
    """``--keep-ratio`` for argparse (a bad value is argparse's one-line usage error)."""
    try:
        return parse_keep_ratio(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="run a tracker over a benchmark (resumable, parallel)",
        description="Track every sequence of a benchmark; results go to <results>/<run name>/<bench>/<seq>.txt "
                    "(+ _time.txt) and <results>/<run name>/run.json. Finished sequences are skipped, so an "
                    "interrupted run continues where it stopped.")
    p.add_argument("--bench", required=True, help="benchmark: lasot, lasot_ext, trackingnet, got10k, got10k_val, "
                                                  "nfs, uav123, tnl2k, itb, demo")
    p.add_argument("--tracker", required=True,
                   help="preset (ostrack256, ostrack384, ostrack-tiny, identity), an installed plug-in's name, a "
                        "tracker YAML, or a plug-in class: package.module:Class or path/to/file.py:Class")
    p.add_argument("--tracker-opt", action="append", default=[], metavar="KEY=VALUE|FILE.yaml",
                   help="an option for the tracker's factory (the value read as a YAML scalar), or a YAML file "
                        "of them; repeatable")
    p.add_argument("--checkpoint", help="weights file (default: trackers/checkpoints/<preset>.pth.tar)")
    p.add_argument("--no-ce", action="store_true", help="disable candidate elimination")
    p.add_argument("--keep-ratio", type=keep_ratio_arg, metavar="R[,R,...]",
                   help="CE keep ratio, 0 < R <= 1 (1 = no elimination): one for every CE layer, or one per CE "
                        "layer (0.7,0.6,0.5)")
    p.add_argument("--ce-template", choices=("ctr_point", "all", "ctr_rec", "gt_box"),
                   help="template tokens that guide candidate elimination")
    p.add_argument("--fast", action="store_true",
                   help="the fast path: fused attention, template embedded once, only the work the boxes need")
    p.add_argument("--batch", type=int, default=1, metavar="B",
                   help="track B sequences in lockstep per worker, one forward pass per step (OSTrack "
                        "trackers; same boxes as one at a time, within float rounding; default 1)")
    p.add_argument("--dtype", choices=DTYPES, default="fp32",
                   help="fast path: run the network under autocast (GPU; changes the boxes slightly)")
    p.add_argument("--compile", metavar="MODE", help="fast path: torch.compile the tracking step (default, "
                                                     "reduce-overhead, max-autotune, cudagraphs, ...)")
    p.add_argument("--device-crop", action="store_true",
                   help="fast path: crop and resize on the model's device (pixels may differ from OpenCV's "
                        "by one grey level)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when available)")
    p.add_argument("--sequences", metavar="A,B,...",
                   help="only these sequences (names starting with '-' need --sequences=-name)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes; CUDA devices are dealt round-robin (default 1); with --executor ray "
                        "the number of actors (default: one per GPU of the cluster, else per --cpus-per-actor)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: worker processes on this machine (default); ray: actors on a Ray cluster, "
                        "dynamically scheduled, restarted when they die (pip install 'ostrack-eval[ray]')")
    p.add_argument("--ray-address", metavar="auto|HOST:PORT",
                   help="the Ray cluster to join (default: $RAY_ADDRESS, else a local Ray instance)")
    p.add_argument("--cpus-per-actor", type=int, metavar="K",
                   help="Ray actors on CPU-only clusters: CPUs each reserves, and its torch threads (default 1)")
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N of the benchmark (by sorted sequence "
                                                  "name; --sequences then narrows it), e.g. for a SLURM array "
                                                  "sharing one results folder")
    p.add_argument("--name", help="run name = results sub-folder (default: preset plus variant)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default ./results)")
    p.add_argument("--root", type=Path, help="datasets folder (default $OSTRACK_EVAL_DATA, else ./datasets)")
    p.add_argument("--runs", type=int, metavar="N",
                   help="GOT-10k protocol: N repetitions in <bench>/<seq>/<seq>_00K.txt")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing sequence")
    p.set_defaults(func=handle)


def tracker_options(texts: list[str]) -> dict:
    """The ``--tracker-opt`` values, later ones overriding earlier ones."""
    options: dict = {}
    for text in texts:
        options.update(parse_option(text))
    return options


def spec_from_args(args: argparse.Namespace):
    from ostrack_eval.trackers.spec import TrackerSpec

    return TrackerSpec(tracker=args.tracker, checkpoint=args.checkpoint, no_ce=args.no_ce,
                       keep_ratio=args.keep_ratio, ce_template=args.ce_template, name=args.name, fast=args.fast,
                       dtype=args.dtype, compile=args.compile, device_crop=args.device_crop,
                       options=tracker_options(args.tracker_opt))


def ray_settings_from_args(args: argparse.Namespace):
    from ostrack_eval.errors import UserError
    from ostrack_eval.run.ray_executor import RaySettings

    if args.executor != "ray":
        for flag, value in (("--ray-address", args.ray_address), ("--cpus-per-actor", args.cpus_per_actor)):
            if value is not None:
                raise UserError(f"{flag} needs --executor ray")
        return None
    return RaySettings(address=args.ray_address, actors=args.workers, cpus_per_actor=1 if args.cpus_per_actor is None else args.cpus_per_actor)


def options_from_args(args: argparse.Namespace):
    from ostrack_eval.run.plan import parse_sequence_list, parse_shard
    from ostrack_eval.run.runner import RunOptions

    return RunOptions(
        results=args.results, device=args.device,
        sequences=parse_sequence_list(args.sequences) if args.sequences is not None else None,
        workers=args.workers if args.workers is not None else 1,
        shard=parse_shard(args.shard) if args.shard is not None else None,
        runs=args.runs, batch=args.batch, ray=ray_settings_from_args(args), fail_fast=args.fail_fast)


def handle(args: argparse.Namespace) -> int:
    from ostrack_eval.datasets import get_benchmark
    from ostrack_eval.run.runner import run_benchmark

    spec = spec_from_args(args)
    options = options_from_args(args)
    benchmark = get_benchmark(args.bench, args.root)
    summary = run_benchmark(benchmark, spec, options)
    for line in summary.lines():
        print(line)
    return summary.exit_code
