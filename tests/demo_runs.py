"""Results of three made-up trackers on the rendered demo benchmark, for the report, API and browser tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ostrack_eval.datasets.demo import Demo, ensure_demo
from ostrack_eval.run.store import ResultStore

TRACKERS = ("ostrack-tiny", "identity", "drifter")


def make_demo_runs(base: Path) -> dict:
    """``base/cache/demo-v1`` (set ``OSTRACK_EVAL_CACHE=base/cache``) and ``base/results/<tracker>/demo/``:
    ``ostrack-tiny`` is the ground truth moved 3 px, ``identity`` keeps the first box, ``drifter`` follows the
    ground truth for the first third of each sequence and then slides away (it loses every target)."""
    root = ensure_demo(base / "cache" / "demo-v1", progress=False)
    bench = Demo(root)
    stores = {name: ResultStore(base / "results", name) for name in TRACKERS}
    truth = {}
    for name in bench.sequence_names():
        gt = bench.load(name).ground_truth
        truth[name] = gt
        n = len(gt)
        moved = gt.copy()
        moved[1:, :2] += 3
        drift = gt.copy()
        third = n // 3
        drift[third:, 0] += np.linspace(0, 2000, n - third)
        boxes = {"ostrack-tiny": moved, "identity": np.tile(gt[0], (n, 1)), "drifter": drift}
        for tracker, b in boxes.items():
            b = b.copy()
            b[:, 2:] = np.maximum(b[:, 2:], 1)
            stores[tracker].write("demo", name, b, np.full(n, 0.02))
    return {"root": root, "cache": base / "cache", "results": base / "results", "truth": truth}
