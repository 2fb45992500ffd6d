"""Metrics: hand-computed tiny cases per measure and per convention.

Every expected number below is worked out by hand in the comment beside it, from the reference tools'
rules (metric_conventions.md); each case is chosen so that a plausible slip (strict vs non-strict
threshold, frame- vs sequence-weighting, a missing +1, dividing by valid instead of all frames, …)
changes the result.
"""

from __future__ import annotations

import numpy as np
import pytest

from ostrack_eval.metrics import (
    CONVENTIONS,
    ResultError,
    centre_error,
    centres_pixel,
    centres_plus_one,
    clip_to_image,
    frame_measures,
    iou_continuous,
    iou_pixel,
    iou_rounded_pixel,
    normalised_centre_error,
    score_sequences,
    success_curve,
    threshold_counts,
)
from ostrack_eval.metrics.curves import CENTRE_51, LINSPACE_21, OVERLAP_21, auc_trapz

# The hand cases feed the reference tools' scoring fractional boxes directly (as pytracking's analysis
# scores a float file), so they use the full-precision variants; the official runner's integer step
# that the default conventions add has its own tests below.
OST = CONVENTIONS["ostrack"].full_precision()
PYT = CONVENTIONS["pytracking"].full_precision()
GOT = CONVENTIONS["got10k"].full_precision()
TN = CONVENTIONS["trackingnet_server"].full_precision()
ITB = CONVENTIONS["itb"]


def score(conv, preds, gts, **kw):
    """Score one run per sequence."""
    measures = [[frame_measures(conv, np.asarray(p, float), np.asarray(g, float), **kw)] for p, g in zip(preds, gts)]
    return score_sequences(conv, [f"s{i}" for i in range(len(preds))], measures)


# ---- boxes ------------------------------------------------------------------------------------------

def test_iou_pixel_hand_computed():
    # For boxes of positive size the +1-pixel spans give the same IoU as continuous intervals
    # (min(x + w - 1) - max(x) + 1 == min(x + w) - max(x)); the property tests check that. These are
    # plain hand-computed IoUs; the +1 matters in the centre masks (ITB) and after rounding (TrackingNet).
    # [0,0,10,10] covers pixels 0..9, [5,5,10,10] covers 5..14: overlap 5x5 = 25, union 100+100-25 = 175
    assert iou_pixel(np.array([[0, 0, 10, 10.]]), np.array([[5, 5, 10, 10.]]))[0] == pytest.approx(25 / 175)
    # touching spans share no pixel: 0..9 and 10..19
    assert iou_pixel(np.array([[0, 0, 10, 10.]]), np.array([[10, 0, 10, 10.]]))[0] == 0.0
    # one pixel column in common: 0..9 and 9..18 -> 1x10 = 10, union 190
    assert iou_pixel(np.array([[0, 0, 10, 10.]]), np.array([[9, 0, 10, 10.]]))[0] == pytest.approx(10 / 190)


def test_iou_rounded_pixel_rounds_half_to_even():
    gt = np.array([[0, 0, 10, 10.]])
    # 0.4 -> 0 and 10.5 -> 10 (half to even, as np.round): the box becomes the GT
    assert iou_rounded_pixel(np.array([[0.4, 0, 10.5, 10]]), gt)[0] == 1.0
    # unrounded it would be 9.6*10 / (105 + 100 - 96)
    assert iou_pixel(np.array([[0.4, 0, 10.5, 10]]), gt)[0] == pytest.approx(96 / 109)
    # 11.5 -> 12: 10x10 inside 12x10 -> 100 / 120
    assert iou_rounded_pixel(np.array([[0, 0, 11.5, 10]]), gt)[0] == pytest.approx(100 / 120)


def test_itb_centre_mask_uses_the_plus_one_pixel_centre():
    # GT [0, 5, 1, 10]: the pixel centre x + (w - 1) / 2 is 0, so the toolkit's ``gc > 0`` mask drops the
    # frame and its centre error is -1 (a hit at every threshold); the continuous centre x + w / 2 = 0.5
    # would keep it, and the far-away prediction would miss.
    gt = np.array([[0, 5, 1, 10.], [20, 20, 10, 10]])
    pred = np.array([[100, 100, 10, 10.], [100, 100, 10, 10]])
    m = frame_measures(ITB, pred, gt)
    assert m.centre[0] == -1.0 and m.norm_centre[0] == -1.0
    assert m.centre[1] == pytest.approx(np.hypot(80, 80))
    s = score_sequences(ITB, ["a"], [[m]])
    assert s.score("precision") == 50.0 and s.score("norm_precision") == 50.0


