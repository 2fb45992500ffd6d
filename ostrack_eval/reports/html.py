"""``report --format html``: one self-contained page to browse a benchmark's results offline.

Built from the notebook API's :class:`~ostrack_eval.api.Evaluation` and rendered with a Jinja2 template
(``templates/report.html.j2``): the paper-style tables (with the paper's published rows and our differences to them
under ``--paper``), the curves and per-attribute chart as inline SVG from matplotlib, a sortable / filterable
per-sequence table with each tracker's IoU-over-time strip (a tiny PNG each), where the gap between two
trackers comes from, and, when the dataset's frames are on disk, a thumbnail of the frame where each tracker
loses the target. Nothing is fetched from the network; the sort and filter code is inline.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ostrack_eval.api import Evaluation
from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import METRIC_LABELS
from ostrack_eval.reports.evaluate import BenchEval
from ostrack_eval.reports.tables import Table, bench_label

STRIP_BINS = 240  # columns of an IoU strip: enough to see a loss, a few hundred bytes each
GAP_ROWS = 25  # sequences shown in the gap chart (the table below it lists them all)
MAX_THUMBNAILS = 400  # keeps a LaSOT x 6 page in the low megabytes
MAX_FRAME_PIXELS = 64_000_000  # 8K is 33 M; a frame beyond this is not decoded for a thumbnail
THUMB_WIDTH = 200


@dataclass
class HtmlOptions:
    table: str = "default"
    digits: int = 1
    compare: list[str] | None = None  # the two trackers whose gap is broken down (default: the first two)
    ci: tuple[int, int] | None = None  # (samples, seed) for bootstrap intervals in the tables
    root: str | None = None  # dataset root, for the lost-frame thumbnails
    paper: bool = False  # the paper's published rows and our differences to them (report --paper)


# ---- pieces --------------------------------------------------------------------------------------------

def svg_text(fig) -> str:
    """A figure as inline SVG markup: text kept as text, ids stable from run to run."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ostrack-eval"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def iou_strip(iou: np.ndarray, bins: int = STRIP_BINS) -> str:
    """IoU over time as a 1-pixel-high PNG (red 0 … green 1, grey where the ground truth has no box)."""
    from matplotlib import colormaps
    from PIL import Image

    n = len(iou)
    width = min(bins, max(n, 1))
    column = (np.arange(n) * width) // max(n, 1)  # each frame's pixel column
    finite = np.isfinite(iou)
    sums = np.bincount(column[finite], weights=iou[finite], minlength=width)
    counts = np.bincount(column[finite], minlength=width)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = sums / counts
    rgb = (colormaps["RdYlGn"](np.nan_to_num(values, nan=0.0))[:, :3] * 255).astype(np.uint8)
    rgb[~np.isfinite(values)] = 200
    buf = io.BytesIO()
    Image.fromarray(rgb[None, :, :], "RGB").save(buf, format="PNG", optimize=True)
    return _data_uri(buf.getvalue(), "image/png")


def _box_corners(box: np.ndarray, scale: float) -> list[float] | None:
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        return None
    return [box[0] * scale, box[1] * scale, (box[0] + box[2]) * scale, (box[1] + box[3]) * scale]


def thumbnail(frame: Path, gt: np.ndarray, pred: np.ndarray) -> str | None:
    """The frame scaled to :data:`THUMB_WIDTH` px with the ground truth (green) and the tracker's box (red)."""
    import warnings

    from PIL import Image, ImageDraw, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size cap below decides
            with Image.open(frame) as im:  # reads the header only
                if im.width * im.height > MAX_FRAME_PIXELS:
                    return None  # a decompression bomb planted among the frames: not decoded
                im = im.convert("RGB")
                scale = THUMB_WIDTH / im.width
                im = im.resize((THUMB_WIDTH, max(1, round(im.height * scale))))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    draw = ImageDraw.Draw(im)
    for box, colour in ((gt, (40, 220, 40)), (pred, (240, 40, 40))):
        corners = _box_corners(np.asarray(box, dtype=np.float64), scale)
        if corners is not None:
            draw.rectangle(corners, outline=colour, width=2)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=70)
    return _data_uri(buf.getvalue(), "image/jpeg")


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def table_view(table: Table, digits: int) -> dict:
    """A table as plain data for the template: header, and per row the shown text, mark and sort value."""
    from ostrack_eval.reports.render import _ci, _fmt as fmt_cell, _groups, marks, with_digits

    (table,) = with_digits([table], digits)
    m = marks(table)
    rows = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, (cell, col) in enumerate(zip(row.cells, table.columns)):
            cells.append({"text": fmt_cell(cell, col), "ci": _ci(cell, col), "mark": m.get((i, j), "")})
        rows.append({"label": row.label, "cells": cells, "ranked": row.ranked})
    spans = _groups(table.columns)
    groups = [{"label": g or "", "span": b - a + 1} for g, a, b in spans] if any(g for g, _, _ in spans) else []
    if len(groups) == 1 and groups[0]["label"] == table.title:  # the caption says it already
        groups = []
    return {"title": table.title, "row_header": table.row_header, "notes": table.notes, "groups": groups,
            "columns": [{"label": c.label, "ranked": c.better is not None} for c in table.columns], "rows": rows}


