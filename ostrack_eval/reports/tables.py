"""Paper-style tables as data (rows of cells), built from evaluated benchmarks; rendering is elsewhere.

One builder per table of the OSTrack paper (``TABLES``); each takes a :class:`ReportContext` (the
evaluated benches, trackers in command-line order, bootstrap options) and returns tables. Columns say
whether higher or lower is better so renderers can mark the best and second best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.metrics.bootstrap import DEFAULT_SAMPLES, DEFAULT_SEED, Interval, paired_intervals
from ostrack_eval.metrics.conventions import METRIC_LABELS
from ostrack_eval.reports import runs
from ostrack_eval.reports.evaluate import BenchEval, TrackerEval
from ostrack_eval.utils.text import listing, plural

BENCH_LABELS: dict[str, str] = {
    "lasot": "LaSOT", "lasot_ext": "LaSOT_ext", "trackingnet": "TrackingNet", "got10k": "GOT-10k",
    "got10k_val": "GOT-10k val", "nfs": "NFS", "uav123": "UAV123", "tnl2k": "TNL2K", "itb": "ITB", "demo": "demo",
}
# the ITB toolkit's scenario order (show_result_ITB)
ITB_SCENARIOS = ("human-part", "sport-ball", "3d-object", "animal", "uav", "human-body", "vehicle", "sign-logo",
                 "cartoon")


ITB_VIDEOS_PER_SCENARIO = 20


def bench_label(bench: str) -> str:
    return BENCH_LABELS.get(bench, bench)


@dataclass
class Column:
    label: str
    group: str | None = None
    better: str | None = "higher"  # "higher", "lower", or None (not ranked)
    digits: int = 1
    key: str = ""
    signed: bool = False  # differences: always show the sign


@dataclass
class Cell:
    value: float | None = None
    text: str | None = None  # shown instead of the value (names, relative changes)
    ci: Interval | None = None


@dataclass
class Row:
    label: str
    cells: list[Cell]
    ranked: bool = True  # takes part in best/second marking


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    row_header: str = "Tracker"


@dataclass
class CIOptions:
    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED
    level: float = 0.95


@dataclass
class _Intervals:
    scores: dict[tuple[str, str], Interval]
    diffs: dict[tuple[str, str], Interval]


@dataclass
class ReportContext:
    """Everything a table needs: benches (in order), tracker labels (in order), options."""

    evals: list[BenchEval]
    ci: CIOptions | None = None
    per_sequence: bool = False
    _intervals: dict[str, _Intervals] = field(default_factory=dict, repr=False)
    _macs: dict[str, float | None] = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.evals[0].trackers]

    def record(self, label: str) -> dict | None:
        for be in self.evals:
            rec = be.tracker(label).results.run_record
            if rec is not None:
                return rec
        return None

    def macs(self, label: str) -> float | None:
        if label not in self._macs:
            self._macs[label] = runs.paper_macs(self.record(label))
        return self._macs[label]

    def fps(self, label: str) -> float | None:
        """Frames per second over every listed benchmark together."""
        frames, seconds = 0, 0.0
        for be in self.evals:
            t = be.tracker(label)
            f, s = t.results.timing(be.sequences or None)
            frames, seconds = frames + f, seconds + s
        return frames / seconds if frames and seconds > 0 else None

    def intervals(self, be: BenchEval) -> _Intervals:
        """Bootstrap CIs of every tracker's scores and of their differences to the first tracker."""
        if be.bench not in self._intervals:
            self._intervals[be.bench] = _bootstrap(be, self.ci or CIOptions())
        return self._intervals[be.bench]

    def interval(self, be: BenchEval, label: str, metric: str) -> Interval | None:
        return self.intervals(be).scores.get((label, metric)) if self.ci else None


def _bootstrap(be: BenchEval, opts: CIOptions) -> _Intervals:
    scored = [t for t in be.trackers if t.scores is not None]
    if not scored or not be.sequences:
        return _Intervals({}, {})
    # (trackers, metrics, sequences) -> the (sequences, trackers, metrics) layout of paired_intervals
    num = np.array([[t.scores.num[m] for m in be.metrics] for t in scored], dtype=np.float64).transpose(2, 0, 1)
    den = np.array([[t.scores.den[m] for m in be.metrics] for t in scored], dtype=np.float64).transpose(2, 0, 1)
    iv = paired_intervals(num, den, opts.samples, opts.seed, opts.level)
    scores = {(t.label, m): iv.scores[i][j] for i, t in enumerate(scored) for j, m in enumerate(be.metrics)}
    diffs = {(t.label, m): iv.diffs[i - 1][j] for i, t in enumerate(scored) if i
             for j, m in enumerate(be.metrics)}
    return _Intervals(scores, diffs)