def test_trackingnet_overlap_is_the_rounded_pixel_iou():
    rng = np.random.default_rng(5)
    gt = np.column_stack([rng.uniform(0, 50, (40, 2)), rng.uniform(5, 30, (40, 2))])
    pred = gt + rng.normal(0, 2, gt.shape)
    m = frame_measures(TN, pred, gt)
    expected = iou_rounded_pixel(pred, gt)
    expected[0] = 1.0  # row 0 is the ground truth
    np.testing.assert_array_equal(m.overlap, expected)


def test_got10k_clipping_keeps_width_of_a_box_moved_right():
    # the toolkit clips x to 0 but keeps w=10 (clipped to W - x = 20), so [-5,0,10,10] becomes [0,0,10,10]
    clipped = clip_to_image(np.array([[-5, 0, 10, 10.], [15, 18, 10, 10]]), 20, 20)
    np.testing.assert_array_equal(clipped, [[0, 0, 10, 10], [15, 18, 5, 2]])
    gt = np.zeros((2, 4))
    gt[:] = [0, 0, 10, 10]
    m = frame_measures(GOT, np.array([[0, 0, 10, 10], [-5, 0, 10, 10.]]), gt, resolution=(20, 20))
    assert m.overlap.tolist() == [1.0]  # frame 0 dropped; frame 1 clipped onto the GT


def test_iou_continuous_eps_and_clip():
    zero = np.zeros((1, 4))
    assert iou_continuous(zero, zero, eps=np.finfo(float).eps)[0] == 0.0  # GOT-10k: 0 / eps
    assert np.isnan(iou_continuous(zero, zero)[0])  # pysot: 0 / 0


def test_centres_and_errors():
    boxes = np.array([[10, 20, 5, 7.]])
    np.testing.assert_array_equal(centres_pixel(boxes), [[12, 23]])  # x + (w-1)/2
    np.testing.assert_array_equal(centres_plus_one(boxes), [[13, 24]])  # x + (w+1)/2
    assert centre_error(np.array([[0, 0.]]), np.array([[3, 4.]]))[0] == 5.0
    # normalised by the GT size: dx = 3/6, dy = 4/8 -> sqrt(0.5)
    assert normalised_centre_error(np.array([[0, 0.]]), np.array([[3, 4.]]), np.array([[0, 0, 6, 8.]]))[0] == \
        pytest.approx(np.sqrt(0.5))


# ---- curves -----------------------------------------------------------------------------------------

def test_thresholds_strict_for_success_inclusive_for_precision():
    t = np.array([0.25, 0.5, 0.75])
    v = np.array([0.5, 0.75, 0.25, np.nan])
    # success counts v > t: 0.25 -> {0.5, 0.75}; 0.5 -> {0.75}; 0.75 -> {}
    assert threshold_counts(v, t, above=True)[0].tolist() == [2, 1, 0]
    # precision counts v <= t: 0.25 -> {0.25}; 0.5 -> {0.5, 0.25}; 0.75 -> all three; NaN never
    assert threshold_counts(v, t, above=False)[0].tolist() == [1, 2, 3]


def test_threshold_counts_per_segment():
    v = np.array([1.0, 0.0, 1.0, 1.0, -1.0])
    seg = np.array([0, 0, 1, 1, 2])
    counts = threshold_counts(v, np.array([0.0, 0.5]), above=True, segments=seg, num_segments=4)
    assert counts.tolist() == [[1, 1], [2, 2], [0, 0], [0, 0]]


def test_success_curve_21_points():
    # IoU 1 passes thresholds 0..0.95 (20 of 21), IoU 1/3 passes 0..0.30 (7), IoU 0 passes none
    curve = success_curve(np.array([1.0, 1 / 3, 0.0]))
    assert len(curve) == 21
    assert curve.sum() * 3 == pytest.approx(27)


