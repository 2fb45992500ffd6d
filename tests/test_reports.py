"""Reports: result importers (every layout), completeness, evaluation, every table in every format, JSON,
and the ``report`` command end to end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import ostrack_eval.datasets as datasets
import ostrack_eval.metrics as metrics
import ostrack_eval.utils.numtable as results_mod  # the batched reader behind load_tracker_results
from ostrack_eval.cli.main import main
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.metrics import CONVENTIONS, bootstrap_ci, frame_measures, paired_difference_ci, score_sequences
from ostrack_eval.reports.evaluate import evaluate_bench
from ostrack_eval.reports.jsonout import report_json
from ostrack_eval.reports.pipeline import evaluate_runs
from ostrack_eval.reports.render import marks, render
from ostrack_eval.reports.results import check_rows, load_tracker_results, read_table, read_tables
from ostrack_eval.reports.runs import resolve_source
from ostrack_eval.reports.tables import TABLES, CIOptions, ReportContext, build_tables
from ostrack_eval.run.store import ResultStore

BOX = [10.0, 10.0, 20.0, 20.0]


def gt_seq(name: str, n: int, bench: str = "nfs", **kw) -> Sequence:
    return Sequence(name, [Path(f"{i}.jpg") for i in range(n)], np.array([BOX] * n), bench, **kw)


def shifted(n: int, shift: float) -> np.ndarray:
    """A prediction whose frames 1.. are moved ``shift`` px right: IoU (20 - shift) / (20 + shift)."""
    boxes = np.array([BOX] * n)
    boxes[1:, 0] += shift
    return boxes


class FakeBench:
    """The Benchmark protocol over in-memory sequences."""

    def __init__(self, name: str, seqs: list[Sequence], convention: str, full_annotation: bool = True):
        self.name, self.convention, self.root = name, convention, Path("/fake")
        self.full_annotation = full_annotation
        self._seqs = {s.name: s for s in seqs}

    def sequence_names(self) -> list[str]:
        return list(self._seqs)

    def load(self, name: str) -> Sequence:
        return self._seqs[name]


@pytest.fixture
def benches(monkeypatch):
    """bench -> FakeBench registry behind ``ostrack_eval.datasets.get_benchmark``."""
    registry: dict[str, FakeBench] = {}
    monkeypatch.setattr(datasets, "get_benchmark", lambda name, root=None, names=None: registry[name])
    return registry


def write_run(results: Path, run: str, bench: str, preds: dict[str, np.ndarray], spf: float = 0.01,
              record: dict | None = None) -> None:
    store = ResultStore(results, run)
    for name, boxes in preds.items():
        store.write(bench, name, boxes, np.full(len(boxes), spf))
    if record is not None:
        (results / run / "run.json").write_text(json.dumps(record))


# ---- reading ----------------------------------------------------------------------------------------

@pytest.fixture(params=["per_file", "batched"])
def reader(request, monkeypatch):
    """Run a reading test through the per-file parser and through the batched one (used for large sets)."""
    if request.param == "batched":
        monkeypatch.setattr(results_mod, "BATCH_MIN_BYTES", 0)
    return request.param


@pytest.mark.parametrize("text", ["1,2,3,4\n5,6,7,8\n", "1\t2\t3\t4\r\n5\t6\t7\t8", "1 2 3 4\n\n5 6 7 8\n",
                                  "1, 2, 3, 4\n5,6,7,8", "1.0,2,3.5e0,4\n5,6,7,8"])
def test_read_table_accepts_every_delimiter(reader, tmp_path, text):
    p = tmp_path / "a.txt"
    p.write_text(text)
    got = read_table(p)
    assert got.shape == (2, 4) and got[1].tolist() == [5, 6, 7, 8] and got[0, 0] == 1


def test_read_table_names_the_bad_line(reader, tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(UserError, match=r"a.txt:2"):
        read_table(p)


def test_our_layout_completeness_and_fps(reader, tmp_path):
    write_run(tmp_path, "r", "nfs", {"a": shifted(4, 0), "b": shifted(6, 0)[:5]}, spf=0.02)
    (tmp_path / "r" / "nfs" / "c.txt").write_text("1,2,3\n")
    tr = load_tracker_results(tmp_path / "r" / "nfs", "nfs", ["a", "b", "c", "d"])
    check_rows(tr, {"a": 4, "b": 6, "c": 1})
    comp = tr.completeness
    assert comp.missing == ["d"] and list(comp.unusable) == ["c"] and comp.wrong_rows == {"b": (5, 6)}
    line = comp.summary()
    assert "\n" not in line and "1 of 4 sequences missing (d)" in line and "b: 5 rows for 6 frames" in line
    assert tr.fps() == pytest.approx(50.0)  # 9 frames / (9 * 0.02 s)


def test_pytracking_tab_int_files_and_run_ids(reader, tmp_path):
    for run, x in (("dimp_000", 10), ("dimp_001", 30)):
        folder = tmp_path / run
        folder.mkdir()
        (folder / "a.txt").write_text(f"10\t10\t20\t20\n{x}\t10\t20\t20\n")
        (folder / "a_time.txt").write_text("0.5\n0.5\n")
    tr = load_tracker_results(tmp_path / "dimp", "nfs", ["a"])
    assert [r[1, 0] for r in tr.sequences["a"].runs] == [10, 30]
    assert tr.label == "dimp" and tr.fps() == pytest.approx(2.0)


def test_got10k_toolkit_repetitions_with_time_matrix(reader, tmp_path):
    seq = tmp_path / "trk" / "GOT-10k_Val_000001"
    seq.mkdir(parents=True)
    name = seq.name
    for rep, x in ((1, 10), (2, 12), (3, 14)):
        (seq / f"{name}_{rep:03d}.txt").write_text(f"10.000,10.000,20.000,20.000\n{x}.000,10.000,20.000,20.000\n")
    (seq / f"{name}_time.txt").write_text("0.1,0.2,0.3\n0.1,0.2,0.3\n")
    tr = load_tracker_results(tmp_path / "trk", "got10k_val", [name])
    assert len(tr.sequences[name].runs) == 3
    assert tr.fps() == pytest.approx(6 / 1.2)


def test_prefixed_and_unprefixed_names(reader, tmp_path):
    shared = tmp_path / "ostrack_shared"
    shared.mkdir()
    (shared / "basketball-1.txt").write_text("1,1,5,5\n")  # LaSOT's
    (shared / "itb_basketball-1.txt").write_text("2,2,5,5\n")  # ITB's, disambiguated by the bench prefix
    (shared / "bird1_2.txt").write_text("3,3,5,5\n")  # a toolkit that drops pytracking's uav_ prefix
    itb = load_tracker_results(shared, "itb", ["basketball-1"])
    lasot = load_tracker_results(shared, "lasot", ["basketball-1"])
    uav = load_tracker_results(shared, "uav123", ["uav_bird1_2"])
    assert itb.sequences["basketball-1"].runs[0][0, 0] == 2
    assert lasot.sequences["basketball-1"].runs[0][0, 0] == 1
    assert uav.sequences["uav_bird1_2"].runs[0][0, 0] == 3


def test_missing_folder_is_one_line_error(tmp_path):
    with pytest.raises(UserError, match="results folder not found"):
        load_tracker_results(tmp_path / "nope", "nfs", ["a"])


ODD_FILES = {
    "comma.txt": "1.5,2.25,3,4\n5,6,7,8\n",
    "tab_int.txt": "10\t10\t20\t20\r\n11\t12\t20\t20\r\n",
    "spaces.txt": "  1 2 3 4\n5  6 7 8",
    "blank_lines.txt": "1,2,3,4\n\n5,6,7,8\n\n",
    "comma_space.txt": "1, 2, 3, 4\n5 ,6,7,8\n",
    "trailing_comma.txt": "1,2,3,4,\n5,6,7,8,\n",
    "double_comma.txt": "1,,2,3,4\n5,6,7,8\n",
    "exponent.txt": "1e1,-2.5E-1,+3,4\n-0,.5,6.,8\n",
    "nan.txt": "1,2,3,4\nnan,NaN,3,4\n",
    "semicolon.txt": "1;2;3;4\n",
    "bom.txt": "\ufeff1,2,3,4\n",
    "long.txt": "123456789012345678.5,0.1000000000000000055511151231257827,3,4\n",
    "short_row.txt": "1,2,3,4\n5,6,7\n",
    "long_row.txt": "1,2,3,4\n5,6,7,8,9\n",
    "word.txt": "1,2,3,4\n1,2,x,4\n",
    "na.txt": "1,2,3,4\nNA,2,3,4\n",
    "empty.txt": "",
    "five_cols.txt": "1,2,3,4,5\n",
}


@pytest.mark.parametrize("ncols", [4, None])
@pytest.mark.parametrize("breaker", [False, True])
def test_batched_reading_matches_file_by_file(tmp_path, monkeypatch, ncols, breaker):
    # long_row.txt makes pandas refuse the whole comma batch; without it the batch parses the rest
    paths = []
    for name, text in ODD_FILES.items():
        if name == "long_row.txt" and not breaker:
            continue
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        paths.append(tmp_path / name)
    paths.append(tmp_path / "absent.txt")
    (tmp_path / "latin1.txt").write_bytes("1,2,3,4\n\xe9\n".encode("latin-1"))
    paths.append(tmp_path / "latin1.txt")
    # the same files many times over, so that a batch holds more than one file of each kind
    paths = paths * 3

    def one(p):
        try:
            return read_table(p, ncols=ncols)
        except UserError as exc:
            return exc

    expected = [one(p) for p in paths]
    monkeypatch.setattr(results_mod, "BATCH_MIN_BYTES", 0)
    batched = []
    parse_batch = results_mod._parse_batch

    def spy(blobs, *args):
        out = parse_batch(blobs, *args)
        batched.extend(t for t in out if t is not None)
        return out

    monkeypatch.setattr(results_mod, "_parse_batch", spy)
    got = read_tables(paths, ncols=ncols)
    # comma.txt, tab_int.txt, spaces.txt, comma_space.txt, exponent.txt, long.txt, three times each
    assert len(batched) == (6 if not breaker else 2) * 3 + (3 if ncols is None else 0)
    assert len(got) == len(expected)
    for p, want, have in zip(paths, expected, got):
        if isinstance(want, UserError):
            assert isinstance(have, UserError) and str(have) == str(want), p.name
        else:
            assert not isinstance(have, UserError), (p.name, have)
            assert have.shape == want.shape and have.dtype == want.dtype, p.name
            np.testing.assert_array_equal(have, want, err_msg=p.name)
    word = [p.name for p in paths].index("word.txt")
    assert str(got[word]).endswith("word.txt:2: cannot parse '1,2,x,4' as numbers")


def test_batched_reading_of_our_float_files_is_exact(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    store = ResultStore(tmp_path, "r")
    arrays = {}
    for i in range(30):
        boxes = rng.uniform(-50, 2000, (int(rng.integers(1, 300)), 4))
        arrays[f"s{i}"] = boxes
        store.write("nfs", f"s{i}", boxes, rng.uniform(1e-4, 0.1, len(boxes)))
    per_file = load_tracker_results(tmp_path / "r" / "nfs", "nfs", list(arrays))
    monkeypatch.setattr(results_mod, "BATCH_MIN_BYTES", 0)
    batched = load_tracker_results(tmp_path / "r" / "nfs", "nfs", list(arrays))
    for name in arrays:
        a, b = per_file.sequences[name], batched.sequences[name]
        np.testing.assert_array_equal(a.runs[0], b.runs[0])
        np.testing.assert_array_equal(a.times[0], b.times[0])
        np.testing.assert_allclose(a.runs[0], arrays[name], atol=5e-5)
    assert per_file.fps() == batched.fps()


def test_absolute_and_relative_tracker_paths_resolve_alike(tmp_path, monkeypatch, benches):
    seqs = [gt_seq("nfs_s0", 4), gt_seq("nfs_s1", 4)]
    benches["nfs"] = FakeBench("nfs", seqs, "ostrack")
    flat = tmp_path / "imported" / "dimp"  # pytracking layout: <seq>.txt directly in the folder
    flat.mkdir(parents=True)
    for s in seqs:
        (flat / f"{s.name}.txt").write_text("10\t10\t20\t20\n" * 4)
    write_run(tmp_path / "elsewhere", "mine", "nfs", {s.name: shifted(4, 2) for s in seqs},
              record={"tracker": {"tracker": "ostrack256"}})
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    run_dir = tmp_path / "elsewhere" / "mine"
    for rel, want in (("imported/dimp", (flat, None)), ("elsewhere/mine", (run_dir / "nfs", run_dir))):
        assert resolve_source(results, str(tmp_path / rel), "nfs") == want
        assert tuple(p and p.absolute() for p in resolve_source(results, rel, "nfs")) == want
    by_abs = evaluate_runs(["nfs"], [str(flat)], results=results)[0]
    by_rel = evaluate_runs(["nfs"], ["imported/dimp"], results=results)[0]
    # another tool's folder is labelled by its last two folders (pytracking: tracker/param)
    assert by_abs.trackers[0].label == by_rel.trackers[0].label == "imported/dimp"
    assert by_abs.trackers[0].value("auc") == by_rel.trackers[0].value("auc") == pytest.approx(100 * 20 / 21)


# ---- evaluation -------------------------------------------------------------------------------------

def _evaluate(tmp_path, runs: dict[str, dict[str, np.ndarray]], seqs, bench="nfs", conv="ostrack", **kw):
    loaded = []
    for run, preds in runs.items():
        write_run(tmp_path, run, bench, preds)
        tr = load_tracker_results(tmp_path / run / bench, bench, [s.name for s in seqs], label=run)
        check_rows(tr, {s.name: len(s.ground_truth) for s in seqs})
        loaded.append(tr)
    return evaluate_bench(bench, CONVENTIONS[conv], seqs, loaded, **kw)


def test_incomplete_results_are_refused_or_scored_on_the_common_subset(tmp_path):
    seqs = [gt_seq("a", 4), gt_seq("b", 4)]
    runs = {"good": {"a": shifted(4, 0), "b": shifted(4, 0)}, "part": {"a": shifted(4, 0)}}
    with pytest.raises(UserError, match=r"1 of 2 sequences missing \(b\).*--skip-missing"):
        _evaluate(tmp_path, runs, seqs)
    be = _evaluate(tmp_path, runs, seqs, skip_missing=True)
    assert be.sequences == ["a"]
    assert any("1 of 2" in n for n in be.notes)


def test_incomplete_results_get_one_refusal_message_wherever_they_are_found(tmp_path, benches):
    seqs = [gt_seq("a", 4), gt_seq("b", 4)]
    benches["nfs"] = FakeBench("nfs", seqs, "ostrack")
    runs = {"good": {"a": shifted(4, 0), "b": shifted(4, 0)}, "part": {"a": shifted(4, 0)}}
    with pytest.raises(UserError) as direct:
        _evaluate(tmp_path, runs, seqs)
    with pytest.raises(UserError) as piped:  # refused before any ground truth is loaded
        evaluate_runs(["nfs"], list(runs), results=tmp_path)
    assert str(piped.value) == str(direct.value)
    assert "--skip-missing to score the 1 nfs sequence every tracker has" in str(direct.value)


def test_evaluation_leaves_the_loaded_results_untouched(tmp_path):
    # 3 rows for 4 frames: the GOT-10k evaluator refuses the sequence, OSTrack's pads it
    seqs = [gt_seq("a", 4, "got10k_val"), gt_seq("b", 4, "got10k_val")]
    write_run(tmp_path, "t", "got10k_val", {"a": shifted(4, 0)[:3], "b": shifted(4, 0)})
    tr = load_tracker_results(tmp_path / "t" / "got10k_val", "got10k_val", ["a", "b"])
    check_rows(tr, {"a": 4, "b": 4})
    before = (dict(tr.completeness.unusable), list(tr.completeness.missing))
    got = evaluate_bench("got10k_val", CONVENTIONS["got10k"], seqs, [tr], skip_missing=True)
    assert got.sequences == ["b"]
    again = evaluate_bench("got10k_val", CONVENTIONS["got10k"], seqs, [tr], skip_missing=True)
    assert again.sequences == ["b"] and again.notes == got.notes
    assert (tr.completeness.unusable, tr.completeness.missing) == before
    with pytest.raises(UserError, match="a: 3 rows for 4 frames"):
        evaluate_bench("got10k_val", CONVENTIONS["got10k"], seqs, [tr])
    # another convention on the same loaded results is not refused for the GOT-10k evaluator's reason
    ost = evaluate_bench("got10k_val", CONVENTIONS["ostrack"], seqs, [tr])
    assert ost.sequences == ["a", "b"]


def test_got10k_fps_is_the_toolkits_mean_of_inverse_times(tmp_path):
    seqs = [gt_seq("a", 4, "got10k_val"), gt_seq("b", 4, "got10k_val")]
    write_run(tmp_path, "t", "got10k_val", {"a": shifted(4, 0), "b": shifted(4, 0)})
    folder = tmp_path / "t" / "got10k_val"
    (folder / "a_time.txt").write_text("0.1\n0.2\n0\n0.4\n")  # a zero time is dropped, as the toolkit does
    (folder / "b_time.txt").write_text("0.5\n0.5\n0.5\n0.5\n")
    loaded = [load_tracker_results(folder, "got10k_val", ["a", "b"], label="t")]
    got = evaluate_bench("got10k_val", CONVENTIONS["got10k"], seqs, loaded)
    # mean(1 / t) over every positive time of every sequence: (10 + 5 + 2.5 + 4 * 2) / 7
    assert got.trackers[0].fps == pytest.approx(25.5 / 7)
    data = json.loads(report_json(ReportContext([got])))["trackers"]["t"]
    assert data["fps"] == pytest.approx(25.5 / 7)
    assert data["sequences"]["a"]["fps"] == pytest.approx(17.5 / 3) and data["sequences"]["b"]["fps"] == 2.0
    # the pytracking family keeps frames / seconds: 8 frames in 2.7 s
    ost = evaluate_bench("got10k_val", CONVENTIONS["ostrack"], seqs, loaded)
    assert ost.trackers[0].fps == pytest.approx(8 / 2.7)


def test_trackingnet_server_scores_missing_sequences_as_zeros(tmp_path):
    seqs = [gt_seq("a", 5, "trackingnet"), gt_seq("b", 5, "trackingnet")]
    be = _evaluate(tmp_path, {"t": {"a": shifted(5, 0)}}, seqs, bench="trackingnet", conv="trackingnet_server")
    assert be.sequences == ["a", "b"]
    # a: IoU 1 everywhere, which passes every threshold (IoU >= t): AUC 100. b: frame 0 (GT-filled)
    # passes everywhere, the four zero boxes (IoU 0) only t = 0: curve 1 at t = 0, then 1/5; the
    # trapezoid rule gives 0.05 * (1 + 0.2) / 2 + 19 * 0.05 * 0.2 = 0.22
    assert be.trackers[0].value("auc") == pytest.approx((100 + 22) / 2)
    assert any("all-zero" in n for n in be.notes)


# ---- tables ------------------------------------------------------------------------------------------

@pytest.fixture
def three(tmp_path):
    """Three trackers on NFS, AUC ordered good > mid > bad, plus an ITB and a LaSOT evaluation."""
    seqs = [gt_seq(f"nfs_s{i}", 6) for i in range(3)]
    runs = {name: {s.name: shifted(6, d) for s in seqs} for name, d in (("good", 1), ("mid", 5), ("bad", 9))}
    nfs = _evaluate(tmp_path, runs, seqs)
    itb_seqs = [gt_seq(v, 6, "itb", attributes={"scenario": sc}) for v, sc in
                (("v1", "animal"), ("v2", "animal"), ("v3", "uav"))]
    itb_runs = {name: {s.name: shifted(6, d + i) for i, s in enumerate(itb_seqs)} for name, d in
                (("good", 1), ("mid", 5), ("bad", 9))}
    itb = _evaluate(tmp_path / "itb", itb_runs, itb_seqs, bench="itb", conv="itb")
    lasot_seqs = [gt_seq(n, 6, "lasot", target_visible=np.ones(6, bool)) for n in ("airplane-1", "airplane-9")]
    lasot = _evaluate(tmp_path / "lasot", {name: {s.name: shifted(6, d) for s in lasot_seqs}
                                           for name, d in (("good", 1), ("mid", 5), ("bad", 9))}, lasot_seqs,
                      bench="lasot")
    return {"nfs": nfs, "itb": itb, "lasot": lasot}


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("fmt", ["md", "latex", "csv", "json"])
def test_every_table_renders_in_every_format(three, table, fmt):
    evals = {"A5": [three["itb"]], "attributes": [three["lasot"]]}.get(table, [three["nfs"], three["lasot"]])
    ctx = ReportContext(evals, CIOptions(samples=200), per_sequence=True)
    if fmt == "json":
        data = json.loads(report_json(ctx, with_macs=table in {"3", "6", "A4"}))
        per_bench = {evals[0].bench: data} if len(evals) == 1 else data["benches"]
        assert list(per_bench) == [be.bench for be in evals]
        for be in evals:
            trackers = per_bench[be.bench]["trackers"]
            assert list(trackers) == ["good", "mid", "bad"]
            for label, t in trackers.items():
                assert t[be.convention.headline] == be.tracker(label).value(be.convention.headline)
                assert set(t["ci"]) == set(be.metrics) and set(t["sequences"]) == set(be.sequences)
                assert ("macs" in t) == (table in {"3", "6", "A4"})
        if table == "A5":
            assert set(per_bench["itb"]["trackers"]["good"]["scenarios"]) == {"animal", "uav"}
        if "lasot" in per_bench:
            assert len(per_bench["lasot"]["trackers"]["good"]["attributes"]) == 14
        return
    tables = build_tables(ctx, table)
    text = render(tables, fmt)
    assert "good" in text and "bad" in text
    if fmt == "md":
        assert "| Tracker |" in text and "**" in text
    elif fmt == "latex":
        assert "\\toprule" in text and "\\bottomrule" in text and "\\textbf{" in text and "\\underline{" in text
    else:
        first = text.split("\n\n")[0]
        rows = list(csv.reader(io.StringIO(first)))
        assert rows[0][0] == "tracker" and [r[0] for r in rows[1:4]] == ["good", "mid", "bad"]
    # differences to the first tracker and per-sequence tables follow the main table
    assert len(tables) >= 2 + len(evals)


def test_best_bold_second_underlined_and_values_unrounded_in_csv(three):
    ctx = ReportContext([three["nfs"]])
    table = build_tables(ctx, "1")[0]
    m = marks(table)
    assert m[(0, 0)] == "best" and m[(1, 0)] == "second" and (2, 0) not in m
    latex = render([table], "latex")
    good_auc = three["nfs"].trackers[0].value("auc")
    assert f"\\textbf{{{good_auc:.1f}}}" in latex
    rows = list(csv.reader(io.StringIO(render([table], "csv"))))
    assert float(rows[1][1]) == good_auc  # full precision, not 1 decimal


def test_table3_relative_change_and_macs(three, monkeypatch):
    import ostrack_eval.profiling.macs as macs

    monkeypatch.setattr(macs, "paper_macs", lambda spec: 29.0 if spec.no_ce else 21.5)
    be = three["nfs"]
    be.trackers[0].results.run_record = {"tracker": {"tracker": "ostrack256", "no_ce": True}}
    be.trackers[1].results.run_record = {"tracker": {"tracker": "ostrack256"}}
    table = build_tables(ReportContext([be]), "3")[0]
    text = render([table], "md")
    assert "| 29.0 |" in text and "| 21.5 |" in text and "**21.5**" not in text  # MACs are not ranked
    assert "| – |" in text  # bad has no run.json
    delta = next(r for r in table.rows if r.label.startswith("Δ mid"))
    assert delta.cells[1].text == f"{(21.5 - 29.0) / 29.0 * 100:+.1f}%"


def test_a5_scenarios_and_attribute_table(three):
    be = three["itb"]
    table = build_tables(ReportContext([be]), "A5")[0]
    assert [c.label for c in table.columns] == ["animal", "uav", "mIoU"]
    good = be.trackers[0]
    animal = np.mean(good.scores.sequence_scores("miou")[:2])
    assert table.rows[0].cells[0].value == pytest.approx(animal)
    att = build_tables(ReportContext([three["lasot"]]), "attributes")[0]
    assert [c.label for c in att.columns][:3] == ["IV", "POC", "DEF"] and att.columns[-1].label == "All"


def test_json_schema_percent_unrounded(three):
    ctx = ReportContext([three["nfs"]], CIOptions(samples=200))
    data = json.loads(report_json(ctx))
    assert data["bench"] == "nfs" and set(data["trackers"]) == {"good", "mid", "bad"}
    good, bad = data["trackers"]["good"], data["trackers"]["bad"]
    assert set(good) >= {"auc", "precision", "norm_precision", "fps", "sequences", "ci"}
    # by hand: every sequence is 6 frames of a 20x20 box, frames 1-5 shifted d px (frame 0 is the GT).
    # good, d = 1: IoU 380/420 = 0.905 passes 19 of the 21 thresholds, frame 0 passes 20:
    # AUC = (20 + 5 * 19) / (6 * 21); centre error 1 px, normalised 1/20: all frames within 20 px / 0.2
    assert good["auc"] == pytest.approx(100 * 115 / 126, abs=1e-12)
    assert good["precision"] == 100.0 and good["norm_precision"] == 100.0
    # bad, d = 9: IoU 220/580 = 0.379 passes 8 thresholds (0 .. 0.35); normalised error 9/20 > 0.2
    assert bad["auc"] == pytest.approx(100 * 60 / 126, abs=1e-12)
    assert bad["precision"] == 100.0 and bad["norm_precision"] == pytest.approx(100 / 6, abs=1e-12)
    assert good["auc"] == three["nfs"].trackers[0].value("auc")  # unrounded
    assert 0 <= good["auc"] <= 100 and good["ci"]["auc"][0] <= good["auc"] <= good["ci"]["auc"][1]
    assert good["fps"] == pytest.approx(100.0)  # 0.01 s per frame
    assert set(good["sequences"]) == {"nfs_s0", "nfs_s1", "nfs_s2"}
    assert set(good["sequences"]["nfs_s0"]) == {"auc", "precision", "norm_precision", "fps"}
    assert good["sequences"]["nfs_s1"]["auc"] == pytest.approx(100 * 115 / 126, abs=1e-12)
    # identical sequences: every resample gives the same score
    assert good["ci"]["auc"] == pytest.approx([100 * 115 / 126] * 2, abs=1e-9)
    assert bad["diff_ci"]["auc"] == pytest.approx([100 * (60 - 115) / 126] * 2, abs=1e-9)
    assert data["trackers"]["mid"]["diff_reference"] == "good"
    both = json.loads(report_json(ReportContext([three["nfs"], three["itb"]])))
    assert set(both["benches"]) == {"nfs", "itb"}
    assert set(both["benches"]["itb"]["trackers"]["good"]["scenarios"]) == {"animal", "uav"}


def test_report_intervals_are_the_bootstrap_modules(three):
    be = three["nfs"]
    opts = CIOptions(samples=300, seed=4)
    iv = ReportContext([be], opts).intervals(be)
    ref = be.trackers[0]
    for t in be.trackers:
        for m in be.metrics:
            num, den = t.scores.num[m], t.scores.den[m]
            assert iv.scores[(t.label, m)] == bootstrap_ci(num, den, opts.samples, opts.seed, opts.level)
            if t is not ref:
                assert iv.diffs[(t.label, m)] == paired_difference_ci(
                    ref.scores.num[m], ref.scores.den[m], num, den, opts.samples, opts.seed, opts.level)


def test_attribute_table_names_sequences_without_labels(tmp_path):
    seqs = [gt_seq("airplane-1", 6, "lasot", target_visible=np.ones(6, bool)),
            gt_seq("mystery-1", 6, "lasot", target_visible=np.ones(6, bool))]
    be = _evaluate(tmp_path, {"t": {s.name: shifted(6, 2) for s in seqs}}, seqs, bench="lasot")
    from ostrack_eval.datasets.lasot import attribute_names

    table = build_tables(ReportContext([be]), "attributes")[0]
    assert [c.label for c in table.columns[:-1]] == [abbr for abbr, _ in attribute_names()]
    assert any("mystery-1" in n and "no attribute labels" in n for n in table.notes)
    data = json.loads(report_json(ReportContext([be])))
    assert any("mystery-1" in n for n in data["notes"])
    # airplane-1 has POC (the packaged toolkit table): the POC column is that one sequence's AUC
    poc = [c.label for c in table.columns].index("POC")
    assert table.rows[0].cells[poc].value == be.trackers[0].scores.sequence_scores("auc")[0]
    iv = [c.label for c in table.columns].index("IV")
    assert table.rows[0].cells[iv].value is None


def test_report_uses_the_adapters_convention(tmp_path, benches):
    assert not hasattr(metrics, "DEFAULT_CONVENTIONS") and not hasattr(metrics, "default_convention")
    # GT touching x = 0 in frames 1-3: valid for OSTrack's rule, invalid (overlap -1) for pytracking's
    gt = np.array([[5, 5, 20, 20]] + [[0, 5, 20, 20]] * 3, float)
    seqs = [Sequence("s", [Path("f.jpg")] * 4, gt, "nfs")]
    benches["nfs"] = FakeBench("nfs", seqs, "pytracking")
    write_run(tmp_path, "t", "nfs", {"s": gt.copy()})
    out = tmp_path / "r.json"
    assert main(["report", "--bench", "nfs", "--tracker", "t", "--results", str(tmp_path), "--format", "json",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["convention"] == "pytracking"
    assert data["trackers"]["t"]["auc"] == pytest.approx(100 * 20 / 21 / 4)  # only frame 0 counts


# ---- the command ------------------------------------------------------------------------------------

def _cli_setup(tmp_path, benches):
    seqs = [gt_seq(f"nfs_s{i}", 5) for i in range(2)]
    benches["nfs"] = FakeBench("nfs", seqs, "ostrack")
    benches["got10k"] = FakeBench("got10k", [gt_seq("GOT-10k_Test_000001", 1, "got10k")], "got10k",
                                  full_annotation=False)
    results = tmp_path / "results"
    for run, d in (("ostrack256", 1), ("ostrack256-noce", 6)):
        write_run(results, run, "nfs", {s.name: shifted(5, d) for s in seqs})
        write_run(results, run, "got10k", {"GOT-10k_Test_000001": shifted(5, 0)})
    (results / "ostrack256" / "got10k" / "server_scores.json").write_text('{"ao": 73.7, "sr50": 83.2, "sr75": 70.8}')
    return results


def test_report_command_outputs(tmp_path, benches, capsys):
    results = _cli_setup(tmp_path, benches)
    rc = main(["report", "--bench", "nfs", "got10k", "--tracker", "ostrack256", "ostrack256-noce",
               "--results", str(results), "--table", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "NFS AUC" in out and "GOT-10k AO" in out
    assert "73.7" in out  # the server's score for the withheld test split
    out_file = tmp_path / "r.json"
    rc = main(["report", "--bench", "nfs", "--tracker", "ostrack256", "ostrack256-noce", "--results", str(results),
               "--format", "json", "--out", str(out_file), "--ci", "--ci-samples", "200"])
    data = json.loads(out_file.read_text())
    assert rc == 0 and data["trackers"]["ostrack256"]["auc"] > data["trackers"]["ostrack256-noce"]["auc"]


def test_report_command_bad_input_is_one_line(tmp_path, benches, capsys):
    results = _cli_setup(tmp_path, benches)
    (results / "ostrack256-noce" / "nfs" / "nfs_s1.txt").unlink()
    rc = main(["report", "--bench", "nfs", "--tracker", "ostrack256", "ostrack256-noce", "--results", str(results)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("ostrack-eval: error:") and "nfs_s1" in err
    rc = main(["report", "--bench", "nfs", "--tracker", "nobody", "--results", str(results)])
    assert rc == 2 and "nobody" in capsys.readouterr().err
    rc = main(["report", "--bench", "nfs", "--tracker", "ostrack256", "--results", str(results), "--table", "A5"])
    assert rc == 2 and "--bench itb" in capsys.readouterr().err


def test_report_on_real_adapter_with_fake_lasot(tmp_path):
    fake = pytest.importorskip("ostrack_eval.testing.fake_layouts")
    data = tmp_path / "data"
    fake.make_fake_benchmark("lasot", data)
    bench = datasets.get_benchmark("lasot", data)
    names = fake.FAKE_SEQUENCES["lasot"]
    preds = {n: bench.load(n).ground_truth.copy() for n in names}
    write_run(tmp_path / "results", "t", "lasot", preds)
    out = tmp_path / "out.json"
    rc = main(["report", "--bench", "lasot", "--tracker", "t", "--results", str(tmp_path / "results"),
               "--root", str(data), "--sequences", ",".join(names), "--format", "json", "--out", str(out)])
    data = json.loads(out.read_text())
    assert rc == 0 and data["sequences_scored"] == 2
    # a perfect prediction: every visible frame hits all thresholds but 1.0; invisible frames fail
    assert 0 < data["trackers"]["t"]["auc"] <= 100 * 20 / 21 + 1e-9


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    """The rendered demo benchmark and two trackers' results: an ``identity`` baseline (the first box
    on every frame) imported in the pytracking layout (tab-separated integers, no time files), and a
    run of ours that is the ground truth moved 3 px."""
    from ostrack_eval.datasets.demo import Demo, ensure_demo

    base = tmp_path_factory.mktemp("demo")
    root = ensure_demo(base / "cache" / "demo-v1", progress=False)
    bench = Demo(root)
    imported = base / "imported" / "identity"
    imported.mkdir(parents=True)
    store = ResultStore(base / "results", "shifted")
    gts = {}
    for name in bench.sequence_names():
        gt = bench.load(name).ground_truth
        gts[name] = gt
        init = np.round(gt[0]).astype(int)
        (imported / f"{name}.txt").write_text("".join("\t".join(map(str, init)) + "\n" for _ in gt))
        moved = gt.copy()
        moved[1:, :2] += 3
        moved[:, 2:] = np.maximum(moved[:, 2:], 1)
        store.write("demo", name, moved, np.full(len(gt), 0.02))
    return {"root": root, "imported": imported, "results": base / "results", "gt": gts}


def test_report_and_plot_commands_on_the_demo_benchmark(demo_results, tmp_path, monkeypatch, capsys):
    from ostrack_eval.datasets.demo import Demo

    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(demo_results["root"].parent))
    common = ["--bench", "demo", "--tracker", "shifted", str(demo_results["imported"]),
              "--results", str(demo_results["results"])]
    out = tmp_path / "demo.json"
    assert main(["report", *common, "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["convention"] == Demo.convention and data["sequences_scored"] == 8
    # a folder of another tool's results is labelled by its last two folders
    assert list(data["trackers"]) == ["shifted", "imported/identity"]
    # the identity baseline scored outside the report pipeline, on the adapter's convention
    conv = CONVENTIONS[Demo.convention]
    init = {n: np.round(g[0]) for n, g in demo_results["gt"].items()}
    names = list(data["trackers"]["imported/identity"]["sequences"])
    measures = [[frame_measures(conv, np.tile(init[n], (len(demo_results["gt"][n]), 1)), demo_results["gt"][n],
                                tag="demo")] for n in names]
    expected = score_sequences(conv, names, measures)
    for m in ("auc", "precision", "norm_precision"):
        assert data["trackers"]["imported/identity"][m] == pytest.approx(expected.score(m), abs=1e-9)
    assert data["trackers"]["imported/identity"]["fps"] is None  # no time files
    assert data["trackers"]["shifted"]["fps"] == pytest.approx(50.0)
    assert data["trackers"]["shifted"]["auc"] > data["trackers"]["imported/identity"]["auc"]
    capsys.readouterr()

    assert main(["report", *common, "--table", "1", "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert "\\toprule" in latex and "shifted" in latex and "identity" in latex

    plots = tmp_path / "plots"
    assert main(["plot", *common, "--out", str(plots)]) == 0
    written = sorted(p.name for p in plots.iterdir())
    assert written == sorted(f"demo_{c}.{e}" for c in ("success", "precision", "norm_precision")
                             for e in ("png", "pdf"))
    assert str(plots / "demo_success.png") in capsys.readouterr().out


# ---- table fixes (issue 20) --------------------------------------------------------------------------------

def _one_column(values: list[float], better: str | None = "higher"):
    from ostrack_eval.reports.tables import Cell, Column, Row, Table

    rows = [Row(f"r{i}", [Cell(v)]) for i, v in enumerate(values)]
    return Table("t", [Column("AUC", better=better, key="auc")], rows)


def test_best_and_second_are_decided_on_unrounded_values():
    table = _one_column([85.21, 85.24, 85.0])
    assert marks(table) == {(1, 0): "best", (0, 0): "second"}  # 85.0 is third, not "second" after rounding
    md = render([table], "md")
    assert "| r1 | **85.2** |" in md and "| r0 | _85.2_ |" in md and "| r2 | 85.0 |" in md
    assert "| r1 | **85.24** |" in render([table], "md", digits=2)


def test_exact_ties_share_best_and_leave_no_second():
    assert marks(_one_column([70.5, 70.5, 60.0])) == {(0, 0): "best", (1, 0): "best"}
    assert marks(_one_column([70.5, 70.0, 70.0])) == {(0, 0): "best", (1, 0): "second", (2, 0): "second"}


def test_speed_and_cost_columns_are_not_ranked(three):
    from ostrack_eval.reports.tables import FPS_COLUMN, MACS_COLUMN

    assert FPS_COLUMN.better is None and MACS_COLUMN.better is None
    table = build_tables(ReportContext([three["nfs"]]))[0]
    fps = [j for j, c in enumerate(table.columns) if c.label == "FPS"]
    assert fps and all(table.columns[j].better is None for j in fps)
    assert not any(j in fps for _, j in marks(table))


def test_default_table_adds_op50_op75_for_the_pytracking_family(three):
    be = three["nfs"]
    default = build_tables(ReportContext([be]))[0]
    assert [c.label for c in default.columns] == ["AUC", "P_Norm", "P", "OP50", "OP75", "FPS"]
    assert [c.label for c in build_tables(ReportContext([be]), "1")[0].columns] == ["AUC", "P_Norm", "P"]
    good = be.trackers[0]
    curve = good.scores.curves["success"]
    assert good.value("op50") == pytest.approx(curve.value()[10])  # the success curve at overlap 0.50
    assert good.value("op75") == pytest.approx(curve.value()[15])
    data = json.loads(report_json(ReportContext([be])))
    assert data["trackers"]["good"]["op50"] == pytest.approx(good.value("op50"))
    assert "op50" not in three["itb"].extra_metrics + three["itb"].metrics  # the ITB toolkit has no OP50


def test_default_labels_of_result_folders_are_unique():
    from ostrack_eval.reports.pipeline import tracker_labels

    pytracking = ["/r/tracking_results/ostrack/default", "/r/tracking_results/dimp/default"]
    assert tracker_labels(pytracking, None) == ["ostrack/default", "dimp/default"]
    clash = ["/a/run1/ostrack/default", "/b/run2/ostrack/default", "mine"]
    assert tracker_labels(clash, None) == ["run1/ostrack/default", "run2/ostrack/default", "mine"]
    assert tracker_labels(["results/ostrack256", "x"], None, [True, False]) == ["ostrack256", "x"]
    with pytest.raises(UserError, match="appears twice"):
        tracker_labels(["a", "b"], ["same", "same"])


def test_notes_use_the_singular_for_one_sequence(tmp_path):
    seqs = [gt_seq("nfs_s0", 6)]
    be = _evaluate(tmp_path, {"t": {"nfs_s0": shifted(6, 1)}}, seqs)
    notes = build_tables(ReportContext([be]))[0].notes
    assert any(n.startswith("NFS: 1 sequence, convention") for n in notes)


def test_itb_subset_says_scenarios_are_means(three):
    notes = build_tables(ReportContext([three["itb"]]), "A5")[0].notes
    assert any("sum x 5" in n and "animal 2" in n and "uav 1" in n for n in notes)
