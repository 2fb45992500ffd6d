"""``ostrack-eval vis``: pictures of what the one-stream model sees on a stretch of a sequence."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.cli.run_cmd import keep_ratio_arg


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "vis", help="PNGs of tracker vs ground truth, eliminated tokens per CE stage, template attention",
        description="Track a sequence from its first frame and draw the chosen frames: the frame with the "
                    "ground truth (green) and tracker box (red); the search crop after each candidate-"
                    "elimination stage with the eliminated tokens greyed out (paper Fig. 5); the attention of "
                    "the template's centre token over the search region at chosen blocks, and the score map "
                    "(Fig. 4). Writes <out>/<sequence>/<frame>.png and <out>/<sequence>/summary.json (how "
                    "many target tokens each CE stage removed).")
    p.add_argument("--bench", required=True, help="benchmark name (e.g. demo)")
    p.add_argument("--tracker", required=True, help="OSTrack preset (ostrack-tiny, ostrack256, ...) or a YAML")
    p.add_argument("--sequence", help="sequence name (default: the first of the benchmark)")
    p.add_argument("--frames", metavar="A:B",
                   help="frame indices to draw, end exclusive (0 = initialisation frame; default 1:9)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--layers", metavar="I,J,...",
                   help="blocks (0-based) whose attention maps to draw (default: first, CE blocks, last)")
    p.add_argument("--checkpoint", help="weights file (default: the preset's default checkpoint)")
    p.add_argument("--no-ce", action="store_true", help="disable candidate elimination")
    p.add_argument("--keep-ratio", type=keep_ratio_arg, metavar="R[,R,...]",
                   help="CE keep ratio, 0 < R <= 1 (one, or one per CE layer)")
    p.add_argument("--ce-template", choices=("ctr_point", "all", "ctr_rec", "gt_box"),
                   help="template tokens that guide candidate elimination")
    p.add_argument("--root", type=Path, help="datasets folder (default $OSTRACK_EVAL_DATA, else ./datasets)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.set_defaults(func=handle)


def _layers(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        layers = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--layers must be comma-separated block indices, got {text!r}") from None
    if not layers:
        raise UserError("--layers: no block index given")
    return layers


def handle(args: argparse.Namespace) -> int:
    from ostrack_eval.datasets import get_benchmark
    from ostrack_eval.trackers.registry import TrackerSpec
    from ostrack_eval.vis.sequence import visualise

    spec = TrackerSpec(tracker=args.tracker, checkpoint=args.checkpoint, no_ce=args.no_ce,
                       keep_ratio=args.keep_ratio, ce_template=args.ce_template)
    layers = _layers(args.layers)
    benchmark = get_benchmark(args.bench, args.root)
    written = visualise(benchmark, args.sequence, spec, args.frames, args.out, layers, args.device)
    folder = written[0].parent
    print(f"wrote {len(written)} image(s) and summary.json to {folder}")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if "mean_target_kept_fraction" in summary:
        print(f"candidate elimination kept {100 * summary['mean_target_kept_fraction']:.0f}% of the target tokens "
              f"and {100 * summary['mean_background_kept_fraction']:.0f}% of the background tokens "
              f"(mean over {summary['frames_with_target']} frames with a ground-truth box)")
    return 0
