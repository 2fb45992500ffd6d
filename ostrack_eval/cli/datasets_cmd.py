"""``ostrack-eval datasets list | check``: where each benchmark is looked for, and whether a download is sound."""

from __future__ import annotations

import argparse
from pathlib import Path

from ostrack_eval.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("datasets", help="list the benchmarks found on disk, or check a download",
                              description="Where each benchmark is looked for (--root DIR, else "
                                          "$OSTRACK_EVAL_DATA/<bench>, else ./datasets/<bench>) and whether a "
                                          "download matches the layout the adapters expect.")
    sub = p.add_subparsers(dest="datasets_command", metavar="{list,check}")
    sub.required = True

    lst = sub.add_parser("list", help="each benchmark: where it is looked for, found or not, sequence count")
    lst.add_argument("--root", type=Path, help="datasets folder (default $OSTRACK_EVAL_DATA, else ./datasets)")
    lst.set_defaults(func=handle_list)

    chk = sub.add_parser("check", help="verify a download: layout, every sequence, frame counts, every image",
                         description="Exit 0 when the benchmark is complete and sound, 1 when problems exist.")
    chk.add_argument("--bench", required=True, help="lasot, lasot_ext, trackingnet, got10k, got10k_val, nfs, "
                                                     "uav123, tnl2k, itb, demo")
    chk.add_argument("--root", type=Path, help="the benchmark folder or the datasets folder holding it")
    chk.add_argument("--sequences", help="check only these (comma-separated; use --sequences=NAME for names "
                                         "starting with '-')")
    chk.add_argument("--no-decode", action="store_true", help="only check that image files exist (fast)")
    chk.add_argument("--workers", type=int, default=None, help="image-decoding threads (default: up to 8)")
    chk.set_defaults(func=handle_check)


def _status(name: str, root: Path | None) -> tuple[str, str, Path, str | None]:
    """(status, sequence count, folder, problem) of one benchmark, without generating or loading anything."""
    from ostrack_eval.datasets import get_benchmark
    from ostrack_eval.datasets.demo import is_generated

    bench = get_benchmark(name, root)
    if name == "demo":
        listed = len(bench.sequence_names())
        if is_generated(bench.root):
            present = sum(bench.is_present(n) for n in bench.sequence_names())
            return "found", f"{present}/{listed}", bench.root, None
        return "not generated", f"{listed} (on first use)", bench.root, None
    if not bench.root.is_dir():
        return "not found", str(bench.official_count()), bench.root, None
    try:
        bench.validate_root()
        names = bench.sequence_names()
    except UserError as exc:
        return "bad layout", str(bench.official_count()), bench.root, str(exc)
    present = sum(bench.is_present(n) for n in names)
    return "found", f"{present}/{len(names)}", bench.root, None


def handle_list(args: argparse.Namespace) -> int:
    from ostrack_eval.datasets import BENCHMARKS

    rows = [(name, *_status(name, args.root)) for name in BENCHMARKS]
    widths = [max(len(r[i]) for r in rows + [("bench", "status", "sequences")]) for i in range(3)]
    print(f"{'bench':<{widths[0]}}  {'status':<{widths[1]}}  {'sequences':<{widths[2]}}  folder")
    problems = []
    for name, status, count, folder, problem in rows:
        print(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {count:<{widths[2]}}  {folder.absolute()}")
        if problem:
            problems.append(f"  {name}: {problem}")
    if problems:
        print("layout problems (run `ostrack-eval datasets check --bench B` for details):")
        print("\n".join(problems))
    return 0


def handle_check(args: argparse.Namespace) -> int:
    from ostrack_eval.datasets import get_benchmark
    from ostrack_eval.datasets.check import check_benchmark

    names = None
    if args.sequences is not None:
        names = list(dict.fromkeys(s.strip() for s in args.sequences.split(",") if s.strip()))
        if not names:
            raise UserError("--sequences is empty")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    bench = get_benchmark(args.bench, args.root, names=names)
    report = check_benchmark(bench, decode=not args.no_decode, workers=args.workers)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1
