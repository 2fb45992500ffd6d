"""The notebook API: ``from ostrack_eval import evaluate``.

:func:`evaluate` scores stored results exactly as ``ostrack-eval report`` does (the same loading, conventions
and completeness rules) and returns an :class:`Evaluation` whose tables are pandas DataFrames and whose plot
methods draw on a matplotlib ``Axes`` you pass (no pyplot state is touched)::

    from ostrack_eval import evaluate
    ev = evaluate("lasot", ["ostrack256", "ostrack256-noce"])
    ev.summary                      # tracker x metric
    ev.plot("success", ax=ax)       # or "precision", "norm_precision"

The HTML report is built from the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import METRIC_LABELS
from ostrack_eval.reports.evaluate import BenchEval, TrackerEval

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def evaluate(bench: str, trackers: list[str] | str, *, results: str | Path = "results", root: str | Path | None = None,
             labels: list[str] | None = None, convention: str | None = None, full_precision: bool = False,
             skip_missing: bool = False, sequences: list[str] | None = None) -> Evaluation:
    """Score ``trackers`` (run names under ``results``, or result-folder paths) on ``bench``.

    Same options as ``ostrack-eval report``; bad input raises :class:`~ostrack_eval.errors.UserError` with
    the one-line message the CLI prints.
    """
    from ostrack_eval.reports.pipeline import evaluate_runs

    if not isinstance(bench, str):
        raise UserError(f"evaluate takes one benchmark name, got {bench!r}")
    names = [trackers] if isinstance(trackers, str) else list(trackers)
    if not names:
        raise UserError("no trackers given")
    if isinstance(sequences, str):  # "a,b" as on the command line, not its characters one by one
        sequences = [n.strip() for n in sequences.split(",") if n.strip()]
    (be,) = evaluate_runs([bench], names, results=results, root=root, labels=labels, convention=convention,
                          full_precision=full_precision, skip_missing=skip_missing, sequences=sequences)
    return Evaluation(be)


def overlap_over_time(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Plain IoU per frame (NaN where the ground truth has no box): for looking at a track, not for scoring
    (the scores follow each benchmark's own convention)."""
    n = min(len(boxes), len(gt))
    a, b = np.asarray(boxes[:n], dtype=np.float64), np.asarray(gt[:n], dtype=np.float64)
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    valid = np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)
    iou[~valid] = np.nan
    iou[valid & ~np.isfinite(iou)] = 0.0
    return iou


def lost_frame(iou: np.ndarray, visible: np.ndarray | None = None, run: int = 10) -> int | None:
    """The first frame of the first stretch of ``run`` visible frames with no overlap at all: where the
    tracker lost the target (``None`` when it never does)."""
    lost = np.nan_to_num(iou, nan=1.0) <= 0.0
    if visible is not None:
        lost &= np.asarray(visible[:len(lost)], dtype=bool)
    if len(lost) < run:
        return None
    window = np.convolve(lost.astype(np.int32), np.ones(run, dtype=np.int32), mode="valid")
    hits = np.flatnonzero(window == run)
    return int(hits[0]) if len(hits) else None


