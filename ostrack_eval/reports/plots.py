"""Success / precision / normalised-precision plots in the pytracking style (PNG and PDF).

Legend entries read ``[score] name`` and are sorted best first; the score is the one the benchmark
reports for that curve (AUC or GOT-10k AO for success, P@20/P_Norm@0.2 or the TrackingNet server's
integral for precision). Figures are drawn with Matplotlib's Agg canvas directly: no pyplot state, no
LaTeX, and every file is written atomically.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ostrack_eval.errors import UserError

from ostrack_eval.reports.evaluate import BenchEval
from ostrack_eval.reports.tables import bench_label
from ostrack_eval.utils.atomic import atomic_write_bytes

FORMATS = ("png", "pdf")


@dataclass(frozen=True)
class PlotKind:
    curve: str
    title: str
    xlabel: str
    ylabel: str
    legend_loc: str


PLOT_KINDS = (
    PlotKind("success", "Success plot", "Overlap threshold", "Overlap Precision [%]", "lower left"),
    PlotKind("precision", "Precision plot", "Location error threshold [pixels]", "Distance Precision [%]",
             "lower right"),
    PlotKind("norm_precision", "Normalized Precision plot", "Location error threshold", "Distance Precision [%]",
             "lower right"),
)
# curve -> the metric printed in its legend, by convention family
_LEGEND_METRIC = {"success": {"got10k": "ao"}, "precision": {}, "norm_precision": {}}
_DEFAULT_LEGEND_METRIC = {"success": "auc", "precision": "precision", "norm_precision": "norm_precision"}


def _plain(text: str) -> str:
    # Matplotlib reads $…$ as mathtext; names are shown literally
    return text.replace("$", r"\$")


def legend_metric(be: BenchEval, curve: str) -> str:
    return _LEGEND_METRIC[curve].get(be.convention.family, _DEFAULT_LEGEND_METRIC[curve])


def draw_curves(ax: Axes, be: BenchEval, kind: PlotKind) -> bool:
    """Draw one curve kind of every tracker on ``ax`` (legend ``[score] name``, best first); ``False`` when
    the convention has no such curve."""
    scored = [t for t in be.trackers if t.scores is not None and kind.curve in t.scores.curves]
    if not scored:
        return False
    metric = legend_metric(be, kind.curve)
    entries = []
    for t in scored:
        curve = t.scores.curves[kind.curve]
        score = t.value(metric)
        entries.append((-math.inf if score is None or math.isnan(score) else score, t.label, curve.thresholds,
                        curve.value()))
    entries.sort(key=lambda e: -e[0])  # best first; stable for ties (command-line order)
    lines, texts = [], []
    for rank, (score, label, x, y) in enumerate(entries):
        (line,) = ax.plot(x, y, linewidth=2, color=f"C{rank % 10}", linestyle="-" if rank < 10 else "--")
        lines.append(line)
        texts.append(f"[{score:.1f}] {_plain(label)}" if math.isfinite(score) else f"[–] {_plain(label)}")
    ax.legend(lines, texts, loc=kind.legend_loc, fancybox=False, edgecolor="black", framealpha=1.0, fontsize=11)
    thresholds = entries[0][2]
    ax.set(xlabel=kind.xlabel, ylabel=kind.ylabel, xlim=(float(thresholds[0]), float(thresholds[-1])),
           ylim=(0, 100), title=f"{kind.title} — {bench_label(be.bench)}")
    ax.title.set_fontweight("bold")
    ax.grid(True, linestyle="-.")
    return True


def plot_kind(curve: str) -> PlotKind:
    for kind in PLOT_KINDS:
        if kind.curve == curve:
            return kind
    raise UserError(f"unknown curve {curve!r}; choose from {', '.join(k.curve for k in PLOT_KINDS)}")


def new_figure(figsize: tuple[float, float] = (6.4, 4.8)) -> Figure:
    """A figure on its own Agg canvas: no pyplot state."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def draw(be: BenchEval, kind: PlotKind) -> Figure | None:
    """The figure of one curve kind, or ``None`` when the convention has no such curve."""
    fig = new_figure()
    if not draw_curves(fig.add_subplot(), be, kind):
        return None
    fig.tight_layout()
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else 300)
    return buf.getvalue()


def save_plots(be: BenchEval, out_dir: str | Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``<out>/<bench>_<curve>.<fmt>`` for every curve the benchmark's convention has."""
    out_dir = Path(out_dir)
    written = []
    for kind in PLOT_KINDS:
        fig = draw(be, kind)
        if fig is None:
            continue
        for fmt in formats:
            path = out_dir / f"{be.bench}_{kind.curve}.{fmt}"
            atomic_write_bytes(path, figure_bytes(fig, fmt))
            written.append(path)
    return written
