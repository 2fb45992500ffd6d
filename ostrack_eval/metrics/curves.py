"""Threshold sets and vectorised threshold counting (success / precision curves).

Comparisons follow the reference tools exactly: success counts ``value > threshold`` (the current
TrackingNet devkit ``value >= threshold``), precision counts ``value <= threshold``. NaN never counts (as a
Python/NumPy comparison with NaN is false). Counting works on many sequences at once: frames carry a
sequence index and the result is a ``(S, T)`` count table, computed with one ``searchsorted`` and one
``bincount`` (exact float comparisons, no binning error).
"""

from __future__ import annotations

import numpy as np

# pytracking builds these with torch.arange in float64 and pysot with np.arange; torch >= 2 returns the
# adjacent double at two points (0.65, 0.75: ``0.6500000000000001``), which only matters for an IoU that
# is exactly that double. NumPy's values are used (what the arange call means on paper).
OVERLAP_21 = np.arange(0.0, 1.0 + 0.05, 0.05)
CENTRE_51 = np.arange(0, 51, dtype=np.float64)
NORM_CENTRE_51 = np.arange(0, 51, dtype=np.float64) / 100.0
# TrackingNet server: 21 points on every axis (np.linspace)
LINSPACE_21 = np.linspace(0.0, 1.0, 21)
CENTRE_LINSPACE_21 = np.linspace(0.0, 50.0, 21)
NORM_CENTRE_LINSPACE_21 = np.linspace(0.0, 0.5, 21)
# GOT-10k toolkit success curve
OVERLAP_101 = np.linspace(0.0, 1.0, 101)


def _check_thresholds(thresholds: np.ndarray) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if len(t) == 0 or np.any(np.diff(t) <= 0):
        raise ValueError("thresholds must be a non-empty strictly increasing sequence")
    return t


def threshold_counts(values: np.ndarray, thresholds: np.ndarray, above: bool,
                     segments: np.ndarray | None = None, num_segments: int | None = None, *,
                     inclusive: bool = False) -> np.ndarray:
    """How many ``values`` pass each threshold, per segment.

    ``above=True`` counts ``value > t`` (success curves; ``inclusive=True``: ``value >= t``, the current
    TrackingNet devkit), ``above=False`` counts ``value <= t`` (precision curves). ``segments`` gives each
    value's sequence index (``0 .. num_segments-1``); without it the result has one row. Returns an int64 array ``(num_segments, len(thresholds))``.
    """
    t = _check_thresholds(thresholds)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    # NaN must fail every comparison: send it below all thresholds for ">" and above all for "<="
    v = np.where(np.isnan(v), -np.inf if above else np.inf, v)
    # thresholds strictly below each value (inclusive: at or below it)
    k = np.searchsorted(t, v, side="right" if above and inclusive else "left")
    nt = len(t) + 1
    if segments is None:
        seg, ns = np.zeros(len(v), dtype=np.int64), 1
    else:
        seg = np.asarray(segments, dtype=np.int64).reshape(-1)
        if len(seg) != len(v):
            raise ValueError("segments and values differ in length")
        ns = int(num_segments if num_segments is not None else (seg.max() + 1 if len(seg) else 0))
    hist = np.bincount(seg * nt + k, minlength=ns * nt).reshape(ns, nt)
    cum = np.cumsum(hist, axis=1)[:, :-1]  # values with at most j thresholds below them
    if above:
        # value > t_j (inclusive: >=)  <=>  more than j thresholds below (inclusive: at or below) it
        return hist.sum(axis=1, keepdims=True) - cum
    return cum  # value <= t_j  <=>  at most j thresholds below


def success_curve(ious: np.ndarray, thresholds: np.ndarray = OVERLAP_21, denominator: float | None = None) -> np.ndarray:
    """Fraction of frames with IoU ``>`` each threshold (denominator: all frames unless given)."""
    ious = np.asarray(ious, dtype=np.float64).reshape(-1)
    den = len(ious) if denominator is None else denominator
    return threshold_counts(ious, thresholds, above=True)[0] / den


def auc_mean(curve: np.ndarray) -> np.ndarray:
    """Area under a success curve as pytracking/GOT-10k define it: the mean of its points (last axis)."""
    return np.asarray(curve, dtype=np.float64).mean(axis=-1)


def auc_trapz(curve: np.ndarray, x: np.ndarray = LINSPACE_21) -> np.ndarray:
    """TrackingNet server's area: trapezoid rule over ``x`` (endpoints count half)."""
    y = np.asarray(curve, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    # written out rather than np.trapezoid/np.trapz, whose name changed between NumPy 1.x and 2.x
    return (np.diff(x) * (y[..., 1:] + y[..., :-1]) / 2.0).sum(axis=-1)


def value_at(curve: np.ndarray, thresholds: np.ndarray, at: float) -> np.ndarray:
    """The curve point at threshold ``at`` (e.g. precision at 20 px), last axis."""
    t = np.asarray(thresholds, dtype=np.float64)
    idx = np.flatnonzero(np.isclose(t, at, rtol=0.0, atol=1e-12))
    if len(idx) != 1:
        raise ValueError(f"threshold {at} is not in the threshold set")
    return np.asarray(curve)[..., idx[0]]
