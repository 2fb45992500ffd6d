"""``report --format json``: the machine-readable scores (schema in cli.md), percent, unrounded.

One benchmark: ``{"bench": B, "convention": C, "trackers": {NAME: {"auc": …, …, "fps": …,
"sequences": {SEQ: {…same keys…}}}}, …}``; several: ``{"benches": {B: <that object>, …}}``. Scores
that cannot be computed are ``null``. With ``--ci`` each tracker gains ``"ci": {metric: [low, high]}``
and, after the first tracker, ``"diff_ci"`` against ``"diff_reference"``.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ostrack_eval.reports.evaluate import BenchEval, TrackerEval
from ostrack_eval.reports.tables import ReportContext, attribute_flags, lasot_attribute_names


def _clean(value):
    """JSON-safe: NaN/inf -> null, NumPy scalars -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _sequence_fps(be: BenchEval, t: TrackerEval, seq: str) -> float | None:
    return t.results.fps([seq], be.convention.fps_rule)


def _tracker_json(ctx: ReportContext, be: BenchEval, t: TrackerEval, with_macs: bool) -> dict:
    out: dict = {m: t.value(m) for m in be.metrics + be.extra_metrics}
    out["fps"] = t.fps
    if with_macs:
        out["macs"] = ctx.macs(t.label)
    sequences = {}
    if t.scores is not None:
        per = {m: t.scores.sequence_scores(m) for m in be.metrics}
        for i, seq in enumerate(be.sequences):
            sequences[seq] = {m: per[m][i] for m in be.metrics} | {"fps": _sequence_fps(be, t, seq)}
    out["sequences"] = sequences
    if ctx.ci and t.scores is not None:
        iv = ctx.intervals(be)
        out["ci"] = {m: [iv.scores[(t.label, m)].low, iv.scores[(t.label, m)].high] for m in be.metrics}
        if (t.label, be.metrics[0]) in iv.diffs:
            out["diff_reference"] = be.trackers[0].label
            out["diff_ci"] = {m: [iv.diffs[(t.label, m)].low, iv.diffs[(t.label, m)].high] for m in be.metrics}
    if t.scores is not None and be.bench == "itb":
        found = [a.get("scenario") for a in be.attributes]
        out["scenarios"] = {s: t.value("miou", np.array([f == s for f in found]))
                            for s in sorted({f for f in found if f})}
    if t.scores is not None and be.bench == "lasot":
        names = lasot_attribute_names()
        flags = attribute_flags(be, names).flags
        metric = be.convention.headline
        out["attributes"] = {abbr: t.value(metric, flags[abbr]) if flags[abbr].any() else None for abbr, _ in names}
    return out


def bench_json(ctx: ReportContext, be: BenchEval, with_macs: bool = False) -> dict:
    notes = list(be.notes)
    if be.bench == "lasot" and be.sequences:
        note = attribute_flags(be, lasot_attribute_names()).note()
        notes += [note] if note else []
    return {"bench": be.bench, "convention": be.convention.name, "sequences_listed": be.listed,
            "sequences_scored": len(be.sequences),
            "trackers": {t.label: _tracker_json(ctx, be, t, with_macs) for t in be.trackers}, "notes": notes}


def report_json(ctx: ReportContext, with_macs: bool = False, paper: dict | None = None) -> str:
    """``paper``: the ``"paper"`` object of ``--paper`` (:func:`ostrack_eval.reports.paper.paper_json`)."""
    if len(ctx.evals) == 1:
        data = bench_json(ctx, ctx.evals[0], with_macs)
    else:
        data = {"benches": {be.bench: bench_json(ctx, be, with_macs) for be in ctx.evals}}
    if paper is not None:
        data["paper"] = paper
    return json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"