def _score_cell(ctx: ReportContext, be: BenchEval, t: TrackerEval, metric: str) -> Cell:
    return Cell(t.value(metric), ci=ctx.interval(be, t.label, metric))


def _notes(ctx: ReportContext) -> list[str]:
    notes = []
    for be in ctx.evals:
        if be.sequences:
            notes.append(f"{bench_label(be.bench)}: {plural(len(be.sequences), 'sequence')}, convention "
                         f"'{be.convention.name}'")
        notes += be.notes
    if ctx.ci:
        notes.append(f"[a, b]: {ctx.ci.level:.0%} bootstrap interval over sequences "
                     f"({ctx.ci.samples} resamples, seed {ctx.ci.seed})")
    return notes


# ---- builders ---------------------------------------------------------------------------------------

def metrics_table(ctx: ReportContext, title: str, with_fps: bool) -> Table:
    """Every metric of each benchmark's convention (Tables 1 and 5); the default report adds what the
    reference tool prints besides (OP50/OP75) and FPS."""
    columns: list[Column] = []
    shown = {be.bench: be.metrics + (be.extra_metrics if with_fps else ()) for be in ctx.evals}
    for be in ctx.evals:
        columns += [Column(METRIC_LABELS[m], bench_label(be.bench), key=f"{be.bench}.{m}") for m in shown[be.bench]]
        if with_fps:
            columns.append(Column("FPS", bench_label(be.bench), better=None, key=f"{be.bench}.fps"))
    rows = []
    for label in ctx.labels:
        cells: list[Cell] = []
        for be in ctx.evals:
            t = be.tracker(label)
            cells += [_score_cell(ctx, be, t, m) for m in shown[be.bench]]
            if with_fps:
                cells.append(Cell(t.fps))
        rows.append(Row(label, cells))
    return Table(title, columns, rows, _notes(ctx))


def _headline_columns(ctx: ReportContext) -> list[Column]:
    return [Column(METRIC_LABELS[be.convention.headline], bench_label(be.bench),
                   key=f"{be.bench}.{be.convention.headline}") for be in ctx.evals]


def _headline_cells(ctx: ReportContext, label: str) -> list[Cell]:
    return [_score_cell(ctx, be, be.tracker(label), be.convention.headline) for be in ctx.evals]


Lead = tuple[Column, Callable[[ReportContext, str], Cell]]


def headline_table(ctx: ReportContext, title: str, lead: list[Lead] = ()) -> Table:
    """One number per benchmark (AUC, AO or mIoU), after optional leading columns."""
    columns = [c for c, _ in lead] + _headline_columns(ctx)
    rows = [Row(label, [fn(ctx, label) for _, fn in lead] + _headline_cells(ctx, label)) for label in ctx.labels]
    return Table(title, columns, rows, _notes(ctx))


def _fps_lead(ctx: ReportContext, label: str) -> Cell:
    return Cell(ctx.fps(label))


def _macs_lead(ctx: ReportContext, label: str) -> Cell:
    return Cell(ctx.macs(label))


def _keep_lead(ctx: ReportContext, label: str) -> Cell:
    rho = runs.keep_ratio(ctx.record(label))
    return Cell(text=None if rho is None else f"{rho:g}")


def _template_lead(ctx: ReportContext, label: str) -> Cell:
    return Cell(text=runs.ce_template(ctx.record(label)))


# speed and cost are reported, not ranked: a faster or smaller model is not a better score
FPS_COLUMN = Column("FPS", better=None, key="fps")
MACS_COLUMN = Column("MACs (G)", better=None, key="macs")


def relative_rows(table: Table, reference: int = 0) -> list[Row]:
    """Rows of relative change ``(x - ref) / ref`` of every numeric column against row ``reference``."""
    ref = table.rows[reference]
    out = []
    for i, row in enumerate(table.rows):
        if i == reference:
            continue
        cells = []
        for a, b in zip(ref.cells, row.cells):
            ok = a.value is not None and b.value is not None and a.text is None and a.value != 0 \
                and math.isfinite(a.value) and math.isfinite(b.value)
            cells.append(Cell(text=f"{(b.value - a.value) / a.value * 100:+.1f}%" if ok else None))
        out.append(Row(f"Δ {row.label} vs {ref.label}", cells, ranked=False))
    return out


def table_1(ctx: ReportContext) -> list[Table]:
    return [metrics_table(ctx, "Table 1: state-of-the-art comparison", with_fps=False)]


def table_2(ctx: ReportContext) -> list[Table]:
    return [headline_table(ctx, "Table 2: AUC on further benchmarks")]


def table_3(ctx: ReportContext) -> list[Table]:
    table = headline_table(ctx, "Table 3: without vs with candidate elimination",
                           [(FPS_COLUMN, _fps_lead), (MACS_COLUMN, _macs_lead)])
    table.rows += relative_rows(table)
    table.notes.append("MACs: one forward in the paper's (thop) convention; FPS: frames / tracker time over "
                       "all listed benchmarks; Δ: relative change")
    return [table]


