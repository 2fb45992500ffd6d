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
from ostrack_eval.cli.main import main
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.metrics import CONVENTIONS
from ostrack_eval.reports.evaluate import evaluate_bench
from ostrack_eval.reports.jsonout import report_json
from ostrack_eval.reports.render import marks, render
from ostrack_eval.reports.results import check_rows, load_tracker_results, read_table
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

@pytest.mark.parametrize("text", ["1,2,3,4\n5,6,7,8\n", "1\t2\t3\t4\r\n5\t6\t7\t8", "1 2 3 4\n\n5 6 7 8\n",
                                  "1, 2, 3, 4\n5,6,7,8", "1.0,2,3.5e0,4\n5,6,7,8"])
def test_read_table_accepts_every_delimiter(tmp_path, text):
    p = tmp_path / "a.txt"
    p.write_text(text)
    got = read_table(p)
    assert got.shape == (2, 4) and got[1].tolist() == [5, 6, 7, 8] and got[0, 0] == 1


def test_read_table_names_the_bad_line(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(UserError, match=r"a.txt:2"):
        read_table(p)


def test_our_layout_completeness_and_fps(tmp_path):
    write_run(tmp_path, "r", "nfs", {"a": shifted(4, 0), "b": shifted(6, 0)[:5]}, spf=0.02)
    (tmp_path / "r" / "nfs" / "c.txt").write_text("1,2,3\n")
    tr = load_tracker_results(tmp_path / "r" / "nfs", "nfs", ["a", "b", "c", "d"])
    check_rows(tr, {"a": 4, "b": 6, "c": 1})
    comp = tr.completeness
    assert comp.missing == ["d"] and list(comp.unusable) == ["c"] and comp.wrong_rows == {"b": (5, 6)}
    line = comp.summary()
    assert "\n" not in line and "1 of 4 sequences missing (d)" in line and "b: 5 rows for 6 frames" in line
    assert tr.fps() == pytest.approx(50.0)  # 9 frames / (9 * 0.02 s)


def test_pytracking_tab_int_files_and_run_ids(tmp_path):
    for run, x in (("dimp_000", 10), ("dimp_001", 30)):
        folder = tmp_path / run
        folder.mkdir()
        (folder / "a.txt").write_text(f"10\t10\t20\t20\n{x}\t10\t20\t20\n")
        (folder / "a_time.txt").write_text("0.5\n0.5\n")
    tr = load_tracker_results(tmp_path / "dimp", "nfs", ["a"])
    assert [r[1, 0] for r in tr.sequences["a"].runs] == [10, 30]
    assert tr.label == "dimp" and tr.fps() == pytest.approx(2.0)


def test_got10k_toolkit_repetitions_with_time_matrix(tmp_path):
    seq = tmp_path / "trk" / "GOT-10k_Val_000001"
    seq.mkdir(parents=True)
    name = seq.name
    for rep, x in ((1, 10), (2, 12), (3, 14)):
        (seq / f"{name}_{rep:03d}.txt").write_text(f"10.000,10.000,20.000,20.000\n{x}.000,10.000,20.000,20.000\n")
    (seq / f"{name}_time.txt").write_text("0.1,0.2,0.3\n0.1,0.2,0.3\n")
    tr = load_tracker_results(tmp_path / "trk", "got10k_val", [name])
    assert len(tr.sequences[name].runs) == 3
    assert tr.fps() == pytest.approx(6 / 1.2)


def test_prefixed_and_unprefixed_names(tmp_path):
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


def test_trackingnet_server_scores_missing_sequences_as_zeros(tmp_path):
    seqs = [gt_seq("a", 5, "trackingnet"), gt_seq("b", 5, "trackingnet")]
    be = _evaluate(tmp_path, {"t": {"a": shifted(5, 0)}}, seqs, bench="trackingnet", conv="trackingnet_server")
    assert be.sequences == ["a", "b"]
    # a: IoU 1 everywhere (trapezoid AUC 97.5); b: only the GT-filled frame 0 -> 1/5 of that
    assert be.trackers[0].value("auc") == pytest.approx((97.5 + 97.5 / 5) / 2)
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
@pytest.mark.parametrize("fmt", ["md", "latex", "csv"])
def test_every_table_renders_in_every_format(three, table, fmt):
    evals = {"A5": [three["itb"]], "attributes": [three["lasot"]]}.get(table, [three["nfs"], three["lasot"]])
    ctx = ReportContext(evals, CIOptions(samples=200), per_sequence=True)
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
    assert "| 29.0 |" in text and "**21.5**" in text  # lower MACs is better
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
    good = data["trackers"]["good"]
    assert set(good) >= {"auc", "precision", "norm_precision", "fps", "sequences", "ci"}
    assert good["auc"] == three["nfs"].trackers[0].value("auc")
    assert set(good["sequences"]) == {"nfs_s0", "nfs_s1", "nfs_s2"}
    assert set(good["sequences"]["nfs_s0"]) == {"auc", "precision", "norm_precision", "fps"}
    assert 0 <= good["auc"] <= 100 and good["ci"]["auc"][0] <= good["auc"] <= good["ci"]["auc"][1]
    assert data["trackers"]["mid"]["diff_reference"] == "good"
    both = json.loads(report_json(ReportContext([three["nfs"], three["itb"]])))
    assert set(both["benches"]) == {"nfs", "itb"}
    assert set(both["benches"]["itb"]["trackers"]["good"]["scenarios"]) == {"animal", "uav"}


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
