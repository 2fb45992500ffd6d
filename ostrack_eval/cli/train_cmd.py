"""``ostrack-eval train-tiny``: train the small demo OSTrack from scratch on generated training sequences."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ostrack_eval.errors import UserError

DEFAULT_OUT = Path("trackers") / "checkpoints" / "ostrack-tiny.pth.tar"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train-tiny", help="train the small demo tracker ostrack-tiny on generated sequences (CPU, minutes)",
        description="Train ostrack-tiny (the OSTrack architecture, scaled down) from scratch on the TRAIN split "
                    "of the demo benchmark's sequence generator (never its test sequences). Seeded and "
                    "deterministic on CPU: the same --seed and --steps give the same checkpoint.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"checkpoint to write (default {DEFAULT_OUT})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisation and pair sampling (default 0)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps (default: those of the shipped checkpoint)")
    budget.add_argument("--minutes", type=float,
                        help="size the step budget to about this many minutes on this machine (the chosen "
                             "number of steps is printed and stored; pass it as --steps to reproduce the run)")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch (default 1: reproducible, and fastest when the machine is shared)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import torch

    from ostrack_eval.training.recipe import TINY_TRAIN, reproduce_command, train_tiny
    from ostrack_eval.training.train import save_checkpoint

    if args.out.exists() and not args.force:
        raise UserError(f"{args.out}: already exists (pass --force to overwrite)")
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}")
    if args.minutes is not None and not (args.minutes > 0 and math.isfinite(args.minutes)):  # NaN compares False
        raise UserError(f"--minutes must be a positive number, got {args.minutes}")
    if args.threads < 1:
        raise UserError(f"--threads must be at least 1, got {args.threads}")
    steps = args.steps if args.steps is not None else TINY_TRAIN.steps
    # process-wide, but this process does nothing else; the count is stored in the checkpoint's meta
    torch.set_num_threads(args.threads)
    result, meta = train_tiny(seed=args.seed, steps=steps, minutes=args.minutes,
                              log=lambda line: print(line, file=sys.stderr, flush=True))
    save_checkpoint(args.out, result.model, meta)
    print(f"wrote {args.out} ({result.steps} steps, {result.seconds / 60:.1f} min, "
          f"final loss {meta['final_loss']:.3f}, train IoU {meta['final_iou']:.3f})")
    print(f"reproduce: {reproduce_command(meta)}")
    print(f"evaluate:  ostrack-eval run --bench demo --tracker ostrack-tiny --checkpoint {args.out}")
    return 0
