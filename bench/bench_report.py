"""Time ``report`` end to end on a LaSOT-sized synthetic result set.

280 sequences with LaSOT's real lengths (685,360 frames), 5 trackers written in our results layout
(comma ``%.4f`` boxes + time files). Timed per tracker: reading its files, per-frame measures, curves
and scores; then the tables (Markdown + JSON) for all trackers, and a 10,000-resample bootstrap.
Ground truth is built in memory (no LaSOT on this machine), so the dataset adapter's loading time is
not included. The first tracker's reading also imports pandas (~0.2 s, once per process), whose C
parser reads large result sets in one pass.

    python bench/bench_report.py [--trackers 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib
import json
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.metrics.conventions import get_convention
from ostrack_eval.reports.evaluate import evaluate_bench
from ostrack_eval.reports.jsonout import report_json
from ostrack_eval.reports.render import render
from ostrack_eval.reports.results import check_rows, load_tracker_results
from ostrack_eval.reports.tables import CIOptions, ReportContext, build_tables
from ostrack_eval.run.store import ResultStore

REFERENCES = ("pytracking.analysis.extract_results", "lib.test.analysis.extract_results")


def lasot_lengths() -> list[tuple[str, int]]:
    table = json.loads((resources.files("ostrack_eval.datasets") / "data" / "lasot.json").read_text())
    return [(s["name"], int(s["num_frames"])) for s in table["sequences"]]


def synthetic_sequences(rng: np.random.Generator) -> list[Sequence]:
    seqs = []
    for name, n in lasot_lengths():
        centre = 300 + np.cumsum(rng.normal(0, 2, (n, 2)), axis=0)
        size = np.clip(80 + np.cumsum(rng.normal(0, 0.5, (n, 2)), axis=0), 8, None)
        gt = np.round(np.column_stack([centre - size / 2, size]))
        visible = rng.random(n) > 0.03
        seqs.append(Sequence(name, [], gt, "lasot", target_visible=visible))
    return seqs


def write_results(root: Path, seqs: list[Sequence], trackers: int, rng: np.random.Generator) -> list[str]:
    names = []
    for k in range(trackers):
        store = ResultStore(root, f"tracker{k}")
        for seq in seqs:
            noise = rng.normal(0, 3 + 4 * k, seq.ground_truth.shape)
            boxes = seq.ground_truth + noise
            boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
            store.write("lasot", seq.name, boxes, rng.uniform(0.005, 0.02, len(boxes)))
        names.append(store.run_name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", type=int, default=5)
    parser.add_argument("--keep", default=None, help="write the synthetic results here (kept)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    seqs = synthetic_sequences(rng)
    frames = sum(len(s.ground_truth) for s in seqs)
    tmp = None if args.keep else tempfile.TemporaryDirectory()
    root = Path(args.keep or tmp.name)
    print(f"writing {args.trackers} trackers x {len(seqs)} sequences ({frames:,} frames each) to {root} …")
    names = write_results(root, seqs, args.trackers, rng)
    seq_names = [s.name for s in seqs]
    lengths = {s.name: len(s.ground_truth) for s in seqs}
    conv = get_convention("ostrack")

    loaded, per_tracker = [], []
    for name in names:
        t0 = time.perf_counter()
        tr = load_tracker_results(root / name / "lasot", "lasot", seq_names, label=name)
        check_rows(tr, lengths)
        t1 = time.perf_counter()
        evaluate_bench("lasot", conv, seqs, [tr])
        t2 = time.perf_counter()
        loaded.append(tr)
        per_tracker.append((t1 - t0, t2 - t1))
        print(f"  {name}: read {t1 - t0:.3f} s, score {t2 - t1:.3f} s, total {t2 - t0:.3f} s")

    t0 = time.perf_counter()
    be = evaluate_bench("lasot", conv, seqs, loaded)
    ctx = ReportContext([be])
    render(build_tables(ctx), "md")
    report_json(ctx)
    t1 = time.perf_counter()
    ctx_ci = ReportContext([be], CIOptions())
    build_tables(ctx_ci)
    t2 = time.perf_counter()

    read = sum(r for r, _ in per_tracker)
    score = sum(s for _, s in per_tracker)
    print(f"\nours: {(read + score) / len(names):.3f} s per tracker end to end "
          f"(reading {read / len(names):.3f} s, scoring {score / len(names):.3f} s)")
    print(f"ours: all {len(names)} trackers scored together + Markdown + JSON: {t1 - t0:.3f} s")
    print(f"ours: --ci (10,000 paired resamples, {len(names)} trackers x 3 metrics): {t2 - t1:.3f} s")
    for name, auc in ((t.label, t.value("auc")) for t in be.trackers):
        print(f"  {name}: AUC {auc:.2f}")
    for mod in REFERENCES:
        try:
            importlib.import_module(mod)
        except ImportError:
            print(f"reference: {mod} is not importable here (pytracking/OSTrack not installed), not timed")
        else:
            print(f"reference: {mod} is importable, but running it needs its env_settings and dataset "
                  f"objects; time it with its own scripts on the folder above (--keep)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