def table_4(ctx: ReportContext) -> list[Table]:
    return [headline_table(ctx, "Table 4: template tokens used to rank search tokens",
                           [(Column("Template", better=None, key="template"), _template_lead)])]


def table_5(ctx: ReportContext) -> list[Table]:
    return [metrics_table(ctx, "Table 5: comparison of runs", with_fps=False)]


def table_6(ctx: ReportContext) -> list[Table]:
    table = headline_table(ctx, "Table 6: accuracy and speed",
                           [(FPS_COLUMN, _fps_lead), (MACS_COLUMN, _macs_lead)])
    table.notes.append("FPS: frames / tracker time over all listed benchmarks (as stored in the time files)")
    return [table]


def table_a4(ctx: ReportContext) -> list[Table]:
    table = headline_table(ctx, "Table A4: keep ratio ρ of candidate elimination",
                           [(Column("ρ", better=None, key="keep_ratio"), _keep_lead), (MACS_COLUMN, _macs_lead),
                            (FPS_COLUMN, _fps_lead)])
    return [table]


def table_a5(ctx: ReportContext) -> list[Table]:
    """ITB mIoU per scenario (toolkit order) and overall."""
    be = _only(ctx, "itb", "A5")
    found = [a.get("scenario") for a in be.attributes]
    if not any(found):
        scenarios: list[str] = []
    else:
        extra = sorted({s for s in found if s and s not in ITB_SCENARIOS})
        scenarios = [s for s in ITB_SCENARIOS if s in found] + extra
    columns = [Column(s, key=f"itb.scenario.{s}") for s in scenarios]
    columns.append(Column("mIoU", key="itb.miou"))
    rows = []
    for t in be.trackers:
        cells = [Cell(t.value("miou", np.array([f == s for f in found]))) for s in scenarios]
        cells.append(_score_cell(ctx, be, t, "miou"))
        rows.append(Row(t.label, cells))
    notes = _notes(ctx)
    if not scenarios:
        notes.append("the ITB adapter gave no scenario per video (Sequence.attributes['scenario']): overall only")
    partial = [s for s in scenarios if found.count(s) != ITB_VIDEOS_PER_SCENARIO]
    if partial:
        notes.append(f"scenario columns are mean mIoU over the videos scored; the ITB toolkit prints a scenario as "
                     f"its per-video sum x 5, which is that mean only with all {ITB_VIDEOS_PER_SCENARIO} videos "
                     f"(here: {', '.join(f'{s} {found.count(s)}' for s in partial)})")
    return [Table("Table A5: ITB mIoU per scenario", columns, rows, notes)]


def lasot_attribute_names() -> list[tuple[str, str]]:
    """The 14 LaSOT attributes ``(abbreviation, full name)`` in the official toolkit's order."""
    # imported here: ostrack_eval.datasets loads every adapter (OpenCV included), which tables never need
    from ostrack_eval.datasets.lasot import attribute_names

    return attribute_names()


@dataclass
class AttributeFlags:
    """Attribute -> mask over the scored sequences; sequences without labels are in no attribute's mask."""

    flags: dict[str, np.ndarray]
    unlabelled: list[str]

    def note(self) -> str | None:
        if not self.unlabelled:
            return None
        shown = listing(self.unlabelled)
        return (f"{plural(len(self.unlabelled), 'sequence')} with no attribute labels, left out of every attribute "
                f"column (in All only): {shown}")


def attribute_flags(be: BenchEval, names: list[tuple[str, str]]) -> AttributeFlags:
    """Each scored sequence's attributes from its adapter, else from the packaged toolkit table (read by the
    LaSOT adapter's module, the table's one reader)."""
    from ostrack_eval.datasets.lasot import toolkit_attributes

    abbrs = [abbr for abbr, _ in names]
    table_names, table = toolkit_attributes()
    column = {abbr: i for i, (abbr, _) in enumerate(table_names)}
    rows, unlabelled = [], []
    for seq, attrs in zip(be.sequences, be.attributes):
        if all(abbr in attrs for abbr in abbrs):
            rows.append([bool(attrs[abbr]) for abbr in abbrs])
        elif seq in table:
            rows.append([bool(table[seq][column[abbr]]) for abbr in abbrs])
        else:
            rows.append([False] * len(abbrs))
            unlabelled.append(seq)
    flags = np.array(rows, dtype=bool).reshape(len(rows), len(abbrs))
    return AttributeFlags({abbr: flags[:, i] for i, abbr in enumerate(abbrs)}, unlabelled)


