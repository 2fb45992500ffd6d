"""Property tests (hypothesis) for IoU and the threshold curves, and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ostrack_eval.metrics import (
    CONVENTIONS,
    bootstrap_ci,
    frame_measures,
    iou_continuous,
    iou_pixel,
    paired_difference_ci,
    resampled_scores,
    score_sequences,
    threshold_counts,
)
from ostrack_eval.metrics.curves import CENTRE_51, OVERLAP_21

coords = st.floats(-200, 200, allow_nan=False, width=64)
sizes = st.floats(0.5, 150, allow_nan=False, width=64)


@st.composite
def boxes(draw, n=None):
    n = draw(st.integers(1, 20)) if n is None else n
    xy = draw(arrays(np.float64, (n, 2), elements=coords))
    wh = draw(arrays(np.float64, (n, 2), elements=sizes))
    return np.hstack([xy, wh])


@st.composite
def box_pairs(draw):
    a = draw(boxes())
    return a, draw(boxes(len(a)))


@settings(max_examples=150, deadline=None)
@given(box_pairs())
def test_iou_range_symmetry_identity(pair):
    a, b = pair
    ab, ba = iou_pixel(a, b), iou_pixel(b, a)
    assert np.all((ab >= 0) & (ab <= 1 + 1e-12))
    np.testing.assert_allclose(ab, ba, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(iou_pixel(a, a), 1.0)
    # for boxes of positive size the +1-pixel and the continuous IoU are the same number
    np.testing.assert_allclose(ab, iou_continuous(a, b), rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(box_pairs(), st.floats(-50, 50), st.floats(-50, 50))
def test_iou_translation_invariant(pair, dx, dy):
    a, b = pair
    shift = np.array([dx, dy, 0, 0])
    np.testing.assert_allclose(iou_pixel(a + shift, b + shift), iou_pixel(a, b), atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(box_pairs())
def test_iou_grows_when_a_box_is_grown_to_contain_the_other(pair):
    a, b = pair
    x1 = np.minimum(a[:, 0], b[:, 0])
    y1 = np.minimum(a[:, 1], b[:, 1])
    x2 = np.maximum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.maximum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    hull = np.column_stack([x1, y1, x2 - x1, y2 - y1])
    # b inside the hull: IoU(hull, b) = area(b) / area(hull) >= 0
    np.testing.assert_allclose(iou_pixel(hull, b), b[:, 2] * b[:, 3] / (hull[:, 2] * hull[:, 3]), rtol=1e-9)


values = arrays(np.float64, st.integers(0, 60),
                elements=st.one_of(st.floats(-2, 60, allow_nan=False), st.sampled_from([np.nan, np.inf, -1.0, 0.5, 20.0])))


@settings(max_examples=150, deadline=None)
@given(values, st.integers(1, 4), st.booleans())
def test_threshold_counts_match_brute_force(v, nseg, above):
    rng = np.random.default_rng(len(v))
    seg = rng.integers(0, nseg, len(v))
    for t in (OVERLAP_21, CENTRE_51):
        got = threshold_counts(v, t, above, seg, nseg)
        with np.errstate(invalid="ignore"):
            hit = v[:, None] > t[None] if above else v[:, None] <= t[None]
        want = np.stack([hit[seg == s].sum(axis=0) for s in range(nseg)])
        np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(box_pairs())
def test_curves_are_monotone_and_auc_is_their_mean(pair):
    pred, gt = pair
    conv = CONVENTIONS["ostrack"]
    s = score_sequences(conv, ["a"], [[frame_measures(conv, pred, gt)]])
    succ, prec = s.curves["success"].value(), s.curves["precision"].value()
    assert np.all(np.diff(succ) <= 1e-9) and np.all(np.diff(prec) >= -1e-9)
    assert s.score("auc") == pytest.approx(succ.mean())
    assert s.score("precision") == pytest.approx(prec[20])


# ---- bootstrap --------------------------------------------------------------------------------------

def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    num = rng.uniform(0.3, 0.9, 80)
    den = np.ones(80)
    a = bootstrap_ci(num, den, samples=2000, seed=7)
    b = bootstrap_ci(num, den, samples=2000, seed=7)
    assert a == b
    point = 100 * num.mean()
    assert a.low < point < a.high
    # the standard error of a mean of 80 uniform(0.3, 0.9) values is ~1.9 points: the 95% width ~7.6
    assert 4 < a.high - a.low < 12


def test_bootstrap_of_a_constant_collapses_and_ratios_are_resampled_jointly():
    assert bootstrap_ci(np.full(10, 0.5), np.ones(10), samples=500).low == pytest.approx(50.0)
    # frame-weighted: a draw's score is sum(w * num) / sum(w * den) over the drawn sequences (a ratio of
    # sums), not the mean of the drawn sequences' own ratios. Enumerate all 27 equally likely draws of
    # 3 sequences: every bootstrap value must be one of their ratios, and the draws' mean must approach
    # the exact mean over the 27.
    num, den = np.array([3.0, 0.0, 5.0]), np.array([3.0, 40.0, 5.0])
    draws = resampled_scores(num, den, samples=6000, seed=1)[:, 0]
    picks = np.array(np.meshgrid([0, 1, 2], [0, 1, 2], [0, 1, 2])).reshape(3, -1).T
    ratio = 100 * num[picks].sum(axis=1) / den[picks].sum(axis=1)
    assert np.abs(draws[:, None] - np.unique(ratio)[None]).min(axis=1).max() < 1e-9
    # {0, 0, 1}: (3 + 3 + 0) / (3 + 3 + 40) = 13.04 %, where the mean of ratios would say 66.7 %
    assert np.isclose(draws, 100 * 6 / 46).any()
    mean_of_ratios = 100 * (num / den)[picks].mean(axis=1)
    assert draws.mean() == pytest.approx(ratio.mean(), abs=2.0)  # 38.1; 4 standard errors
    assert abs(ratio.mean() - mean_of_ratios.mean()) > 20.0  # 38.1 vs 66.7: the rules differ here


def test_paired_difference_removes_shared_sequence_difficulty():
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0.1, 0.9, 100)  # sequences differ a lot ...
    a = difficulty
    b = np.clip(difficulty + 0.02 + rng.normal(0, 0.005, 100), 0, 1)  # ... b is a little better on each
    ones = np.ones(100)
    diff = paired_difference_ci(a, ones, b, ones, samples=2000, seed=0)
    assert 1.5 < diff.low < 2.0 < diff.high < 2.5  # +2 points, tightly
    ia, ib = bootstrap_ci(a, ones, 2000, 0), bootstrap_ci(b, ones, 2000, 0)
    assert ia.high > ib.low  # unpaired intervals overlap: they could not tell the trackers apart
    same = paired_difference_ci(a, ones, a, ones, samples=500)
    assert same.low == same.high == 0.0
