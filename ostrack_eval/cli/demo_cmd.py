"""``ostrack-eval demo``: the whole job on the built-in demo benchmark (run → report → plot → HTML page),
no download."""

from __future__ import annotations

import argparse
from pathlib import Path

from ostrack_eval.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run, report and plot on the built-in demo benchmark (no download needed)")
    p.add_argument("--tracker", default="ostrack-tiny", help="tracker to run (default: the bundled ostrack-tiny)")
    p.add_argument("--baseline", default="identity", help="second tracker for comparison ('' for none)")
    p.add_argument("--results", default="results", help="results folder (default: ./results)")
    p.add_argument("--out", default="reports/demo", help="where the report and plots go (default: reports/demo)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when present)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ostrack_eval.cli.main import main

    out = Path(args.out)
    trackers = [t for t in (args.tracker, args.baseline) if t]
    for tracker in trackers:
        cmd = ["run", "--bench", "demo", "--tracker", tracker, "--results", args.results]
        if args.device:
            cmd += ["--device", args.device]
        rc = main(cmd)
        if rc == 2:
            return rc  # bad input: the run has said so in its one line
        if rc:
            raise UserError(f"demo run of {tracker} failed (exit {rc})")
    out.mkdir(parents=True, exist_ok=True)
    report = out / "demo.md"
    rc = main(["report", "--bench", "demo", "--tracker", *trackers, "--results", args.results,
               "--format", "md", "--out", str(report)])
    if rc:
        return rc
    print(report.read_text(encoding="utf-8"))
    rc = main(["plot", "--bench", "demo", "--tracker", *trackers, "--results", args.results, "--out", str(out)])
    if rc:
        return rc
    page = out / "demo.html"
    rc = main(["report", "--bench", "demo", "--tracker", *trackers, "--results", args.results,
               "--format", "html", "--out", str(page)])
    if rc:
        return rc
    print(f"report: {report}\nplots:  {out}/\npage:   {page} (open it in a browser; works offline)")
    return 0
