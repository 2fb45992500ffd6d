"""Paired bootstrap over sequences: confidence intervals for scores and for differences of scores.

A resample draws ``S`` sequences with replacement; a score ``Σ num / Σ den`` becomes ``(w·num)/(w·den)``
with ``w`` the draw counts. Drawing one weight matrix and applying it to every tracker's sums makes the
bootstrap *paired*: the difference of two trackers is taken on the same resampled sequences, which is
what removes the (large) between-sequence variance from the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_SAMPLES = 10_000
DEFAULT_SEED = 0
_CHUNK = 1_000  # resamples per matrix product (bounds memory to ~S * 1000 floats)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def resampled_scores(num: np.ndarray, den: np.ndarray, samples: int = DEFAULT_SAMPLES,
                     seed: int = DEFAULT_SEED) -> np.ndarray:
    """Bootstrap distribution of ``100 · Σ num / Σ den`` for each column.

    ``num`` and ``den`` are ``(S, K)``: one column per score (metrics of one or several trackers over the
    same ``S`` sequences). Returns ``(samples, K)``. The same ``seed`` gives the same draws, so
    columns scored in separate calls are still paired.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    if num.ndim == 1:
        num, den = num[:, None], den[:, None]
    if num.shape != den.shape:
        raise ValueError("num and den must have the same shape")
    s = num.shape[0]
    if s == 0:
        raise ValueError("cannot bootstrap zero sequences")
    rng = np.random.default_rng(seed)
    out = np.empty((samples, num.shape[1]))
    for start in range(0, samples, _CHUNK):
        b = min(_CHUNK, samples - start)
        draws = rng.integers(0, s, size=(b, s))
        weights = np.bincount((draws + s * np.arange(b)[:, None]).ravel(), minlength=b * s).reshape(b, s)
        weights = weights.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + b] = 100.0 * (weights @ num) / (weights @ den)
    return out


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> list[Interval]:
    """Percentile intervals of each column of ``draws``."""
    alpha = (1.0 - level) / 2.0
    lo, hi = np.percentile(np.asarray(draws), [100 * alpha, 100 * (1 - alpha)], axis=0)
    return [Interval(float(a), float(b)) for a, b in zip(np.atleast_1d(lo), np.atleast_1d(hi))]


@dataclass(frozen=True)
class PairedIntervals:
    """``scores[t][k]``: interval of tracker ``t``'s score ``k``; ``diffs[t - 1][k]``: of tracker ``t``'s
    score minus tracker 0's (percentage points), for ``t >= 1``."""

    scores: list[list[Interval]]
    diffs: list[list[Interval]]


def paired_intervals(num: np.ndarray, den: np.ndarray, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
                     level: float = 0.95) -> PairedIntervals:
    """Intervals of every score of every tracker, and of every tracker's difference to tracker 0.

    ``num`` and ``den`` are ``(S, T, K)``: ``S`` sequences, ``T`` trackers, ``K`` scores. One weight
    matrix serves all ``T * K`` columns, so every difference is paired.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    if num.ndim != 3 or num.shape != den.shape:
        raise ValueError("num and den must be (sequences, trackers, scores) arrays of one shape")
    s, t, k = num.shape
    draws = resampled_scores(num.reshape(s, t * k), den.reshape(s, t * k), samples, seed).reshape(samples, t, k)
    scores = [percentile_interval(draws[:, i], level) for i in range(t)]
    diffs = [percentile_interval(draws[:, i] - draws[:, 0], level) for i in range(1, t)]
    return PairedIntervals(scores, diffs)


def _columns(*arrays: np.ndarray) -> np.ndarray:
    """``(S,)`` arrays as the ``(S, trackers, 1)`` layout of :func:`paired_intervals`."""
    return np.column_stack([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])[:, :, None]


def bootstrap_ci(num: np.ndarray, den: np.ndarray, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
                 level: float = 0.95) -> Interval:
    """Confidence interval of one score (percent)."""
    return paired_intervals(_columns(num), _columns(den), samples, seed, level).scores[0][0]


def paired_difference_ci(num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray,
                         samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED, level: float = 0.95) -> Interval:
    """Confidence interval of ``score_b - score_a`` (percentage points), sequences resampled jointly."""
    return paired_intervals(_columns(num_a, num_b), _columns(den_a, den_b), samples, seed, level).diffs[0][0]
