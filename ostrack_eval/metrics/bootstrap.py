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


def bootstrap_ci(num: np.ndarray, den: np.ndarray, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
                 level: float = 0.95) -> Interval:
    """Confidence interval of one score (percent)."""
    return percentile_interval(resampled_scores(num, den, samples, seed), level)[0]


def paired_difference_ci(num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray,
                         samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED, level: float = 0.95) -> Interval:
    """Confidence interval of ``score_b - score_a`` (percentage points), sequences resampled jointly."""
    draws = resampled_scores(np.column_stack([num_a, num_b]), np.column_stack([den_a, den_b]), samples, seed)
    return percentile_interval(draws[:, 1] - draws[:, 0], level)[0]
