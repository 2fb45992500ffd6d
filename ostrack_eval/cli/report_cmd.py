"""``ostrack-eval report``: paper tables (Markdown, LaTeX, CSV) or JSON scores from stored results."""

from __future__ import annotations

import argparse
import sys

from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import BENCH_TAGS, CONVENTIONS

TABLE_CHOICES = ("1", "2", "3", "4", "5", "6", "A4", "A5", "attributes")
# tables whose MACs column needs the profiler (torch); JSON then carries "macs" too
_MACS_TABLES = {"3", "6", "A4"}
# a bound on memory and time: the resamples are held (samples x scores) and each costs a pass over the sequences
MAX_CI_SAMPLES = 1_000_000


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Options ``report`` and ``plot`` share."""
    p.add_argument("--bench", nargs="+", required=True, metavar="B",
                   help=f"benchmark(s): {', '.join(BENCH_TAGS)}")
    p.add_argument("--tracker", nargs="+", required=True, metavar="NAME",
                   help="run names under --results (or paths of other trackers' result folders)")
    p.add_argument("--labels", nargs="+", default=None, metavar="LABEL", help="display names, one per --tracker")
    p.add_argument("--results", default="results", help="results folder (default: ./results)")
    p.add_argument("--root", default=None,
                   help="dataset root (default: $OSTRACK_EVAL_DATA, else ./datasets)")
    p.add_argument("--convention", choices=sorted(CONVENTIONS), default=None,
                   help="metric convention (default: the one each benchmark's published numbers use)")
    p.add_argument("--full-precision", action="store_true",
                   help="score the boxes as stored; by default they are first truncated toward zero like the "
                        "official runner's integer files, which every published number went through")
    p.add_argument("--skip-missing", action="store_true",
                   help="score the sequences every tracker has instead of refusing incomplete results")
    p.add_argument("--sequences", metavar="A,B,…", default=None,
                   help="only these sequences (write --sequences=NAME for names starting with '-')")


def parse_sequences(arg: str | None) -> list[str] | None:
    return None if arg is None else [n.strip() for n in arg.split(",") if n.strip()]


def check_benches(benches: list[str]) -> None:
    unknown = [b for b in benches if b not in BENCH_TAGS]
    if unknown:
        raise UserError(f"unknown bench {unknown[0]!r}; known: {', '.join(BENCH_TAGS)}")
    if len(set(benches)) != len(benches):
        raise UserError("--bench lists a benchmark twice")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="paper tables and JSON scores from stored results",
                       description="Score stored results against the ground truth with the reference "
                                   "tools' conventions and print a paper-style table or JSON.")
    add_common_arguments(p)
    p.add_argument("--table", choices=TABLE_CHOICES, default=None,
                   help="paper table (1-6, A4, A5) or 'attributes' (LaSOT per-attribute AUC); "
                        "default: every metric of each benchmark plus FPS")
    p.add_argument("--format", choices=("md", "latex", "csv", "json", "html"), default="md",
                   help="output format; html: one self-contained page (tables, plots, per-sequence view) "
                        "that needs --out")
    p.add_argument("--out", metavar="FILE", default=None, help="write here (atomically) instead of stdout")
    p.add_argument("--digits", type=int, choices=(1, 2, 3), default=None,
                   help="decimals of the Markdown, LaTeX and HTML tables (default 1, as the paper; pytracking "
                        "prints 2)")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                   help="html: the two trackers whose gap the page breaks down (default: the first two)")
    p.add_argument("--ci", action="store_true",
                   help="95%% paired-bootstrap intervals over sequences, for scores and differences to the "
                        "first tracker")
    p.add_argument("--ci-samples", type=int, default=10_000, metavar="N", help="bootstrap resamples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--per-sequence", action="store_true", help="add a per-sequence table per benchmark")
    p.add_argument("--paper", action="store_true",
                   help="add the paper's published rows of --table and the difference (Δ) of each run that is "
                        "one of the paper's model variants")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ostrack_eval.reports.jsonout import report_json
    from ostrack_eval.reports.paper import PAPER_TABLES, paper_json
    from ostrack_eval.reports.pipeline import evaluate_runs
    from ostrack_eval.reports.render import render
    from ostrack_eval.reports.tables import CIOptions, ReportContext, build_tables
    from ostrack_eval.utils.atomic import atomic_write_text

    check_benches(args.bench)
    needs = {"A5": "itb", "attributes": "lasot"}.get(args.table or "")
    if needs and needs not in args.bench:
        raise UserError(f"--table {args.table} is for --bench {needs}")
    if args.paper and args.table not in PAPER_TABLES:
        raise UserError(f"--paper needs --table {'|'.join(PAPER_TABLES)}")
    if not 100 <= args.ci_samples <= MAX_CI_SAMPLES:
        raise UserError(f"--ci-samples must be between 100 and {MAX_CI_SAMPLES:,}, got {args.ci_samples}")
    if args.seed < 0:  # numpy's generators take non-negative seeds only
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    evals = evaluate_runs(args.bench, args.tracker, results=args.results, root=args.root, labels=args.labels,
                          convention=args.convention, full_precision=args.full_precision,
                          skip_missing=args.skip_missing,
                          sequences=parse_sequences(args.sequences))
    ctx = ReportContext(evals, CIOptions(args.ci_samples, args.seed) if args.ci else None, args.per_sequence)
    if args.format == "html":
        return _write_html(args, evals)
    if args.format == "json":
        with_macs = args.table in _MACS_TABLES
        paper = paper_json(ctx, args.table, with_macs) if args.paper else None
        text = report_json(ctx, with_macs=with_macs, paper=paper)
        for be in evals:
            for note in be.notes:
                print(f"ostrack-eval: note: {note}", file=sys.stderr)
    else:
        tables = build_tables(ctx, args.table or "default", paper=args.paper)
        text = render(tables, args.format, args.digits)
        if args.format == "csv":
            for note in tables[0].notes:
                print(f"ostrack-eval: note: {note}", file=sys.stderr)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _write_html(args: argparse.Namespace, evals) -> int:
    from ostrack_eval.reports.html import HtmlOptions, write_html_report

    if not args.out:
        raise UserError("--format html needs --out FILE.html")
    options = HtmlOptions(table=args.table or "default", digits=args.digits or 1, compare=args.compare,
                          ci=(args.ci_samples, args.seed) if args.ci else None, root=args.root,
                          paper=args.paper)
    size = write_html_report(evals, args.out, options)
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return 0
