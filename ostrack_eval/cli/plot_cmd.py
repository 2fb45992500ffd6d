"""``ostrack-eval plot``: success, precision and normalised-precision plots (PNG and PDF)."""

from __future__ import annotations

import argparse

from ostrack_eval.cli.report_cmd import add_common_arguments, check_benches, parse_sequences
from ostrack_eval.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="success / precision / normalised precision plots",
                       description="Plot the curves of stored results in the pytracking style: legend "
                                   "'[score] name', best first. Writes <out>/<bench>_<curve>.png and .pdf.")
    add_common_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the plot files")
    p.add_argument("--formats", default="png,pdf", help="comma list of png, pdf (default: both)")
    p.set_defaults(func=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    from ostrack_eval.reports.pipeline import evaluate_runs
    from ostrack_eval.reports.plots import FORMATS, save_plots

    check_benches(args.bench)
    formats = tuple(f.strip().lower() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UserError(f"--formats takes {', '.join(FORMATS)}, got {args.formats!r}")
    evals = evaluate_runs(args.bench, args.tracker, results=args.results, root=args.root, labels=args.labels,
                          convention=args.convention, full_precision=args.full_precision,
                          skip_missing=args.skip_missing,
                          sequences=parse_sequences(args.sequences))
    written = []
    for be in evals:
        if be.server_only:
            print(f"{be.bench}: ground truth withheld, no curves to plot")
            continue
        written += save_plots(be, args.out, formats)
    for path in written:
        print(path)
    return 0
