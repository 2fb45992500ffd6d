"""The official pipeline's result precision (integer truncation) and today's TrackingNet server rule.

OSTrack's and pytracking's runner store ``np.array(boxes).astype(int)`` with ``fmt='%d'``; the default
conventions score our float boxes as that file would be scored. The TrackingNet devkit's current
``metrics.py`` counts success as IoU >= t.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import ostrack_eval.datasets as datasets
from ostrack_eval.cli.main import main
from ostrack_eval.metrics import CONVENTIONS, frame_measures, score_sequences
from ostrack_eval.metrics.frames import official_int_boxes
from ostrack_eval.run.store import ResultStore


def _score(conv, pred, gt, **kw):
    m = frame_measures(conv, np.asarray(pred, float), np.asarray(gt, float), **kw)
    return score_sequences(conv, ["s"], [[m]])


def test_truncation_is_astype_int_toward_zero():
    boxes = np.array([[3.99, -3.99, 0.5, 10.0], [-0.4, 7.0, 12.7, 1e6 + 0.9]])
    np.testing.assert_array_equal(official_int_boxes(boxes), boxes.astype(int))
    # NaN stays NaN so the family's own check names the row (the runner would write garbage integers)
    assert np.isnan(official_int_boxes(np.array([[np.nan, 1, 2, 3]]))[0, 0])


@pytest.mark.parametrize("name", ["ostrack", "pytracking", "got10k", "trackingnet_server"])
def test_default_conventions_truncate_and_full_precision_does_not(name):
    conv = CONVENTIONS[name]
    assert conv.truncate and not conv.full_precision().truncate
    assert conv.full_precision().name == f"{name}+full-precision"
    assert "astype(int)" in conv.summary and "astype(int)" not in conv.full_precision().summary
    assert not CONVENTIONS["itb"].truncate  # the runner behind the paper's ITB numbers is not documented


def test_truncated_score_hand_computed():
    gt = [[0, 0, 10, 10]] * 2
    pred = [[0, 0, 10, 10], [5.9, 0, 10.9, 10]]
    # truncated: [5, 0, 10, 10], overlap 5x10 = 50 of 150 -> IoU 1/3 passes t = 0 .. 0.30 (7 points);
    # frame 0 (GT) passes 20 of 21 (not 1.0): AUC = (20 + 7) / 2 / 21
    assert _score(CONVENTIONS["ostrack"], pred, gt).score("auc") == pytest.approx(100 * 27 / 42)
    # as stored: x 5.9 .. 16.8 against 0 .. 10: 4.1x10 = 41 of 100 + 109 - 41 -> IoU 0.244, 5 points
    assert _score(CONVENTIONS["ostrack"].full_precision(), pred, gt).score("auc") == pytest.approx(100 * 25 / 42)
    # a width truncated to 0 is a zero-size box: the reference copies the previous box (here the GT)
    thin = [[0, 0, 10, 10], [30, 30, 0.8, 10]]
    assert _score(CONVENTIONS["ostrack"], thin, gt).score("auc") == pytest.approx(100 * 20 / 21)


def test_float_boxes_and_their_int_twin_score_alike_on_random_data():
    rng = np.random.default_rng(3)
    n = 400
    gt = np.column_stack([rng.uniform(-5, 200, (n, 2)), rng.uniform(4, 60, (n, 2))])
    gt = np.round(gt)
    pred = gt + rng.normal(0, 4, gt.shape)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 0.5
    conv = CONVENTIONS["ostrack"]
    floats, twin = _score(conv, pred, gt, tag="lasot"), _score(conv, pred.astype(int), gt, tag="lasot")
    full = _score(conv.full_precision(), pred, gt, tag="lasot")
    for metric in conv.metrics:
        assert floats.score(metric) == twin.score(metric)
    assert any(full.score(m) != floats.score(m) for m in conv.metrics)


def _lasot_runs(tmp_path):
    fake = pytest.importorskip("ostrack_eval.testing.fake_layouts")
    data = tmp_path / "data"
    fake.make_fake_benchmark("lasot", data)
    bench = datasets.get_benchmark("lasot", data)
    names = fake.FAKE_SEQUENCES["lasot"]
    rng = np.random.default_rng(0)
    results = tmp_path / "results"
    store = ResultStore(results, "ours")
    twin = tmp_path / "pytracking" / "twin"  # pytracking's layout: tab-separated %d, no time files
    twin.mkdir(parents=True)
    for name in names:
        gt = bench.load(name).ground_truth
        pred = gt + rng.uniform(-2.9, 2.9, gt.shape)
        pred[:, 2:] = np.maximum(pred[:, 2:], 1.5)
        store.write("lasot", name, pred, np.full(len(gt), 0.01))
        np.savetxt(twin / f"{name}.txt", np.array(pred).astype(int), fmt="%d", delimiter="\t")
    return data, results, twin, names


def _report(tmp_path, data, results, trackers, names, *extra):
    out = tmp_path / "r.json"
    assert main(["report", "--bench", "lasot", "--tracker", *trackers, "--results", str(results),
                 "--root", str(data), "--sequences", ",".join(names), "--format", "json", "--out", str(out),
                 *extra]) == 0
    return json.loads(out.read_text())


def test_float_file_and_its_astype_int_twin_score_the_same_under_the_lasot_default(tmp_path):
    data, results, twin, names = _lasot_runs(tmp_path)
    labels = ("--labels", "ours", "twin")  # an imported folder is labelled by its last two folders by default
    default = _report(tmp_path, data, results, ["ours", str(twin)], names, *labels)
    full = _report(tmp_path, data, results, ["ours", str(twin)], names, *labels, "--full-precision")
    assert default["convention"] == "ostrack" and full["convention"] == "ostrack+full-precision"
    ours, theirs = default["trackers"]["ours"], default["trackers"]["twin"]
    for metric in ("auc", "norm_precision", "precision"):
        assert ours[metric] == theirs[metric]
        # the integer file scores as pytracking's analysis scores it (its values as they are) either way
        assert full["trackers"]["twin"][metric] == theirs[metric]
    # the stored floats themselves score differently: the truncation is what makes the two agree
    assert any(full["trackers"]["ours"][m] != ours[m] for m in ("auc", "norm_precision", "precision"))
    # the stored file keeps full precision
    assert "." in (results / "ours" / "lasot" / f"{names[0]}.txt").read_text().splitlines()[1]


def test_a_foreign_float_file_gets_a_note_and_our_runs_and_integer_files_none(tmp_path, capsys):
    data, results, twin, names = _lasot_runs(tmp_path)
    floats = tmp_path / "pysot" / "floats"  # another toolkit's float file: truncated, and the table says so
    floats.mkdir(parents=True)
    for name in names:
        rows = np.loadtxt(results / "ours" / "lasot" / f"{name}.txt", delimiter=",")
        np.savetxt(floats / f"{name}.txt", rows, fmt="%.4f", delimiter=",")
    (results / "ours" / "run.json").write_text("{}")  # an ostrack-eval run: truncated like the official runner
    args = ["report", "--bench", "lasot", "--tracker", "ours", str(twin), str(floats), "--labels", "ours", "twin",
            "floats", "--results", str(results), "--root", str(data), "--sequences", ",".join(names)]
    assert main(args) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if "truncated toward zero like the official runner" in line]
    assert len(notes) == 1 and notes[0].startswith("- floats:")
    assert main(args + ["--full-precision"]) == 0
    assert "truncated toward zero like" not in capsys.readouterr().out


# ---- TrackingNet: the current devkit's IoU >= t -------------------------------------------------------

def test_inclusive_threshold_counts_equal_the_plain_comparison():
    from ostrack_eval.metrics import threshold_counts
    from ostrack_eval.metrics.curves import LINSPACE_21

    rng = np.random.default_rng(1)
    # exact threshold values (and 0, 1), values between them, NaN
    values = np.concatenate([LINSPACE_21, rng.uniform(0, 1, 200), [np.nan, 0.0, 1.0]])
    seg = rng.integers(0, 3, len(values))
    got = threshold_counts(values, LINSPACE_21, True, seg, 3, inclusive=True)
    for s in range(3):
        v = values[seg == s]
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(got[s], (v[:, None] >= LINSPACE_21[None, :]).sum(axis=0))
    strict = threshold_counts(values, LINSPACE_21, True, seg, 3)
    assert (got - strict).sum() == np.isin(values, LINSPACE_21).sum()  # only the ties differ


@pytest.mark.parametrize("full", [False, True])
def test_trackingnet_counts_iou_0_at_t0_and_iou_1_at_t1(full):
    tn = CONVENTIONS["trackingnet_server"]
    tn = tn.full_precision() if full else tn
    gt = np.array([[0, 0, 10, 10]] * 3, float)
    # frame 1 disjoint from the GT (IoU exactly 0); frame 2 the GT after truncation and after the
    # server's rounding alike (IoU exactly 1)
    pred = np.array([[0, 0, 10, 10], [50, 50, 10, 10], [0.3, 0, 10, 10.4]])
    s = _score(tn, pred, gt)
    success = s.curves["success"].value()
    assert success[0] == pytest.approx(100.0)  # t = 0: IoU 0 counts (0 >= 0); IoU > t would give 2/3
    assert success[-1] == pytest.approx(100 * 2 / 3)  # t = 1: frames 0 and 2 (1 >= 1); IoU > t would give 0
    assert success[1] == pytest.approx(100 * 2 / 3)  # t = 0.05: the disjoint frame fails
    # precision and normalised precision are untouched by the rule (<= in both devkit versions)
    p = s.curves["precision"].value()
    assert p[0] == pytest.approx(100 * 2 / 3) and p[-1] == pytest.approx(100 * 2 / 3)


def test_trackingnet_truncation_comes_before_the_servers_rounding():
    # OSTrack's TrackingNet files are the runner's integers: 9.6 reaches the server as 9, not 10
    gt = np.array([[0, 0, 10, 10]] * 2, float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 9.6]])
    tn = CONVENTIONS["trackingnet_server"]
    assert _score(tn, pred, gt).curves["success"].value()[-1] == pytest.approx(50.0)  # IoU 0.9
    assert _score(tn.full_precision(), pred, gt).curves["success"].value()[-1] == pytest.approx(100.0)


def test_trackingnet_missing_file_zero_boxes_pass_t0():
    tn = CONVENTIONS["trackingnet_server"]
    gt = np.array([[5, 5, 10, 10]] * 4, float)
    s = score_sequences(tn, ["a"], [[frame_measures(tn, None, gt)]])
    success = s.curves["success"].value()
    # all-zero boxes have IoU 0 with the GT: they count at t = 0 only; frame 0 is the GT everywhere
    assert success[0] == pytest.approx(100.0) and success[1] == pytest.approx(25.0)
    assert success[-1] == pytest.approx(25.0)
    assert "79783f2" in tn.summary and "967661d" in tn.summary and ">= t" in tn.summary


# ---- pack: the server zips carry the official runner's integers by default ------------------------------

def test_pack_writes_truncated_integers_unless_full_precision(tmp_path, monkeypatch, capsys):
    import zipfile

    from ostrack_eval.testing.fake_layouts import FAKE_SEQUENCES

    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "no-datasets"))
    seq = FAKE_SEQUENCES["trackingnet"][1]
    boxes = np.array([[10.0, 20.0, 30.0, 40.0], [-3.7, 5.99, 30.2, 40.8], [3.5, 4.5, 0.9, 12.0]])
    ResultStore(tmp_path / "results", "r").write("trackingnet", seq, boxes, np.full(3, 0.01))
    common = ["pack", "--bench", "trackingnet", "--tracker", "r", "--results", str(tmp_path / "results"),
              f"--sequences={seq}"]

    def rows(path):
        with zipfile.ZipFile(path) as z:
            return z.read(f"{seq}.txt").decode().splitlines()

    assert main(common + ["--out", str(tmp_path / "a.zip")]) == 0
    assert "integer boxes" in capsys.readouterr().out
    expected = [",".join(map(str, b)) for b in boxes.astype(int)]
    assert rows(tmp_path / "a.zip") == expected
    assert main(common + ["--out", str(tmp_path / "b.zip"), "--int"]) == 0
    assert rows(tmp_path / "b.zip") == expected
    assert main(common + ["--out", str(tmp_path / "c.zip"), "--full-precision"]) == 0
    assert rows(tmp_path / "c.zip")[1] == "-3.7000,5.9900,30.2000,40.8000"
    assert main(common + ["--out", str(tmp_path / "d.zip"), "--int", "--full-precision"]) == 2