# ---- pytracking / OSTrack ---------------------------------------------------------------------------

GT4 = [[1, 1, 10, 10]] * 4


def test_pytracking_auc_precision_norm_precision_hand_computed():
    # frame 0 is overwritten by the GT; IoUs 1, 1, 1/3 (5 of 10 columns overlap), 0
    pred = [[99, 99, 3, 3], [1, 1, 10, 10], [6, 1, 10, 10], [50, 50, 10, 10]]
    s = score(OST, [pred], [GT4])
    # AUC: (20 + 20 + 7 + 0) / 4 frames / 21 thresholds
    assert s.score("auc") == pytest.approx(100 * 47 / 84)
    # centre errors 0, 0, 5, 49*sqrt(2): three within 20 px
    assert s.score("precision") == pytest.approx(75.0)
    # normalised errors 0, 0, 0.5, 6.9: two within 0.20
    assert s.score("norm_precision") == pytest.approx(50.0)


def test_precision_counts_an_error_of_exactly_20_pixels():
    gt = [[0, 0, 10, 10]] * 2
    s = score(OST, [[[0, 0, 10, 10], [20, 0, 10, 10]]], [gt])
    assert s.score("precision") == 100.0  # error 20 <= 20
    s = score(OST, [[[0, 0, 10, 10], [20.5, 0, 10, 10]]], [gt])
    assert s.score("precision") == 50.0


def test_pytracking_needs_positive_xy_ostrack_does_not():
    gt = [[1, 1, 10, 10], [0, 5, 10, 10]]  # frame 1 touches x = 0
    pred = gt
    # OSTrack: both frames valid, IoU 1 -> 20/21 each
    assert score(OST, [pred], [gt]).score("auc") == pytest.approx(100 * 20 / 21)
    # pytracking: frame 1 invalid (overlap -1) but still in the denominator -> (20 + 0) / 2 / 21
    assert score(PYT, [pred], [gt]).score("auc") == pytest.approx(100 * 10 / 21)


def test_invalid_frames_stay_in_the_denominator_and_norm_precision_counts_them():
    # TNL2K-style absent frame 0,0,0,0: overlap -1 and centre error inf (failures), but the
    # normalised error is -1, i.e. a success at every threshold (the reference's quirk)
    gt = [[1, 1, 10, 10], [0, 0, 0, 0]]
    pred = [[1, 1, 10, 10], [40, 40, 10, 10]]
    s = score(OST, [pred], [gt], tag="tnl2k")
    assert s.score("auc") == pytest.approx(100 * 10 / 21)
    assert s.score("precision") == 50.0
    assert s.score("norm_precision") == 100.0


def test_uav_nan_rows_count_as_precision_hits():
    gt = [[1, 1, 10, 10], [np.nan] * 4]
    pred = [[1, 1, 10, 10], [80, 80, 5, 5]]
    s = score(OST, [pred], [gt], tag="uav")
    assert s.score("precision") == 100.0  # UAV: centre error -1 for invalid frames
    assert s.score("auc") == pytest.approx(100 * 10 / 21)
    with pytest.raises(ResultError, match="NaN in the ground truth"):
        score(OST, [pred], [gt], tag="nfs")


def test_lasot_invisible_frames_fail_precision_lasot_ext_does_not():
    gt = [[1, 1, 10, 10]] * 2
    pred = [[1, 1, 10, 10], [1, 1, 10, 10]]  # frame 1 is perfect but the target is flagged invisible
    vis = np.array([True, False])
    lasot = score(OST, [pred], [gt], tag="lasot", visible=vis)
    assert lasot.score("precision") == 50.0 and lasot.score("norm_precision") == 50.0
    ext = score(OST, [pred], [gt], tag="lasot_extension_subset", visible=vis)
    assert ext.score("precision") == 50.0 and ext.score("norm_precision") == 100.0
    assert lasot.score("auc") == ext.score("auc") == pytest.approx(100 * 10 / 21)


