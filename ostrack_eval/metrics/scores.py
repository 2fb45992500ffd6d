"""From per-frame measures of many sequences (and runs) to benchmark scores, all at once.

Every benchmark score here is a ratio of per-sequence sums, ``Σ num_s / Σ den_s``:

* sequence-averaged scores (pytracking AUC/P/P_Norm, TrackingNet, ITB mIoU): ``num_s`` is the
  sequence's own score and ``den_s = 1``; several runs of a sequence are averaged first (pytracking's
  ``merge_multiple_runs``);
* frame-weighted scores (GOT-10k AO/SR): ``num_s`` sums over the sequence's valid frames of all its
  repetitions and ``den_s`` counts them (the toolkit concatenates every frame of every repetition).

Keeping the two sums per sequence makes subsets (attributes, scenarios) and the bootstrap
(:mod:`ostrack_eval.metrics.bootstrap`) one weighted sum each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ostrack_eval.metrics.conventions import Convention
from ostrack_eval.metrics.curves import (
    CENTRE_51,
    CENTRE_LINSPACE_21,
    LINSPACE_21,
    NORM_CENTRE_51,
    NORM_CENTRE_LINSPACE_21,
    OVERLAP_21,
    OVERLAP_101,
    auc_mean,
    auc_trapz,
    threshold_counts,
    value_at,
)
from ostrack_eval.metrics.frames import FrameMeasures


@dataclass(frozen=True)
class Curve:
    """A curve per sequence as ``num (S, T) / den (S,)``; the benchmark curve is ``Σ num / Σ den``."""

    thresholds: np.ndarray
    num: np.ndarray
    den: np.ndarray

    def value(self) -> np.ndarray:
        """The benchmark curve in percent."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * self.num.sum(axis=0) / self.den.sum()


