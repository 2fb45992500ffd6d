"""``ostrack-eval pack``: results -> GOT-10k / TrackingNet server zip, and ``--check`` for any zip."""

from __future__ import annotations

import argparse
import sys

from ostrack_eval.errors import UserError
from ostrack_eval.pack.formats import SERVER_FORMATS
from ostrack_eval.pack.frames import rows_checked


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pack", help="pack results into a GOT-10k / TrackingNet server zip, or --check a zip",
                       description="Pack <results>/<NAME>/<bench>/ into the zip the evaluation server takes "
                                   "(raw results are only read), or validate any zip with --check.")
    p.add_argument("--bench", required=True, choices=sorted(SERVER_FORMATS), help="evaluation server")
    p.add_argument("--tracker", metavar="NAME", help="run name (the results sub-folder) to pack")
    p.add_argument("--out", metavar="FILE.zip", help="zip to write (written atomically)")
    p.add_argument("--check", metavar="FILE.zip", help="validate this zip instead of packing; exit 1 on problems")
    p.add_argument("--results", default="results", help="results folder (default: ./results)")
    p.add_argument("--root", default=None,
                   help="dataset root for the one-row-per-frame check (default: $OSTRACK_EVAL_DATA or ./datasets "
                        "when present)")
    p.add_argument("--int", dest="int_mode", action="store_true",
                   help="boxes as integers truncated toward zero, as OSTrack's submissions (the default)")
    p.add_argument("--full-precision", action="store_true",
                   help="write the boxes as stored (4 decimals) instead of truncating them")
    p.add_argument("--sequences", metavar="A,B,…", default=None,
                   help="only these sequences of the official list (for tests; the server needs all); "
                        "write --sequences=NAME for names starting with '-'")
    p.set_defaults(func=run_pack)


def _names(arg: str | None) -> list[str] | None:
    return None if arg is None else [n.strip() for n in arg.split(",") if n.strip()]


def run_pack(args: argparse.Namespace) -> int:
    if args.check:
        if args.tracker or args.out or args.int_mode or args.full_precision:
            raise UserError("--check validates a zip; it does not take --tracker, --out, --int or --full-precision")
        return _check(args)
    if not args.tracker or not args.out:
        raise UserError("pack needs --tracker NAME and --out FILE.zip (or --check FILE.zip)")
    if args.int_mode and args.full_precision:
        raise UserError("--int and --full-precision contradict each other")
    from ostrack_eval.pack.packer import pack_submission

    # integers by default: the published GOT-10k / TrackingNet numbers came from OSTrack's integer files,
    # and report scores these benches that way by default too
    int_mode = not args.full_precision
    summary = pack_submission(args.results, args.tracker, args.bench, args.out, int_mode=int_mode,
                              root=args.root, names=_names(args.sequences))
    for warning in summary.warnings:
        print(f"ostrack-eval: warning: {warning}", file=sys.stderr)
    reps = f", {summary.repetitions} repetitions" if summary.repetitions > 1 else ""
    print(f"{summary.out}: {summary.sequences} {summary.bench} sequences{reps}, "
          f"{'integer' if int_mode else 'float'} boxes; {rows_checked(summary.frames)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ostrack_eval.pack.check import check_submission

    report = check_submission(args.check, args.bench, root=args.root, names=_names(args.sequences))
    rows = rows_checked(report.frames)
    for problem in report.problems:
        print(problem)
    for note in report.notes:
        print(f"note: {note}")
    if report.problems:
        print(f"{report.path}: {len(report.problems)} problem(s) for the {report.bench} server; {rows}")
        return 1
    reps = f", {report.repetitions} repetitions" if report.repetitions > 1 else ""
    print(f"{report.path}: OK — {report.found} {report.bench} sequences{reps}; {rows}")
    return 0