def test_length_mismatch_truncate_pad_and_lasot_refusal():
    gt = [[1, 1, 10, 10]] * 3
    longer = [[1, 1, 10, 10]] * 3 + [[500, 500, 1, 1]]
    assert score(OST, [longer], [gt], tag="nfs").score("precision") == 100.0
    shorter = [[1, 1, 10, 10]] * 2  # the missing frame is padded with 0,0,0,0 -> IoU 0, error 8.5 px
    s = score(OST, [shorter], [gt], tag="nfs")
    assert s.score("auc") == pytest.approx(100 * 40 / 63)
    assert s.score("precision") == 100.0
    with pytest.raises(ResultError, match="never shorter"):
        score(OST, [shorter], [gt], tag="lasot", visible=np.ones(3, bool))


def test_zero_size_box_copies_the_previous_prediction_before_the_first_frame_is_overwritten():
    gt = [[10, 10, 10, 10]] * 3
    # row 1 has zero width: it takes row 0 *as predicted* ([30,30,10,10]), not the GT that later
    # replaces row 0; row 2 chains from row 1
    pred = [[30, 30, 10, 10], [0, 0, 0, 10], [5, 5, 0, 0]]
    m = frame_measures(OST, np.array(pred, float), np.array(gt, float), tag="nfs")
    assert m.overlap.tolist() == [1.0, 0.0, 0.0]
    assert m.centre[1] == pytest.approx(np.hypot(20, 20))


def test_invalid_predictions_are_refused():
    gt = np.array([[1, 1, 10, 10.]] * 2)
    with pytest.raises(ResultError, match=r"NaN in the prediction \(row 2\)"):
        frame_measures(OST, np.array([[1, 1, 10, 10], [np.nan, 1, 1, 1]]), gt)
    with pytest.raises(ResultError, match="negative width"):
        frame_measures(OST, np.array([[1, 1, 10, 10], [1, 1, -1, 1.]]), gt)


def test_sequences_weigh_equally_and_runs_are_averaged():
    short = [[1, 1, 10, 10]] * 10
    long = [[1, 1, 10, 10]] * 30
    miss = [[1, 1, 10, 10]] + [[200, 200, 10, 10]] * 29
    s = score(OST, [short, miss], [short, long])
    # sequence-weighted: (20/21 + (20/21)/30) / 2; frame-weighted would be (10 + 1) / 40 * 20/21
    assert s.score("auc") == pytest.approx(100 * (20 / 21 + 20 / 21 / 30) / 2)
    # two runs of one sequence: the per-sequence curves are averaged first
    m_good = frame_measures(OST, np.array(short, float), np.array(short, float))
    m_bad = frame_measures(OST, np.array([short[0]] + [[90, 90, 10, 10]] * 9, float), np.array(short, float))
    s2 = score_sequences(OST, ["a"], [[m_good, m_bad]])
    assert s2.score("auc") == pytest.approx(100 * (20 / 21 + 2 / 21) / 2)  # 1 of 10 frames hit: 2/21
    assert s2.runs.tolist() == [2]


def test_subsets_score_like_the_whole_set():
    s = score(OST, [[[1, 1, 10, 10]] * 2, [[1, 1, 10, 10], [60, 60, 10, 10]]], [GT4[:2], GT4[:2]])
    assert s.score("auc", np.array([True, False])) == pytest.approx(100 * 20 / 21)
    assert s.score("auc", np.array([1])) == pytest.approx(100 * 10 / 21)
    np.testing.assert_allclose(s.sequence_scores("auc"), [100 * 20 / 21, 100 * 10 / 21])


# ---- GOT-10k ----------------------------------------------------------------------------------------

def test_got10k_ao_is_frame_weighted_and_skips_frame_0():
    a_gt = [[0, 0, 10, 10]] * 3
    b_gt = [[0, 0, 10, 10]] * 5
    a = a_gt  # frames 1, 2: IoU 1
    b = [[0, 0, 10, 10]] + [[50, 50, 10, 10]] * 4  # frames 1..4: IoU 0 (frame 0 would be 1)
    s = score(GOT, [a, b], [a_gt, b_gt])
    assert s.score("ao") == pytest.approx(100 * 2 / 6)  # not (100 + 0) / 2
    np.testing.assert_allclose(s.sequence_scores("ao"), [100.0, 0.0])