@dataclass(frozen=True)
class BenchScores:
    """Scores of one tracker on one benchmark, kept per sequence so any subset can be scored."""

    convention: Convention
    sequences: tuple[str, ...]
    num: dict[str, np.ndarray]
    den: dict[str, np.ndarray]
    curves: dict[str, Curve]
    runs: np.ndarray = field(repr=False)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.num)

    def score(self, metric: str, subset: np.ndarray | None = None) -> float:
        """Benchmark score in percent (``subset``: indices or a boolean mask over ``sequences``)."""
        num, den = self.num[metric], self.den[metric]
        if subset is not None:
            num, den = num[subset], den[subset]
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(100.0 * num.sum() / den.sum())

    def sequence_scores(self, metric: str) -> np.ndarray:
        """Per-sequence scores in percent (NaN where a sequence has nothing to score)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * self.num[metric] / self.den[metric]


@dataclass(frozen=True)
class _Frames:
    """All (sequence, run) pairs' frames concatenated; ``seg`` is each frame's pair index."""

    pair_seq: np.ndarray
    starts: np.ndarray  # first pair of each sequence (pairs are grouped by sequence)
    runs: np.ndarray
    overlap: np.ndarray
    centre: np.ndarray
    norm_centre: np.ndarray
    seg: np.ndarray
    seg_centre: np.ndarray
    den: np.ndarray

    @property
    def pairs(self) -> int:
        return len(self.pair_seq)

    def mean_runs(self, x: np.ndarray) -> np.ndarray:
        shape = (-1,) + (1,) * (x.ndim - 1)
        return np.add.reduceat(x, self.starts, axis=0) / self.runs.reshape(shape)

    def sum_runs(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, self.starts, axis=0)


def _concat(measures: list[list[FrameMeasures]]) -> _Frames:
    runs = np.array([len(r) for r in measures], dtype=np.int64)
    if len(runs) == 0 or (runs == 0).any():
        raise ValueError("every sequence needs at least one run")
    flat = [fm for r in measures for fm in r]
    pair_seq = np.repeat(np.arange(len(measures)), runs)
    starts = np.concatenate([[0], np.cumsum(runs)[:-1]])
    lengths = np.array([len(fm.overlap) for fm in flat])
    clengths = np.array([len(fm.centre) for fm in flat])
    pairs = np.arange(len(flat))
    return _Frames(pair_seq, starts, runs,
                   np.concatenate([fm.overlap for fm in flat]),
                   np.concatenate([fm.centre for fm in flat]),
                   np.concatenate([fm.norm_centre for fm in flat]),
                   np.repeat(pairs, lengths), np.repeat(pairs, clengths),
                   np.array([fm.denominator for fm in flat], dtype=np.float64))


def _per_pair_curve(f: _Frames, values: np.ndarray, seg: np.ndarray, thresholds: np.ndarray, above: bool,
                    inclusive: bool = False) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return threshold_counts(values, thresholds, above, seg, f.pairs, inclusive=inclusive) / f.den[:, None]


def _sequence_scored(conv: Convention, sequences: tuple[str, ...], f: _Frames, curves: dict[str, np.ndarray],
                     thresholds: dict[str, np.ndarray], metrics: dict[str, np.ndarray]) -> BenchScores:
    """Sequence-averaged family: per-pair values averaged over runs; every sequence weighs 1."""
    ones = np.ones(len(sequences))
    merged_curves = {k: Curve(thresholds[k], f.mean_runs(v), ones) for k, v in curves.items()}
    num = {k: f.mean_runs(v) for k, v in metrics.items()}
    return BenchScores(conv, sequences, num, {k: ones for k in num}, merged_curves, f.runs)


def _pytracking(conv: Convention, sequences: tuple[str, ...], f: _Frames) -> BenchScores:
    success = _per_pair_curve(f, f.overlap, f.seg, OVERLAP_21, True)
    precision = _per_pair_curve(f, f.centre, f.seg_centre, CENTRE_51, False)
    norm = _per_pair_curve(f, f.norm_centre, f.seg_centre, NORM_CENTRE_51, False)
    metrics = {"auc": auc_mean(success), "norm_precision": value_at(norm, NORM_CENTRE_51, 0.20),
               "precision": value_at(precision, CENTRE_51, 20.0),
               # pytracking's print_results also prints the success curve at overlap 0.5 and 0.75
               "op50": value_at(success, OVERLAP_21, 0.50), "op75": value_at(success, OVERLAP_21, 0.75)}
    return _sequence_scored(conv, sequences, f, {"success": success, "precision": precision, "norm_precision": norm},
                            {"success": OVERLAP_21, "precision": CENTRE_51, "norm_precision": NORM_CENTRE_51},
                            metrics)


def _trackingnet(conv: Convention, sequences: tuple[str, ...], f: _Frames) -> BenchScores:
    # the devkit's metrics.py since 967661d (the server's code) counts IoU >= t: IoU 0 frames pass
    # t = 0 and perfect (integer) boxes pass t = 1; its first version counted IoU > t
    success = _per_pair_curve(f, f.overlap, f.seg, LINSPACE_21, True, inclusive=True)
    precision = _per_pair_curve(f, f.centre, f.seg_centre, CENTRE_LINSPACE_21, False)
    norm = _per_pair_curve(f, f.norm_centre, f.seg_centre, NORM_CENTRE_LINSPACE_21, False)
    # the server integrates every curve over the 0..1 axis of the success plot
    metrics = {"auc": auc_trapz(success), "norm_precision": auc_trapz(norm), "precision": auc_trapz(precision)}
    return _sequence_scored(conv, sequences, f, {"success": success, "precision": precision, "norm_precision": norm},
                            {"success": LINSPACE_21, "precision": CENTRE_LINSPACE_21,
                             "norm_precision": NORM_CENTRE_LINSPACE_21}, metrics)


def _itb(conv: Convention, sequences: tuple[str, ...], f: _Frames) -> BenchScores:
    success = _per_pair_curve(f, f.overlap, f.seg, OVERLAP_21, True)
    precision = _per_pair_curve(f, f.centre, f.seg_centre, CENTRE_51, False)
    norm = _per_pair_curve(f, f.norm_centre, f.seg_centre, NORM_CENTRE_51, False)
    counted = f.overlap > -0.1  # the toolkit's mean(iou[iou > -0.1]); NaN is left out the same way
    sums = np.bincount(f.seg[counted], weights=f.overlap[counted], minlength=f.pairs)
    counts = np.bincount(f.seg[counted], minlength=f.pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        miou = sums / counts
    metrics = {"miou": miou, "auc": auc_mean(success), "norm_precision": value_at(norm, NORM_CENTRE_51, 0.20),
               "precision": value_at(precision, CENTRE_51, 20.0)}
    return _sequence_scored(conv, sequences, f, {"success": success, "precision": precision, "norm_precision": norm},
                            {"success": OVERLAP_21, "precision": CENTRE_51, "norm_precision": NORM_CENTRE_51},
                            metrics)


def _got10k(conv: Convention, sequences: tuple[str, ...], f: _Frames) -> BenchScores:
    """Frame-weighted: sums over valid frames of all repetitions, divided only at the very end."""
    n = f.sum_runs(f.den)
    iou_sum = f.sum_runs(np.bincount(f.seg, weights=f.overlap, minlength=f.pairs))

    def above(t: float) -> np.ndarray:
        return f.sum_runs(np.bincount(f.seg[f.overlap > t], minlength=f.pairs).astype(np.float64))

    counts = f.sum_runs(threshold_counts(f.overlap, OVERLAP_101, True, f.seg, f.pairs).astype(np.float64))
    num = {"ao": iou_sum, "sr50": above(0.5), "sr75": above(0.75)}
    return BenchScores(conv, sequences, num, {k: n for k in num}, {"success": Curve(OVERLAP_101, counts, n)}, f.runs)


_FAMILY_SCORERS = {"pytracking": _pytracking, "trackingnet": _trackingnet, "itb": _itb, "got10k": _got10k}


def score_sequences(convention: Convention, sequences: list[str] | tuple[str, ...],
                    measures: list[list[FrameMeasures]]) -> BenchScores:
    """Score a benchmark: ``measures[s]`` holds one :class:`FrameMeasures` per run of sequence ``s``."""
    if len(sequences) != len(measures):
        raise ValueError("one list of run measures per sequence is needed")
    return _FAMILY_SCORERS[convention.family](convention, tuple(sequences), _concat(measures))
