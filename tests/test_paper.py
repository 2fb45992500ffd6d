"""The paper as a reference: the stored numbers of Tables 1–6, A4, A5, variant matching, ``report --paper``."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import numpy as np
import pytest

import ostrack_eval.datasets as datasets
from ostrack_eval.cli.main import main
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.reports.paper import (
    NON_PERCENT,
    PAPER_TABLES,
    paper_table,
    variant_from_name,
    variant_from_record,
)
from ostrack_eval.reports.pipeline import evaluate_runs
from ostrack_eval.reports.tables import ReportContext, build_tables
from ostrack_eval.run.store import ResultStore

# ---- the stored numbers --------------------------------------------------------------------------------

# (table, row, column) -> the number, typed by hand from the paper's tables; None is a "-" cell
SAMPLE = {
    ("1", "SiamFC", "lasot.auc"): 33.6,
    ("1", "SiamRPN++", "trackingnet.norm_precision"): 80.0,
    ("1", "SiamR-CNN", "lasot_ext.auc"): None,
    ("1", "KeepTrack", "lasot_ext.auc"): 48.2,
    ("1", "SwinTrack-B", "got10k.sr75"): 64.3,
    ("1", "OSTrack-256", "lasot.auc"): 69.1,
    ("1", "OSTrack-256", "got10k.sr50"): 80.4,
    ("1", "OSTrack-384", "lasot_ext.precision"): 57.6,
    ("1", "OSTrack-384", "trackingnet.auc"): 83.9,
    ("2", "RT-MDNet", "tnl2k.auc"): None,
    ("2", "STMTrack", "uav123.auc"): 64.7,
    ("2", "DiMP50", "nfs.auc"): 61.8,
    ("2", "OSTrack-256", "uav123.auc"): 68.3,
    ("2", "OSTrack-384", "tnl2k.auc"): 55.9,
    ("3", "OSTrack-256 w/o CE", "fps"): 93.1,
    ("3", "OSTrack-256", "macs"): 21.5,
    ("3", "OSTrack-384 w/o CE", "got10k.ao"): 73.5,
    ("3", "OSTrack-384", "trackingnet.auc"): 83.9,
    ("3", "OSTrack-384", "macs"): 48.3,
    ("4", "All Template Tokens", "lasot.auc"): 68.1,
    ("4", "All Template Tokens within GT Box", "got10k.sr75"): 72.0,
    ("4", "Center 4x4 Template Tokens", "trackingnet.precision"): 82.0,
    ("4", "No Early Candidate Elimination", "lasot.norm_precision"): 78.1,
    ("5", "No pre-training", "lasot.auc"): 60.4,
    ("5", "ImageNet-1k", "got10k.sr50"): 79.0,
    ("5", "ImageNet-21k", "trackingnet.auc"): 82.4,
    ("5", "MAE", "got10k.sr75"): 71.7,
    ("6", "STARK-aligned", "fps"): 52.9,
    ("6", "SwinTrack-aligned", "train_pairs"): 39.3,
    ("6", "OSTrack", "got10k.ao"): 71.0,
    ("6", "OSTrack", "lasot.precision"): 74.6,
    ("A4", "OSTrack-256 ρ = 0.9", "got10k.ao"): 74.1,
    ("A4", "OSTrack-256 ρ = 0.8", "macs"): 23.6,
    ("A4", "OSTrack-256 ρ = 0.5", "lasot.auc"): 67.8,
    ("A4", "OSTrack-256 ρ = 0.6", "trackingnet.norm_precision"): 87.6,
    ("A5", "GAT", "itb.miou"): 44.9,
    ("A5", "KYS", "itb.miou"): 52.0,
    ("A5", "STARK", "itb.miou"): 57.6,
    ("A5", "OSTrack-256", "itb.miou"): 61.2,
    ("A5", "OSTrack-384", "itb.miou"): 64.8,
}
ROW_COUNTS = {"1": 17, "2": 11, "3": 4, "4": 5, "5": 4, "6": 3, "A4": 6, "A5": 12}


@pytest.mark.parametrize("key", sorted(SAMPLE), ids=lambda k: "-".join(k))
def test_stored_numbers_equal_the_hand_typed_sample(key):
    table, row, column = key
    assert paper_table(table).row(row).values[column] == SAMPLE[key]


@pytest.mark.parametrize("table", PAPER_TABLES)
def test_every_table_is_sane(table):
    pt = paper_table(table)
    assert len(pt.rows) == ROW_COUNTS[table]
    assert sum(1 for k in SAMPLE if k[0] == table) >= 3
    labels = [r.label for r in pt.rows]
    assert len(set(labels)) == len(labels)
    columns = set(pt.rows[0].values)
    for r in pt.rows:
        assert set(r.values) == columns, r.label  # every row has every column ("-" is None)
        for key, value in r.values.items():
            assert value is None or isinstance(value, float)
            if value is None:
                continue
            assert value > 0 and round(value, 1) == value  # the paper prints one decimal
            if key not in NON_PERCENT:
                assert value <= 100, (r.label, key)
    # every paper model row is a variant our runs can be matched to
    ours = [r for r in pt.rows if r.match]
    assert ours
    for r in ours:
        assert r.match["size"] in (256, 384) and 0 < r.match["keep_ratio"] <= 1
    if table in ("1", "2", "A5"):
        assert {"OSTrack-256", "OSTrack-384"} <= set(labels) and len(labels) > 2


def test_the_same_model_has_the_same_numbers_across_tables():
    ce256 = paper_table("1").row("OSTrack-256").values
    noce = paper_table("5").row("MAE").values
    for key in ("lasot.auc", "lasot.norm_precision", "lasot.precision", "trackingnet.auc"):
        assert paper_table("4").row("Center Template Token").values[key] == ce256[key]
        assert paper_table("A4").row("OSTrack-256 ρ = 0.7").values[key] == ce256[key]
        assert paper_table("4").row("No Early Candidate Elimination").values[key] == noce[key]
        assert paper_table("A4").row("OSTrack-256 ρ = 1").values[key] == noce[key]
    assert paper_table("3").row("OSTrack-256").values["lasot.auc"] == ce256["lasot.auc"]
    assert paper_table("3").row("OSTrack-256 w/o CE").values["got10k.ao"] == paper_table("6").row("OSTrack").values["got10k.ao"]
    assert paper_table("A4").row("OSTrack-256 ρ = 1").values["macs"] == paper_table("3").row("OSTrack-256 w/o CE").values["macs"]


# ---- which paper row a run is ----------------------------------------------------------------------------

def _config(size=256, ce_loc=(3, 6, 9), ratios=(0.7, 0.7, 0.7), template="CTR_POINT", dim=768):
    return {"tracker_config": {"embed_dim": dim, "depth": 12, "patch_size": 16, "search_size": size,
                               "ce_loc": list(ce_loc), "ce_keep_ratio": list(ratios), "ce_template_range": template}}


def test_variant_from_run_record():
    assert variant_from_record(_config()) == {"size": 256, "keep_ratio": 0.7, "template": "ctr_point"}
    assert variant_from_record(_config(384, ce_loc=())) == {"size": 384, "keep_ratio": 1.0}
    assert variant_from_record(_config(ratios=(0.5,) * 3, template="ALL")) == \
        {"size": 256, "keep_ratio": 0.5, "template": "all"}
    assert variant_from_record(_config(ratios=(1.0,) * 3)) == {"size": 256, "keep_ratio": 1.0}
    assert variant_from_record(_config(ratios=(0.7, 0.6, 0.7))) is None  # not a paper variant
    assert variant_from_record(_config(dim=64)) is None  # the tiny demo model
    assert variant_from_record(None) is None


def test_variant_from_names():
    assert variant_from_name("vitb_256_mae_ce_32x4_ep300") == {"size": 256, "keep_ratio": 0.7, "template": "ctr_point"}
    assert variant_from_name("vitb_384_mae_32x4_ep300") == {"size": 384, "keep_ratio": 1.0}
    assert variant_from_name("vitb_256_mae_ce_32x4_got10k_ep100")["size"] == 256
    assert variant_from_name("ostrack384-noce") == {"size": 384, "keep_ratio": 1.0}
    assert variant_from_name("ostrack256-keep0.5-fast") == {"size": 256, "keep_ratio": 0.5, "template": "ctr_point"}
    assert variant_from_name("ostrack256-gt_box") == {"size": 256, "keep_ratio": 0.7, "template": "gt_box"}
    assert variant_from_name("ostrack256-bf16") is None  # half precision changes the boxes
    assert variant_from_name("dimp50") is None


# ---- report --paper -------------------------------------------------------------------------------------

BOX = [10.0, 10.0, 20.0, 20.0]
PERFECT = 100 * 20 / 21  # a perfect track's AUC (pytracking family: t = 1.0 never passes)


class FakeBench:
    def __init__(self, name, seqs, convention, full_annotation=True):
        self.name, self.convention, self.root, self.full_annotation = name, convention, Path("/fake"), full_annotation
        self._seqs = {s.name: s for s in seqs}

    def sequence_names(self):
        return list(self._seqs)

    def load(self, name):
        return self._seqs[name]


CONVENTION = {"lasot": "ostrack", "nfs": "ostrack", "uav123": "ostrack", "tnl2k": "ostrack", "itb": "itb"}
# table -> (benches, runs, a cell: (paper row, column key), the run whose Δ to that row is checked)
CASES = {
    "1": (["lasot", "trackingnet"], ["ostrack256", "ostrack384"], ("OSTrack-384", "lasot.auc"), "ostrack384"),
    "2": (["nfs", "uav123", "tnl2k"], ["ostrack256"], ("OSTrack-256", "uav123.auc"), "ostrack256"),
    "3": (["lasot"], ["ostrack256-noce", "ostrack256"], ("OSTrack-256 w/o CE", "lasot.auc"), "ostrack256-noce"),
    "4": (["lasot"], ["ostrack256-all", "ostrack256"], ("All Template Tokens", "lasot.auc"), "ostrack256-all"),
    "5": (["lasot"], ["ostrack256-noce"], ("MAE", "lasot.auc"), "ostrack256-noce"),
    "6": (["lasot"], ["ostrack256-noce"], ("OSTrack", "lasot.auc"), "ostrack256-noce"),
    "A4": (["lasot"], ["ostrack256-keep0.5", "ostrack256"], ("OSTrack-256 ρ = 0.5", "lasot.auc"), "ostrack256-keep0.5"),
    "A5": (["itb"], ["ostrack256", "dimp"], ("OSTrack-256", "itb.miou"), "ostrack256"),
}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    registry = {}
    monkeypatch.setattr(datasets, "get_benchmark", lambda name, root=None, names=None: registry[name])
    for bench, conv in CONVENTION.items():
        registry[bench] = FakeBench(bench, [Sequence(f"{bench}-s{i}", [Path("f.jpg")] * 4, np.array([BOX] * 4), bench)
                                            for i in range(2)], conv)
    registry["trackingnet"] = FakeBench("trackingnet", [Sequence("tn0", [Path("f.jpg")], np.array([BOX]), "trackingnet")],
                                        "trackingnet_server", full_annotation=False)
    results = tmp_path / "results"
    for run in {r for case in CASES.values() for r in case[1]}:
        store = ResultStore(results, run)
        for bench, fake in registry.items():
            for name in fake.sequence_names():
                n = 4 if fake.full_annotation else 1
                store.write(bench, name, np.array([BOX] * n), np.full(n, 0.01))
    (results / "ostrack384" / "trackingnet" / "server_scores.json").write_text(
        '{"auc": 83.5, "norm_precision": 88.0, "precision": 83.0}')
    return results


def _report(results, table, benches, runs, fmt, *extra):
    out = results.parent / f"out.{fmt}"
    args = ["report", "--bench", *benches, "--tracker", *runs, "--results", str(results), "--table", table,
            "--format", fmt, "--out", str(out), *extra]
    assert main(args) == 0
    return out.read_text()


def _ours(results, bench, run, key):
    text = _report(results, "1" if bench != "itb" else "A5", [bench], [run], "json")
    return json.loads(text)["trackers"][run][key.split(".")[1]]


@pytest.mark.parametrize("table", PAPER_TABLES)
def test_paper_rows_and_deltas_in_every_format(setup, table):
    results = setup
    benches, runs, (row, key), run = CASES[table]
    paper = paper_table(table).row(row).values[key]
    ours = _ours(results, key.split(".")[0], run, key)
    delta = ours - paper

    md = _report(results, table, benches, runs, "md", "--paper")
    assert f"| {row} (paper) |" in md and f" {paper:.1f} " in md
    assert f"| {run} − {row} (paper) |" in md and f"{delta:+.1f}" in md

    latex = _report(results, table, benches, runs, "latex", "--paper")
    assert f"{row} (paper)".replace("ρ", r"$\rho$") in latex and f"{delta:+.1f}" in latex

    text = _report(results, table, benches, runs, "csv", "--paper")
    blocks = [list(csv.reader(io.StringIO(b))) for b in text.strip().split("\n\n")]
    main_rows = {r[0]: r for r in blocks[0][1:]}
    col = blocks[0][0].index(key)
    assert float(main_rows[f"{row} (paper)"][col]) == paper
    diff = next(b for b in blocks if f"{key}.paper_diff" in b[0])
    diff_rows = {r[0]: r for r in diff[1:]}
    assert float(diff_rows[f"{run} − {row} (paper)"][diff[0].index(f"{key}.paper_diff")]) == pytest.approx(delta)

    page = html.unescape(_report(results, table, benches, runs, "html", "--paper"))
    assert f"{row} (paper)" in page and f"{run} − {row} (paper)" in page and f"{delta:+.1f}" in page

    data = json.loads(_report(results, table, benches, runs, "json", "--paper"))
    assert data["paper"]["table"] == table and data["paper"]["rows"][row][key] == paper
    assert data["paper"]["deltas"][run]["paper_row"] == row
    assert data["paper"]["deltas"][run]["diff"][key] == pytest.approx(delta)


def test_server_scores_are_compared_and_fps_is_not(setup):
    results = setup
    data = json.loads(_report(results, "1", ["lasot", "trackingnet"], ["ostrack384"], "json", "--paper"))
    diff = data["paper"]["deltas"]["ostrack384"]["diff"]
    assert diff["trackingnet.auc"] == pytest.approx(83.5 - 83.9)
    assert diff["lasot.auc"] == pytest.approx(PERFECT - 71.1)
    assert "got10k.ao" not in data["paper"]["rows"]["OSTrack-384"]  # only the reported benches
    md = _report(results, "3", ["lasot"], ["ostrack256"], "md", "--paper")
    diff_table = md[md.index("Δ to the paper"):]
    assert "FPS" not in diff_table and "ΔAUC" in diff_table


def test_without_paper_nothing_changes_and_unmatched_runs_get_no_delta(setup):
    results = setup
    evals = evaluate_runs(["lasot"], ["ostrack256"], results=results)
    ctx = ReportContext(evals)
    plain = build_tables(ctx, "1")
    assert [t.title for t in plain] == [t.title for t in build_tables(ReportContext(evals), "1", paper=False)]
    assert not any("(paper)" in r.label for t in plain for r in t.rows)
    with_paper = build_tables(ReportContext(evals), "1", paper=True)
    assert with_paper[0].rows[:1] == plain[0].rows and len(with_paper) == len(plain) + 1
    # A5's "dimp" run is no paper variant: the other trackers' rows are shown, no Δ row for it
    md = _report(results, "A5", ["itb"], ["dimp"], "md", "--paper")
    assert "| DiMP (paper) |" in md and "Δ to the paper" not in md


def test_paper_needs_a_paper_table(setup, capsys):
    results = setup
    rc = main(["report", "--bench", "lasot", "--tracker", "ostrack256", "--results", str(results), "--paper"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--paper needs --table" in err
