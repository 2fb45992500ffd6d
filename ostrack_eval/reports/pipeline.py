"""``--bench B… --tracker NAME…`` -> evaluated benchmarks, shared by ``report`` and ``plot``."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import Convention, get_convention
from ostrack_eval.reports.evaluate import BenchEval, evaluate_bench, incomplete, server_only_bench
from ostrack_eval.reports.results import TrackerResults, check_rows, load_tracker_results
from ostrack_eval.reports.runs import read_run_record, read_server_scores, resolve_source


def _progress(desc: str, unit: str = "seq"):
    def wrap(items):
        return tqdm(items, desc=desc, unit=unit, leave=False, disable=not sys.stderr.isatty())
    return wrap


def _path_label(name: str, parts: int) -> str:
    """A run name as is; a path as its last ``parts`` folders (``tracker/param`` for pytracking's layout)."""
    clean = name.rstrip("/\\")
    if "/" not in clean and "\\" not in clean:
        return clean
    folders = [p for p in Path(clean).parts if p not in ("/", "\\")]
    return "/".join(folders[-parts:])


def tracker_labels(trackers: list[str], labels: list[str] | None, run_folders: list[bool] | None = None) -> list[str]:
    """Display names: ``--labels`` when given, else the run name; for the path of another tool's results its
    last two folders (pytracking's ``tracker/param``, whose last folder alone is often ``default``), and for
    the path of one of our run folders (``run_folders[i]``) its name; more folders where two are alike."""
    if labels is not None and len(labels) != len(trackers):
        raise UserError(f"--labels has {len(labels)} names for {len(trackers)} trackers")
    if labels:
        shown = list(labels)
    else:
        depth = [1 if ours else 2 for ours in (run_folders or [False] * len(trackers))]
        shown = [_path_label(n, d) for n, d in zip(trackers, depth)]
        for _ in range(max((len(Path(n).parts) for n in trackers), default=0)):
            clashing = [i for i, x in enumerate(shown) if shown.count(x) > 1]
            if not clashing:
                break
            for i in clashing:
                depth[i] += 1
                shown[i] = _path_label(trackers[i], depth[i])
    dupes = sorted({x for x in shown if shown.count(x) > 1})
    if dupes:
        raise UserError(f"tracker names must differ, {', '.join(dupes)} appears twice (use --labels)")
    return shown


def select_sequences(listed: list[str], wanted: list[str] | None, bench: str) -> list[str]:
    if wanted is None:
        return listed
    known = set(listed)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UserError(f"{bench}: not in the sequence list: {', '.join(unknown[:5])}")
    keep = set(wanted)
    return [n for n in listed if n in keep]


def _convention(benchmark, name: str | None, full_precision: bool = False) -> Convention:
    """``--convention``, else the adapter's own: the one its benchmark's published numbers used;
    ``full_precision`` drops the official runner's integer truncation (``--full-precision``)."""
    conv = get_convention(name or benchmark.convention)
    return conv.full_precision() if full_precision else conv


def evaluate_runs(benches: list[str], trackers: list[str], *, results: str | Path = "results",
                  root: str | Path | None = None, labels: list[str] | None = None, convention: str | None = None,
                  full_precision: bool = False, skip_missing: bool = False,
                  sequences: list[str] | None = None) -> list[BenchEval]:
    """Load ground truth and results, and score every tracker on every bench (in the given order)."""
    from ostrack_eval.datasets import get_benchmark  # the adapters load lazily: image code is not needed here

    names_shown = None
    evaluated = []
    for bench in benches:
        sources = [resolve_source(results, name, bench) for name in trackers]
        if names_shown is None:
            names_shown = tracker_labels(trackers, labels, [run_dir is not None for _, run_dir in sources])
        benchmark = get_benchmark(bench, root)
        conv = _convention(benchmark, convention, full_precision)
        names = select_sequences(benchmark.sequence_names(), sequences, bench)
        loaded: list[TrackerResults] = []
        # a tracker's files are read in a few batched calls: the bar counts trackers
        for label, (path, run_dir) in _progress(f"{bench} results", "tracker")(list(zip(names_shown, sources))):
            tr = load_tracker_results(path, bench, names, label=label, run_record=read_run_record(run_dir))
            tr.server_scores = read_server_scores(path)
            loaded.append(tr)
        if not getattr(benchmark, "full_annotation", True):
            evaluated.append(server_only_bench(bench, conv, len(names), loaded))
            continue
        evaluated.append(_score(bench, benchmark, conv, names, loaded, skip_missing))
    return evaluated


def _score(bench: str, benchmark, conv: Convention, names: list[str], loaded: list[TrackerResults],
           skip_missing: bool) -> BenchEval:
    # refuse before loading any ground truth; only the sequences every tracker has need theirs (and need
    # to be on disk)
    lacking = incomplete(bench, conv, [t.completeness for t in loaded], len(names), skip_missing)
    names_to_load = [n for n in names if n not in lacking]
    # scoring needs no frames: adapters that can leave them out skip listing and checking images
    if hasattr(benchmark, "load_annotations"):
        seqs = benchmark.load_annotations(names_to_load)
    else:
        seqs = [benchmark.load(n) for n in _progress(f"{bench} ground truth")(names_to_load)]
    frames = {s.name: len(s.ground_truth) for s in seqs}
    for tr in loaded:
        check_rows(tr, frames)
    return evaluate_bench(bench, conv, seqs, loaded, skip_missing=skip_missing, listed=len(names))