def test_got10k_cover_repetitions_and_strict_success_rates():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    # frame 2 is the top half of the GT box: IoU 50 / 100 = 0.5 exactly
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 10]], float)
    cover = np.array([8, 8, 8, 0])  # frame 3 (IoU 1) does not count
    m1 = frame_measures(GOT, pred, gt, cover=cover)
    assert m1.overlap.tolist() == pytest.approx([1.0, 0.5])
    bad = pred.copy()
    bad[1:] = [60, 60, 10, 10]
    m2 = frame_measures(GOT, bad, gt, cover=cover)  # second repetition: IoU 0, 0
    s = score_sequences(GOT, ["a"], [[m1, m2]])
    assert s.score("ao") == pytest.approx(100 * 1.5 / 4)  # all frames of both repetitions
    assert s.score("sr50") == pytest.approx(25.0)  # IoU 0.5 is not > 0.5
    assert s.score("sr75") == pytest.approx(25.0)
    assert s.curves["success"].thresholds.shape == (101,)


def test_got10k_needs_one_row_per_frame():
    with pytest.raises(ResultError, match="one row per frame"):
        frame_measures(GOT, np.zeros((3, 4)) + 1, np.zeros((4, 4)) + 1)


# ---- TrackingNet server -----------------------------------------------------------------------------

def test_trackingnet_trapezoid_auc_and_rounding():
    gt = [[0, 0, 10, 10]] * 2
    s = score(TN, [[[0, 0, 10, 10], [0.4, 0, 10.5, 10]]], [gt])
    # both frames IoU 1 after rounding, which passes every threshold, 1.0 included (IoU >= t)
    assert s.score("auc") == pytest.approx(100.0)
    # frame 1 IoU 0.5 (10x5 inside 10x10): passes t <= 0.5, 11 of 21 points; the trapezoid rule gives
    # the 11th point (t = 0.5) and the 12th (t = 0.55, failed) half weight each: frame 1's area is
    # 0.05 * (10 + 0.5) = 0.525, frame 0's 1.0 -> (1 + 0.525) / 2
    s = score(TN, [[[0, 0, 10, 10], [0, 0, 10, 5]]], [gt])
    assert s.score("auc") == pytest.approx(100 * (1 + 0.525) / 2)
    assert auc_trapz(np.ones(21), LINSPACE_21) == pytest.approx(1.0)


def test_trackingnet_missing_and_short_predictions():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    m = frame_measures(TN, None, gt)  # missing file: zeros, row 0 from the GT
    assert m.overlap.tolist() == [1.0, 0.0, 0.0, 0.0]
    short = frame_measures(TN, np.array([[0, 0, 10, 10]] * 2, float), gt)  # rows 2, 3 are NaN: failures
    s = score_sequences(TN, ["a"], [[short]])
    assert s.curves["success"].value()[0] == pytest.approx(50.0)
    assert s.curves["precision"].value()[-1] == pytest.approx(50.0)


# ---- ITB --------------------------------------------------------------------------------------------

def test_itb_miou_over_valid_frames_and_videos():
    gt = [[0, 0, 10, 10], [0, 0, 0, 0], [0, 0, 10, 10]]
    pred = [[0, 0, 10, 5], [0, 0, 10, 10], [0, 0, 10, 10]]  # no first-frame overwrite: frame 0 IoU 0.5
    s = score(ITB, [pred, GT4], [gt, GT4])
    np.testing.assert_allclose(s.sequence_scores("miou"), [75.0, 100.0])  # invalid frame left out, not 0
    assert s.score("miou") == pytest.approx(87.5)  # mean of videos
    assert s.score("miou", np.array([True, False])) == pytest.approx(75.0)
    with pytest.raises(ResultError, match="one row per frame"):
        frame_measures(ITB, np.array(pred[:2], float), np.array(gt, float))


def test_thresholds_are_the_reference_sets():
    assert len(OVERLAP_21) == 21 and OVERLAP_21[10] == 0.5 and OVERLAP_21[-1] == 1.0
    assert CENTRE_51[20] == 20.0 and len(CENTRE_51) == 51