def attribute_table(ctx: ReportContext) -> list[Table]:
    """LaSOT AUC per attribute: each attribute's subset scored like the whole set (pytracking's
    ``print_results_per_attribute``)."""
    be = _only(ctx, "lasot", "attributes")
    names = lasot_attribute_names()
    labels = attribute_flags(be, names)
    flags = labels.flags
    metric = be.convention.headline
    columns = [Column(abbr, key=f"lasot.{abbr}") for abbr, _ in names]
    columns.append(Column("All", key=f"lasot.{metric}"))
    rows = []
    for t in be.trackers:
        cells = [Cell(t.value(metric, flags[abbr]) if flags[abbr].any() else None) for abbr, _ in names]
        cells.append(_score_cell(ctx, be, t, metric))
        rows.append(Row(t.label, cells))
    notes = _notes(ctx) + ["; ".join(f"{abbr} = {full} ({int(flags[abbr].sum())})" for abbr, full in names)]
    if labels.note():
        notes.append(labels.note())
    return [Table(f"{bench_label(be.bench)} {METRIC_LABELS[metric]} per attribute", columns, rows, notes)]


def per_sequence_tables(ctx: ReportContext) -> list[Table]:
    """Per benchmark: one row per scored sequence, one column per tracker (headline metric)."""
    tables = []
    for be in ctx.evals:
        if not be.sequences:
            continue
        metric = be.convention.headline
        columns = [Column(t.label, METRIC_LABELS[metric], better=None, key=f"{be.bench}.{t.label}.{metric}")
                   for t in be.trackers]
        per = [t.scores.sequence_scores(metric) for t in be.trackers]
        rows = [Row(seq, [Cell(float(p[i])) for p in per], ranked=False) for i, seq in enumerate(be.sequences)]
        tables.append(Table(f"{bench_label(be.bench)}: {METRIC_LABELS[metric]} per sequence", columns, rows,
                            row_header="Sequence"))
    return tables


def difference_tables(ctx: ReportContext) -> list[Table]:
    """Paired differences of every tracker to the first one, with bootstrap intervals."""
    if not ctx.ci or len(ctx.labels) < 2:
        return []
    ref = ctx.labels[0]
    columns, keys = [], []
    for be in ctx.evals:
        if be.server_only:
            continue
        for m in be.metrics:
            columns.append(Column(f"Δ{METRIC_LABELS[m]}", bench_label(be.bench), better=None,
                                  key=f"{be.bench}.{m}.diff", signed=True))
            keys.append((be, m))
    if not columns:
        return []
    rows = []
    for label in ctx.labels[1:]:
        cells = []
        for be, m in keys:
            a, b = be.tracker(ref).value(m), be.tracker(label).value(m)
            diff = None if a is None or b is None else b - a
            cells.append(Cell(diff, ci=ctx.intervals(be).diffs.get((label, m))))
        rows.append(Row(f"{label} − {ref}", cells, ranked=False))
    note = (f"paired bootstrap over sequences ({ctx.ci.samples} resamples, seed {ctx.ci.seed}): an interval that "
            f"excludes 0 is a difference the sequence sample supports at {ctx.ci.level:.0%}")
    return [Table(f"Differences to {ref}", columns, rows, [note])]


def _only(ctx: ReportContext, bench: str, table: str) -> BenchEval:
    matches = [be for be in ctx.evals if be.bench == bench]
    if not matches:
        raise UserError(f"--table {table} is for --bench {bench}")
    if matches[0].server_only:
        raise UserError(f"--table {table}: {bench} has no ground truth to score")
    return matches[0]


def default_tables(ctx: ReportContext) -> list[Table]:
    title = ", ".join(bench_label(be.bench) for be in ctx.evals)
    return [metrics_table(ctx, title, with_fps=True)]


TABLES: dict[str, Callable[[ReportContext], list[Table]]] = {
    "default": default_tables,
    "1": table_1,
    "2": table_2,
    "3": table_3,
    "4": table_4,
    "5": table_5,
    "6": table_6,
    "A4": table_a4,
    "A5": table_a5,
    "attributes": attribute_table,
}


def build_tables(ctx: ReportContext, table: str = "default", paper: bool = False) -> list[Table]:
    """The requested table, then paired differences (``ci``) and per-sequence tables when asked for;
    ``paper`` adds the paper's published rows and our differences to them (``report --paper``)."""
    try:
        builder = TABLES[table]
    except KeyError:
        raise UserError(f"unknown table {table!r}; known: {', '.join(k for k in TABLES if k != 'default')}") from None
    tables = builder(ctx)
    if paper:
        from ostrack_eval.reports.paper import with_paper  # builds on this module's Table

        tables = with_paper(tables, ctx, table)
    tables += difference_tables(ctx)
    if ctx.per_sequence:
        tables += per_sequence_tables(ctx)
    return tables
