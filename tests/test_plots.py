"""Plots: files exist, are valid PNG/PDF, legends read ``[score] name`` best first; the plot command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ostrack_eval.datasets as datasets
from ostrack_eval.cli.main import main
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.metrics import CONVENTIONS
from ostrack_eval.reports.evaluate import evaluate_bench
from ostrack_eval.reports.plots import PLOT_KINDS, draw, save_plots
from ostrack_eval.reports.results import load_tracker_results
from ostrack_eval.run.store import ResultStore

BOX = [10.0, 10.0, 20.0, 20.0]


class FakeBench:
    def __init__(self, name, seqs, convention):
        self.name, self.convention, self.root = name, convention, Path("/fake")
        self._seqs = {s.name: s for s in seqs}

    def sequence_names(self):
        return list(self._seqs)

    def load(self, name):
        return self._seqs[name]


def _setup(root: Path, bench: str, shifts: dict[str, float]) -> list[Sequence]:
    seqs = [Sequence(f"s{i}", [Path("f.jpg")] * 8, np.array([BOX] * 8), bench) for i in range(2)]
    for run, d in shifts.items():
        store = ResultStore(root, run)
        for s in seqs:
            boxes = s.ground_truth.copy()
            boxes[1:, 0] += d
            store.write(bench, s.name, boxes, np.full(8, 0.01))
    return seqs


def _evaluate(tmp_path, bench, conv, shifts):
    seqs = _setup(tmp_path, bench, shifts)
    loaded = [load_tracker_results(tmp_path / run / bench, bench, [s.name for s in seqs], label=run) for run in shifts]
    return evaluate_bench(bench, CONVENTIONS[conv], seqs, loaded)


def test_plots_are_valid_images_with_sorted_legends(tmp_path):
    # listed worst first: the legend must still put the best first
    be = _evaluate(tmp_path, "nfs", "ostrack", {"worse": 8.0, "better": 1.0})
    written = save_plots(be, tmp_path / "plots")
    assert sorted(p.name for p in written) == sorted(f"nfs_{k.curve}.{ext}" for k in PLOT_KINDS for ext in ("png", "pdf"))
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            with Image.open(path) as im:
                im.verify()
            with Image.open(path) as im:
                assert im.size[0] > 500 and im.size[1] > 300
        else:
            assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
    fig = draw(be, PLOT_KINDS[0])
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    auc = {t.label: t.value("auc") for t in be.trackers}
    assert texts == [f"[{auc['better']:.1f}] better", f"[{auc['worse']:.1f}] worse"]


def test_got10k_has_only_a_success_plot_with_ao_in_the_legend(tmp_path):
    be = _evaluate(tmp_path, "got10k_val", "got10k", {"a": 2.0})
    written = save_plots(be, tmp_path / "p", ("png",))
    assert [p.name for p in written] == ["got10k_val_success.png"]
    fig = draw(be, PLOT_KINDS[0])
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == f"[{be.trackers[0].value('ao'):.1f}] a"
    assert len(fig.axes[0].lines[0].get_xdata()) == 101


def test_plot_command(tmp_path, monkeypatch, capsys):
    seqs = _setup(tmp_path / "results", "nfs", {"x": 1.0, "y": 4.0})
    monkeypatch.setattr(datasets, "get_benchmark", lambda name, root=None, names=None: FakeBench(name, seqs, "ostrack"))
    out = tmp_path / "plots"
    rc = main(["plot", "--bench", "nfs", "--tracker", "x", "y", "--results", str(tmp_path / "results"),
               "--out", str(out), "--formats", "png"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["nfs_norm_precision.png", "nfs_precision.png", "nfs_success.png"]
    assert str(out / "nfs_success.png") in capsys.readouterr().out
    rc = main(["plot", "--bench", "nfs", "--tracker", "x", "--results", str(tmp_path / "results"), "--out",
               str(out), "--formats", "svg"])
    assert rc == 2 and "--formats" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["a$b$", "under_score"])
def test_names_are_not_mathtext(tmp_path, name):
    be = _evaluate(tmp_path, "nfs", "ostrack", {name: 1.0})
    fig = draw(be, PLOT_KINDS[0])
    fig.canvas.draw()  # would raise on unbalanced/invalid mathtext
    assert name.replace("$", r"\$") in fig.axes[0].get_legend().get_texts()[0].get_text()