# ---- sections ------------------------------------------------------------------------------------------

def _plots(ev: Evaluation) -> list[dict]:
    from ostrack_eval.reports.plots import PLOT_KINDS, draw_curves, new_figure

    out = []
    for kind in PLOT_KINDS:
        fig = new_figure((6.0, 4.5))
        if draw_curves(fig.add_subplot(), ev.bench_eval, kind):
            fig.tight_layout()
            out.append({"title": kind.title, "svg": svg_text(fig)})
    return out


def _attribute_chart(ev: Evaluation) -> str | None:
    from ostrack_eval.reports.plots import new_figure

    if ev.per_attribute.empty:
        return None
    fig = new_figure((10.0, 3.8))
    ev.plot_attributes(fig.add_subplot())
    fig.tight_layout()
    return svg_text(fig)


def _sequence_rows(ev: Evaluation, digits: int) -> list[dict]:
    be = ev.bench_eval
    flags = ev.attribute_flags()
    scores = {t.label: t.scores.sequence_scores(ev.headline) for t in be.trackers if t.scores is not None}
    rows = []
    for i, name in enumerate(ev.sequences):
        seq = be.truth.get(name)
        attrs = [a for a, f in flags.items() if f[i]] or [str(v) for k, v in be.attributes[i].items()
                                                          if k == "scenario" and v]
        cells = []
        for label, per in scores.items():
            value = float(per[i])
            cells.append({"text": _fmt(value, digits), "sort": value if math.isfinite(value) else -1.0,
                          "strip": iou_strip(ev.iou(label, name)) if seq is not None else None})
        rows.append({"name": name, "frames": len(seq.ground_truth) if seq is not None else 0,
                     "attributes": " ".join(attrs), "cells": cells})
    return rows