@dataclass
class Evaluation:
    """One benchmark's scores for several trackers, as DataFrames and plots."""

    bench_eval: BenchEval
    _iou: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)

    # -- what was scored ----------------------------------------------------------------------------------

    @property
    def bench(self) -> str:
        return self.bench_eval.bench

    @property
    def trackers(self) -> list[str]:
        return [t.label for t in self.bench_eval.trackers]

    @property
    def sequences(self) -> list[str]:
        return list(self.bench_eval.sequences)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The convention's metrics, then what its tool prints besides (OP50/OP75)."""
        return self.bench_eval.metrics + self.bench_eval.extra_metrics

    @property
    def headline(self) -> str:
        return self.bench_eval.convention.headline

    @property
    def notes(self) -> list[str]:
        return list(self.bench_eval.notes)

    def _tracker(self, label: str) -> TrackerEval:
        try:
            return self.bench_eval.tracker(label)
        except KeyError:
            raise UserError(f"no tracker {label!r} in this evaluation; have {', '.join(self.trackers)}") from None

    # -- tables -------------------------------------------------------------------------------------------

    @property
    def summary(self) -> pd.DataFrame:
        """Tracker x metric, in percent (columns are the metric keys of ``report --format json``), plus FPS."""
        import pandas as pd

        rows = {t.label: {m: t.value(m) for m in self.metrics} | {"fps": t.fps} for t in self.bench_eval.trackers}
        frame = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
        frame.index.name = "tracker"
        return frame

    @property
    def per_sequence(self) -> pd.DataFrame:
        """One row per (tracker, sequence): every metric in percent, and the sequence's frame count."""
        import pandas as pd

        frames = []
        for t in self.bench_eval.trackers:
            if t.scores is None:
                continue
            data = {"tracker": t.label, "sequence": self.sequences,
                    "frames": [len(self.bench_eval.truth[s].ground_truth) if s in self.bench_eval.truth else None
                               for s in self.sequences]}
            data |= {m: t.scores.sequence_scores(m) for m in self.metrics}
            frames.append(pd.DataFrame(data))
        if not frames:
            return pd.DataFrame(columns=["tracker", "sequence", "frames", *self.metrics])
        return pd.concat(frames, ignore_index=True)

    def attribute_flags(self) -> dict[str, np.ndarray]:
        """Attribute -> mask over :attr:`sequences` (LaSOT's 14 toolkit attributes; empty elsewhere)."""
        if self.bench != "lasot" or not self.sequences:
            return {}
        from ostrack_eval.reports.tables import attribute_flags, lasot_attribute_names

        return attribute_flags(self.bench_eval, lasot_attribute_names()).flags

    @property
    def per_attribute(self) -> pd.DataFrame:
        """Tracker x attribute: the headline score on each attribute's sequences (empty without attributes)."""
        import pandas as pd

        flags = self.attribute_flags()
        rows = {t.label: {a: (t.value(self.headline, f) if f.any() else np.nan) for a, f in flags.items()}
                for t in self.bench_eval.trackers}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(flags), dtype=float)
        frame.index.name = "tracker"
        return frame

    @property
    def curves(self) -> pd.DataFrame:
        """Long format: tracker, curve (success / precision / norm_precision), threshold, value in percent."""
        import pandas as pd

        parts = []
        for t in self.bench_eval.trackers:
            if t.scores is None:
                continue
            for name, curve in t.scores.curves.items():
                parts.append(pd.DataFrame({"tracker": t.label, "curve": name, "threshold": curve.thresholds,
                                           "value": curve.value()}))
        if not parts:
            return pd.DataFrame(columns=["tracker", "curve", "threshold", "value"])
        return pd.concat(parts, ignore_index=True)

    def iou(self, tracker: str, sequence: str) -> np.ndarray:
        """Plain IoU per frame of the tracker's (first) run on ``sequence`` (see :func:`overlap_over_time`)."""
        key = (tracker, sequence)
        if key not in self._iou:
            result = self._tracker(tracker).results.sequences.get(sequence)
            seq = self.bench_eval.truth.get(sequence)
            if result is None or seq is None or not result.runs:
                raise UserError(f"{tracker}: no scored result for sequence {sequence!r}")
            self._iou[key] = overlap_over_time(result.runs[0], seq.ground_truth)
        return self._iou[key]

    def lost_frame(self, tracker: str, sequence: str) -> int | None:
        """0-based frame where ``tracker`` loses the target on ``sequence`` (see :func:`lost_frame`)."""
        seq = self.bench_eval.truth[sequence]
        return lost_frame(self.iou(tracker, sequence), seq.target_visible)

    def gap(self, a: str, b: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Where ``b``'s headline score differs from ``a``'s: per sequence and per attribute, largest first.

        A sequence's ``contribution`` is its share of the difference of the benchmark scores (the two
        sequence sums differenced, over the common denominator), so the contributions add up to the gap.
        """
        import pandas as pd

        ta, tb = self._tracker(a), self._tracker(b)
        if ta.scores is None or tb.scores is None:
            raise UserError(f"{self.bench}: no per-sequence scores to compare (ground truth withheld)")
        m = self.headline
        den = ta.scores.den[m].sum()
        contribution = 100.0 * (tb.scores.num[m] - ta.scores.num[m]) / den
        seq = pd.DataFrame({"sequence": self.sequences, a: ta.scores.sequence_scores(m),
                            b: tb.scores.sequence_scores(m), "difference": tb.scores.sequence_scores(m)
                            - ta.scores.sequence_scores(m), "contribution": contribution})
        seq = seq.reindex(seq["contribution"].abs().sort_values(ascending=False, kind="stable").index)
        rows = []
        for attr, flags in self.attribute_flags().items():
            if not flags.any():
                continue
            sa, sb = ta.value(m, flags), tb.value(m, flags)
            rows.append({"attribute": attr, "sequences": int(flags.sum()), a: sa, b: sb, "difference": sb - sa,
                         "contribution": float(contribution[flags].sum())})
        attrs = pd.DataFrame(rows, columns=["attribute", "sequences", a, b, "difference", "contribution"])
        if len(attrs):
            attrs = attrs.reindex(attrs["difference"].abs().sort_values(ascending=False, kind="stable").index)
        return seq.reset_index(drop=True), attrs.reset_index(drop=True)

    # -- plots on a given Axes ----------------------------------------------------------------------------

    def plot(self, curve: str, ax: Axes) -> Axes:
        """The pytracking-style ``success`` / ``precision`` / ``norm_precision`` plot of every tracker."""
        from ostrack_eval.reports.plots import draw_curves, plot_kind

        if not draw_curves(ax, self.bench_eval, plot_kind(curve)):
            raise UserError(f"{self.bench}: no {curve} curve to plot")
        return ax

    def plot_attributes(self, ax: Axes) -> Axes:
        """Grouped bars: the headline score of every tracker on each attribute."""
        table = self.per_attribute
        if table.empty or not len(table.columns):
            raise UserError(f"{self.bench}: no attribute labels to plot")
        width = 0.8 / len(table.index)
        x = np.arange(len(table.columns))
        for k, (label, row) in enumerate(table.iterrows()):
            offset = (k - (len(table.index) - 1) / 2) * width
            ax.bar(x + offset, row.to_numpy(), width, label=str(label).replace("$", r"\$"), color=f"C{k % 10}")
        ax.set_xticks(x, list(table.columns))
        ax.set(ylabel=f"{METRIC_LABELS[self.headline]} [%]", ylim=(0, 100))
        ax.legend(fontsize=8, ncols=min(len(table.index), 3))
        ax.grid(True, axis="y", linestyle="-.")
        return ax

    def plot_iou(self, sequence: str, ax: Axes, trackers: list[str] | None = None) -> Axes:
        """IoU over time of each tracker on one sequence (frames without a ground-truth box left blank)."""
        for k, label in enumerate(trackers or self.trackers):
            ax.plot(self.iou(label, sequence), linewidth=1, color=f"C{k % 10}", label=label.replace("$", r"\$"))
        ax.set(xlabel="frame", ylabel="IoU", ylim=(0, 1), title=sequence.replace("$", r"\$"))
        ax.legend(fontsize=8)
        return ax
