"""Time ``ostrack-eval report`` end to end on a LaSOT-sized synthetic set, CPU seconds, start-up included.

Writes a synthetic LaSOT on disk with the real test split's 280 names and lengths (685,360 frames):
``groundtruth.txt``, ``full_occlusion.txt``, ``out_of_view.txt``, ``nlp.txt`` and only the first and last
``img/`` file of each sequence (empty files: scoring reads no image), plus N trackers' results in our layout
(comma ``%.4f`` boxes + time files). Then runs ``python -m ostrack_eval report`` on them in a child process,
several times, and prints the child's user + system CPU time (``getrusage``), the least of the repeats.

``--baseline-rev REV`` also times the package as it was at git revision ``REV`` (its ``ostrack_eval/``
extracted with ``git archive``) on the same files in the same session, prints the ratio, and checks that both
give the same scores. pytracking's ``print_results`` cannot run here (no pytracking code); the figure
printed for it is the one quoted in issue #20, measured elsewhere, and labelled so.

    python bench/bench_report.py [--trackers 6] [--repeats 3] [--baseline-rev REV] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from ostrack_eval.run.store import ResultStore

REPO = Path(__file__).resolve().parent.parent
# issue #20, measured by its author on "a quiet machine" with the real LaSOT annotations: not measured here
QUOTED_PYTRACKING_S = 34.1
QUOTED_OLD_REPORT_S = 11.0


def lasot_rows() -> list[dict]:
    table = json.loads((resources.files("ostrack_eval.datasets") / "data" / "lasot.json").read_text())
    return table["sequences"]


def write_dataset(root: Path, rows: list[dict], rng: np.random.Generator) -> dict[str, np.ndarray]:
    truth = {}
    for row in rows:
        name, n = row["name"], int(row["num_frames"])
        folder = root / row["class"] / name
        (folder / "img").mkdir(parents=True, exist_ok=True)
        centre = 300 + np.cumsum(rng.normal(0, 2, (n, 2)), axis=0)
        size = np.clip(80 + np.cumsum(rng.normal(0, 0.5, (n, 2)), axis=0), 8, None)
        gt = np.round(np.column_stack([centre - size / 2, size]))
        occluded = rng.random(n) < 0.02
        out = rng.random(n) < 0.01
        np.savetxt(folder / "groundtruth.txt", gt, fmt="%d", delimiter=",")
        (folder / "full_occlusion.txt").write_text(",".join("1" if v else "0" for v in occluded))
        (folder / "out_of_view.txt").write_text(",".join("1" if v else "0" for v in out))
        (folder / "nlp.txt").write_text(f"the {row['class']} being tracked\n")
        for i in (1, n):
            (folder / "img" / f"{i:08d}.jpg").touch()
        truth[name] = gt
    return truth


def write_results(results: Path, truth: dict[str, np.ndarray], trackers: int, rng: np.random.Generator) -> list[str]:
    names = []
    for k in range(trackers):
        store = ResultStore(results, f"tracker{k}")
        for seq, gt in truth.items():
            boxes = gt + rng.normal(0, 3 + 4 * k, gt.shape)
            boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
            lost = int(rng.integers(len(gt) // 2, len(gt) * 2))  # some tracks drift away for good
            boxes[lost:, :2] += np.linspace(0, 400, max(len(gt) - lost, 0))[:, None]
            store.write("lasot", seq, boxes, rng.uniform(0.005, 0.02, len(boxes)))
        names.append(store.run_name)
    return names


def timed_report(pythonpath: Path, args: list[str], cwd: Path) -> tuple[float, str]:
    """CPU seconds (user + system) of one ``report`` child process, and its stdout.

    ``cwd`` must not hold an ``ostrack_eval/``: ``python -m`` puts the working directory ahead of
    ``PYTHONPATH``, which would import that package instead of the one being timed.
    """
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    code = "import sys, ostrack_eval; print(ostrack_eval.__file__, file=sys.stderr)"
    where = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True).stderr
    if not Path(where.strip()).resolve().is_relative_to(pythonpath.resolve()):
        raise SystemExit(f"would time {where.strip()}, not the package under {pythonpath}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "ostrack_eval", "report", *args], env=env, capture_output=True,
                          text=True, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"report failed ({pythonpath}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, proc.stdout


def extract_revision(rev: str, dest: Path) -> Path:
    """The package as it was at ``rev``, extracted under ``dest`` (importable with ``PYTHONPATH=dest``)."""
    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "ostrack_eval"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def scores(json_text: str) -> dict:
    """Every tracker's benchmark and per-sequence scores from ``report --format json`` (FPS left out)."""
    trackers = json.loads(json_text)["trackers"]
    return {label: ({k: v for k, v in t.items() if k in ("auc", "norm_precision", "precision")},
                    {seq: {k: v for k, v in row.items() if k != "fps"} for seq, row in t["sequences"].items()})
            for label, t in trackers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="runs per code version; the least CPU time counts")
    parser.add_argument("--baseline-rev", default=None, metavar="REV",
                        help="git revision whose ostrack_eval/ to time on the same files (e.g. main)")
    parser.add_argument("--keep", default=None, help="write the synthetic data and results here (kept)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    work = Path(args.keep) if args.keep else Path(tmp.name)
    data, results = work / "data" / "lasot", work / "results"
    rng = np.random.default_rng(0)
    rows = lasot_rows()
    frames = sum(int(r["num_frames"]) for r in rows)
    print(f"writing a synthetic LaSOT ({len(rows)} sequences, {frames:,} frames) and {args.trackers} trackers' "
          f"results to {work} …", flush=True)
    truth = write_dataset(data, rows, rng)
    names = write_results(results, truth, args.trackers, rng)
    report_args = ["--bench", "lasot", "--tracker", *names, "--results", str(results), "--root", str(data)]

    versions = [("ours", REPO)]
    if args.baseline_rev:
        versions.append((f"rev {args.baseline_rev}", extract_revision(args.baseline_rev, work / "baseline")))
    best: dict[str, float] = {}
    for rep in range(args.repeats):
        for label, path in versions:  # interleaved, so drift in the machine's speed hits both alike
            cpu, _ = timed_report(path, report_args, work)
            best[label] = min(best.get(label, float("inf")), cpu)
            print(f"  run {rep + 1}: {label}: {cpu:.2f} s CPU", flush=True)

    print(f"\nreport, LaSOT {len(rows)} sequences x {args.trackers} trackers, CPU seconds incl. interpreter start-up "
          f"(least of {args.repeats}):")
    print(f"  ours{'':18s}{best['ours']:6.2f} s")
    if args.baseline_rev:
        label = versions[1][0]
        print(f"  {label:22s}{best[label]:6.2f} s   -> ours is {best[label] / best['ours']:.1f}x faster "
              f"(measured here, same files)")
        # the old code scored the stored floats as they are: ours does so with --full-precision (by default
        # it first truncates them like the official runner's integer files, issue 19)
        same = scores(timed_report(REPO, report_args + ["--format", "json", "--full-precision"], work)[1]) == \
            scores(timed_report(versions[1][1], report_args + ["--format", "json"], work)[1])
        print(f"  scores identical between the two (every tracker, every sequence; ours with --full-precision): "
              f"{'yes' if same else 'NO'}")
        projected = best[label] * QUOTED_PYTRACKING_S / QUOTED_OLD_REPORT_S
        print(f"  pytracking, PROJECTED   {projected:6.1f} s   -> {projected / best['ours']:.1f}x (the quoted "
              f"pytracking / old-report ratio, {QUOTED_PYTRACKING_S / QUOTED_OLD_REPORT_S:.1f}, times {label} here)")
    print(f"  pytracking print_results{QUOTED_PYTRACKING_S:6.1f} s   -> {QUOTED_PYTRACKING_S / best['ours']:.1f}x "
          f"(QUOTED from issue #20, real LaSOT, another machine; not run here)")
    print(f"  report before #20      {QUOTED_OLD_REPORT_S:6.1f} s   (QUOTED from issue #20, same machine as the "
          f"pytracking figure)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