def _bars_svg(labels: list[str], values: list[float], xlabel: str) -> str:
    from ostrack_eval.reports.plots import new_figure

    fig = new_figure((7.0, 0.25 * len(labels) + 1.0))
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=["C2" if v >= 0 else "C3" for v in values])
    ax.set_yticks(y, [s.replace("$", r"\$") for s in labels], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", linestyle="-.")
    fig.tight_layout()
    return svg_text(fig)


def _gap(ev: Evaluation, compare: list[str] | None, digits: int) -> dict | None:
    if len(ev.trackers) < 2 or ev.bench_eval.server_only:
        return None
    a, b = compare or ev.trackers[:2]
    per_seq, per_attr = ev.gap(a, b)
    metric = METRIC_LABELS[ev.headline]
    top = per_seq.head(GAP_ROWS)
    view = {"a": a, "b": b, "metric": metric,
            "total": _fmt(ev.summary.loc[b, ev.headline] - ev.summary.loc[a, ev.headline], digits + 1),
            "sequence_svg": _bars_svg(list(top["sequence"]), list(top["contribution"]),
                                      f"contribution to {metric}({b}) − {metric}({a}) [points]"),
            "sequences": [{"name": r.sequence, "a": _fmt(r[a], digits), "b": _fmt(r[b], digits),
                           "difference": _fmt(r.difference, digits), "contribution": _fmt(r.contribution, 3)}
                          for _, r in per_seq.iterrows()],
            "attributes": [], "attribute_svg": None}
    if len(per_attr):
        view["attribute_svg"] = _bars_svg(list(per_attr["attribute"]), list(per_attr["difference"]),
                                          f"{metric}({b}) − {metric}({a}) on the attribute's sequences [points]")
        view["attributes"] = [{"name": r.attribute, "sequences": int(r.sequences), "a": _fmt(r[a], digits),
                               "b": _fmt(r[b], digits), "difference": _fmt(r.difference, digits),
                               "contribution": _fmt(r.contribution, 2)} for _, r in per_attr.iterrows()]
    return view


def _frames_on_disk(bench: str, root: str | None):
    """The adapter, when the benchmark's frames can be listed here; ``None`` otherwise."""
    from ostrack_eval.datasets import get_benchmark

    try:
        benchmark = get_benchmark(bench, root)
        benchmark.validate_root()
    except UserError:
        return None
    return benchmark if hasattr(benchmark, "frame_path") else None


def _lost(ev: Evaluation, root: str | None) -> dict:
    """Per tracker and sequence, where the target is lost; thumbnails when the frames are on disk."""
    be = ev.bench_eval
    losses = []
    for name in ev.sequences:
        seq = be.truth.get(name)
        if seq is None:
            continue
        for label in ev.trackers:
            k = ev.lost_frame(label, name)
            if k is not None:
                losses.append((name, label, k))
    benchmark = _frames_on_disk(ev.bench, root) if losses else None
    items, missing_images = [], 0
    for name, label, k in losses:
        thumb = None
        if benchmark is not None and len(items) < MAX_THUMBNAILS:
            try:
                frame = benchmark.frame_path(name, k)
            except UserError:
                frame = None
            if frame is not None:
                result = be.tracker(label).results.sequences[name].runs[0]
                thumb = thumbnail(frame, be.truth[name].ground_truth[k], result[k])
            missing_images += thumb is None
        items.append({"sequence": name, "tracker": label, "frame": k + 1, "thumb": thumb})
    shown = sum(1 for i in items if i["thumb"])
    if benchmark is None:
        note = "the dataset's frames were not found here: no thumbnails (pass --root to the benchmark's folder)"
    else:
        note = f"{shown} thumbnails" + (f"; {missing_images} frames unreadable or absent" if missing_images else "")
        if len(items) > MAX_THUMBNAILS:
            note += f"; thumbnails for the first {MAX_THUMBNAILS} losses only (size bound)"
    return {"losses": items, "note": note}


# ---- the page ------------------------------------------------------------------------------------------

def render_html(evals: list[BenchEval], options: HtmlOptions) -> str:
    """The page for every evaluated benchmark."""
    import jinja2

    from ostrack_eval.reports.tables import CIOptions, ReportContext, build_tables

    ci = CIOptions(*options.ci) if options.ci else None
    tables = build_tables(ReportContext(evals, ci), options.table, paper=options.paper)
    benches = []
    for be in evals:
        if be.server_only:
            benches.append({"bench": be.bench, "label": bench_label(be.bench), "server_only": True,
                            "notes": be.notes})
            continue
        ev = Evaluation(be)
        benches.append({
            "bench": be.bench, "label": bench_label(be.bench), "server_only": False, "notes": be.notes,
            "metric": METRIC_LABELS[ev.headline], "trackers": ev.trackers, "plots": _plots(ev),
            "attribute_svg": _attribute_chart(ev), "sequences": _sequence_rows(ev, options.digits),
            "gap": _gap(ev, options.compare, options.digits), "lost": _lost(ev, options.root),
        })
    env = jinja2.Environment(loader=jinja2.PackageLoader("ostrack_eval.reports", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    title = "ostrack-eval: " + ", ".join(bench_label(be.bench) for be in evals)
    return env.get_template("report.html.j2").render(
        title=title, tables=[table_view(t, options.digits) for t in tables], benches=benches)


def write_html_report(evals: list[BenchEval], out: str | Path, options: HtmlOptions | None = None) -> int:
    """Write the page atomically; returns its size in bytes."""
    from ostrack_eval.utils.atomic import atomic_write_text

    options = options or HtmlOptions()
    if options.compare:
        known = [t.label for t in evals[0].trackers]
        unknown = [c for c in options.compare if c not in known]
        if unknown:
            raise UserError(f"--compare {unknown[0]!r} is not one of the trackers ({', '.join(known)})")
    text = render_html(evals, options)
    atomic_write_text(out, text)
    return len(text.encode("utf-8"))
