"""How much the official runner's integer truncation moves the scores: float boxes vs ``astype(int)``.

OSTrack's (and pytracking's) runner saves ``np.array(boxes).astype(int)``; ``report`` scores our float
boxes that way by default and as stored with ``--full-precision``. This prints both for:

* a LaSOT-sized synthetic set: 280 sequences with LaSOT's real lengths (685,360 frames), integer ground
  truth (object sizes log-uniform 15-300 px, 3 % of frames invisible) and five synthetic trackers (centre
  and size noise of 2-10 % of the object, one with drift spells), scored with the ``ostrack`` convention
  (LaSOT); the same boxes also under ``trackingnet_server``, with the current devkit's IoU >= t against the
  first version's IoU > t;
* optionally a results folder holding an ``ostrack-eval run --bench demo`` run (``--demo RESULTS``).

    python bench/bench_truncation.py [--seed 0] [--demo /tmp/r19 --tracker ostrack-tiny]
"""

from __future__ import annotations

import argparse
import json
from importlib import resources

import numpy as np

from ostrack_eval.metrics import CONVENTIONS, frame_measures, score_sequences
from ostrack_eval.metrics.curves import LINSPACE_21, auc_trapz, threshold_counts

TRACKERS = (("noise 2%", 0.02, 0.0), ("noise 4%", 0.04, 0.0), ("noise 6%", 0.06, 0.0), ("noise 10%", 0.10, 0.0),
            ("noise 4% + drift", 0.04, 0.15))


def lasot_lengths() -> list[tuple[str, int]]:
    table = json.loads((resources.files("ostrack_eval.datasets") / "data" / "lasot.json").read_text())
    return [(s["name"], int(s["num_frames"])) for s in table["sequences"]]


def ground_truth(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    size0 = np.exp(rng.uniform(np.log(15), np.log(300), 2))
    size = np.clip(size0 * np.exp(np.cumsum(rng.normal(0, 0.004, (n, 2)), axis=0)), 4, 600)
    centre = np.array([640.0, 360.0]) + np.cumsum(rng.normal(0, 1.5, (n, 2)), axis=0)
    gt = np.round(np.column_stack([centre - size / 2, size]))
    return gt, rng.random(n) > 0.03


def tracker_boxes(rng: np.random.Generator, gt: np.ndarray, sigma: float, drift: float) -> np.ndarray:
    size = gt[:, 2:]
    centre = gt[:, :2] + size / 2 + rng.normal(0, sigma, size.shape) * size
    wh = size * np.exp(rng.normal(0, sigma, size.shape))
    if drift:  # spells where the tracker sits on a neighbouring distractor
        n = len(gt)
        off = np.zeros(n, dtype=bool)
        for start in rng.integers(0, n, max(1, int(drift * n / 200))):
            off[start:start + 200] = True
        centre[off] += 2.5 * size[off]
    return np.column_stack([centre - wh / 2, wh])


def scores(conv, preds, gts, visible, tag) -> dict[str, float]:
    measures = [[frame_measures(conv, p, g, tag=tag, visible=v) if conv.family == "pytracking"
                 else frame_measures(conv, p, g)] for p, g, v in zip(preds, gts, visible)]
    s = score_sequences(conv, [str(i) for i in range(len(preds))], measures)
    out = {m: s.score(m) for m in conv.metrics}
    if conv.family == "trackingnet":  # the devkit's first version: success counts IoU > t
        seg = np.concatenate([np.full(len(m[0].overlap), i) for i, m in enumerate(measures)])
        overlap = np.concatenate([m[0].overlap for m in measures])
        lengths = np.array([len(m[0].overlap) for m in measures], dtype=np.float64)
        curve = threshold_counts(overlap, LINSPACE_21, True, seg, len(measures)) / lengths[:, None]
        out["auc_strict"] = float(100 * auc_trapz(curve).mean())
    return out


def row(label: str, trunc: dict, full: dict, keys: tuple[str, ...]) -> str:
    cells = [f"{full[k]:.2f} → {trunc[k]:.2f} ({trunc[k] - full[k]:+.2f})" for k in keys]
    return f"| {label} | " + " | ".join(cells) + " |"


def synthetic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = lasot_lengths()
    gts, visible = zip(*(ground_truth(rng, n) for _, n in lengths))
    frames = sum(n for _, n in lengths)
    print(f"LaSOT-sized synthetic set: {len(lengths)} sequences, {frames} frames (seed {seed})\n")
    ost, tn = CONVENTIONS["ostrack"], CONVENTIONS["trackingnet_server"]
    keys = ost.metrics
    print("ostrack convention (LaSOT), full precision → truncated (difference), points:\n")
    print("| tracker | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    tn_rows = []
    for label, sigma, drift in TRACKERS:
        preds = [tracker_boxes(rng, g, sigma, drift) for g in gts]
        full = scores(ost.full_precision(), preds, gts, visible, "lasot")
        trunc = scores(ost, preds, gts, visible, "lasot")
        print(row(label, trunc, full, keys))
        tn_full = scores(tn.full_precision(), preds, gts, visible, "")
        tn_trunc = scores(tn, preds, gts, visible, "")
        tn_rows.append((label, tn_full, tn_trunc))
    print("\ntrackingnet_server on the same boxes: AUC with IoU > t (devkit 6337d03) vs IoU >= t (79783f2), "
          "full precision; then truncated:\n")
    print("| tracker | AUC, IoU > t | AUC, IoU >= t | difference | AUC truncated (IoU >= t) | P_Norm full → trunc | "
          "P full → trunc |")
    print("|---|---|---|---|---|---|---|")
    for label, full, trunc in tn_rows:
        print(f"| {label} | {full['auc_strict']:.2f} | {full['auc']:.2f} | {full['auc'] - full['auc_strict']:+.2f} | "
              f"{trunc['auc']:.2f} ({trunc['auc'] - full['auc']:+.2f}) | "
              f"{full['norm_precision']:.2f} → {trunc['norm_precision']:.2f} | "
              f"{full['precision']:.2f} → {trunc['precision']:.2f} |")


def demo(results: str, tracker: str) -> None:
    from ostrack_eval.reports.pipeline import evaluate_runs

    full = evaluate_runs(["demo"], [tracker], results=results, full_precision=True)[0].trackers[0]
    trunc = evaluate_runs(["demo"], [tracker], results=results)[0].trackers[0]
    keys = CONVENTIONS["ostrack"].metrics
    print(f"\ndemo ({results}/{tracker}), ostrack convention, full precision → truncated:\n")
    print("| tracker | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    print(row(tracker, {k: trunc.value(k) for k in keys}, {k: full.value(k) for k in keys}, keys))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--demo", metavar="RESULTS", help="results folder with a run on the demo bench")
    p.add_argument("--tracker", default="ostrack-tiny", help="run name under --demo (default: ostrack-tiny)")
    args = p.parse_args()
    synthetic(args.seed)
    if args.demo:
        demo(args.demo, args.tracker)


if __name__ == "__main__":
    main()
