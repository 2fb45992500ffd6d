"""The notebook API: ``from ostrack_eval import evaluate``, DataFrames, plots on a given Axes, the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from demo_runs import make_demo_runs

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return make_demo_runs(tmp_path_factory.mktemp("api"))


@pytest.fixture
def in_runs(runs, monkeypatch):
    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(runs["cache"]))
    monkeypatch.chdir(runs["results"].parent)
    return runs


def test_import_ostrack_eval_stays_light():
    code = ("import sys, ostrack_eval; heavy = [m for m in ('pandas', 'matplotlib', 'torch', 'jinja2') "
            "if m in sys.modules]; print(heavy); from ostrack_eval import evaluate; print(callable(evaluate))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


def test_dataframes_match_the_report_json(in_runs, capsys):
    import json

    from ostrack_eval import evaluate
    from ostrack_eval.cli.main import main

    ev = evaluate("demo", ["ostrack-tiny", "identity", "drifter"])
    assert main(["report", "--bench", "demo", "--tracker", "ostrack-tiny", "identity", "drifter",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    summary = ev.summary
    assert list(summary.index) == ["ostrack-tiny", "identity", "drifter"]
    assert {"auc", "precision", "norm_precision", "op50", "op75", "fps"} <= set(summary.columns)
    for tracker, row in data["trackers"].items():
        for m in ("auc", "precision", "norm_precision", "op50", "op75"):
            assert summary.loc[tracker, m] == pytest.approx(row[m], abs=1e-12)
        per = ev.per_sequence.set_index(["tracker", "sequence"])
        for seq, values in row["sequences"].items():
            assert per.loc[(tracker, seq), "auc"] == pytest.approx(values["auc"], abs=1e-12)
    # OP50 is the success curve at overlap 0.5
    curves = ev.curves
    success = curves[(curves.tracker == "identity") & (curves.curve == "success")]
    assert success.set_index("threshold").value.loc[0.5] == pytest.approx(summary.loc["identity", "op50"])
    assert ev.per_attribute.empty  # the demo has no LaSOT attributes


def test_gap_contributions_add_up_and_losses_are_found(in_runs):
    from ostrack_eval import evaluate

    ev = evaluate("demo", ["ostrack-tiny", "drifter"])
    per_seq, per_attr = ev.gap("ostrack-tiny", "drifter")
    total = ev.summary.loc["drifter", "auc"] - ev.summary.loc["ostrack-tiny", "auc"]
    assert per_seq["contribution"].sum() == pytest.approx(total)
    assert list(per_seq["contribution"].abs()) == sorted(per_seq["contribution"].abs(), reverse=True)
    for seq in ev.sequences:
        n = len(in_runs["truth"][seq])
        k = ev.lost_frame("drifter", seq)
        assert k is not None and n // 3 <= k < n  # lost after it starts to slide, not before
        assert ev.lost_frame("ostrack-tiny", seq) is None


def test_plots_draw_on_the_given_axes(in_runs):
    from matplotlib.figure import Figure

    from ostrack_eval import evaluate
    from ostrack_eval.errors import UserError

    ev = evaluate("demo", ["ostrack-tiny", "identity"])
    fig = Figure()
    ax = fig.add_subplot()
    assert ev.plot("success", ax=ax) is ax and len(ax.lines) == 2
    assert ax.get_legend().get_texts()[0].get_text().endswith("ostrack-tiny")  # best first
    ax2 = fig.add_subplot(2, 1, 2)
    ev.plot_iou(ev.sequences[0], ax=ax2)
    assert len(ax2.lines) == 2
    with pytest.raises(UserError, match="no attribute labels"):
        ev.plot_attributes(ax2)


def test_readme_notebook_example_runs(in_runs):
    text = README.read_text()
    block = re.search(r"## Notebook API.*?```python\n(.*?)```", text, re.S)
    assert block, "README has a '## Notebook API' section with a python example"
    code = block.group(1)
    lines = [ln for ln in code.splitlines() if ln.strip()]
    assert len(lines) <= 5
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    ev = namespace["ev"]
    assert np.isfinite(ev.summary["auc"]).all()
