"""The OSTrack paper's published numbers as a reference row set for every paper table (``report --paper``).

The numbers live in ``data/ostrack_paper.json`` (Tables 1–6, A4, A5 of Ye et al., ECCV 2022), one row per
tracker or variant, keyed like the report's columns (``lasot.auc``, ``got10k.sr75``, ``macs``, …). Given the
tables a report built, :func:`with_paper` appends the paper's rows (only those with a number in one of the
table's columns) and a table of differences for each of our rows that is the same model variant as a paper
row. A run's variant comes from its ``run.json`` (a ViT-B/16 OSTrack: search size, candidate-elimination
keep ratio, template tokens), or, for result folders without one, from the official experiment names
(``vitb_256_mae_ce_32x4_ep300``) or ours (``ostrack384-noce``, ``ostrack256-keep0.5``, ``ostrack256-all``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ostrack_eval.reports.tables import Cell, Column, ReportContext, Row, Table, bench_label

PAPER_TABLES = ("1", "2", "3", "4", "5", "6", "A4", "A5")
# keys the paper reports in other units than percent; FPS was measured on an RTX 2080 Ti: never compared
NON_PERCENT = frozenset({"fps", "macs", "train_pairs"})
NOT_COMPARED = frozenset({"fps", "train_pairs"})
PAPER_SUFFIX = " (paper)"


@dataclass(frozen=True)
class PaperRow:
    label: str
    values: dict[str, float | None]  # None: "-" in the paper
    match: dict = field(default_factory=dict)  # the model variant this row is (empty: another tracker)
    text: dict[str, str] = field(default_factory=dict)  # lead columns (keep ratio, template tokens)
    venue: str | None = None
    printed: str | None = None  # the label as the paper prints it, where it is a typo


@dataclass(frozen=True)
class PaperTable:
    table: str
    title: str
    rows: tuple[PaperRow, ...]
    notes: tuple[str, ...]
    source: str

    def row(self, label: str) -> PaperRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)


@lru_cache(maxsize=1)
def _document() -> dict:
    return json.loads((resources.files("ostrack_eval.reports") / "data" / "ostrack_paper.json").read_text("utf-8"))


def paper_table(table: str) -> PaperTable:
    doc = _document()
    data = doc["tables"][table]
    rows = tuple(PaperRow(r["label"], dict(r["values"]), dict(r.get("match", {})), dict(r.get("text", {})),
                          r.get("venue"), r.get("printed")) for r in data["rows"])
    return PaperTable(table, data["title"], rows, tuple(data.get("notes", ())), doc["source"])


# ---- which paper row a run is ------------------------------------------------------------------------

_OFFICIAL = re.compile(r"vitb_(256|384)_mae(_ce)?_\d+x\d+_(?:got10k_)?ep\d+")
_OURS = re.compile(r"ostrack-?(256|384)((?:-[a-z0-9_.]+)*)", re.IGNORECASE)


def _same_ratios(ratios) -> float | None:
    values = [float(r) for r in ratios or []]
    return values[0] if values and all(math.isclose(v, values[0]) for v in values) else None


def variant_from_record(record: dict | None) -> dict | None:
    """``{"size", "keep_ratio", "template"}`` of a ViT-B/16 OSTrack run from its ``run.json``; ``None``
    for anything else (other trackers, the tiny demo model, unequal keep ratios per layer)."""
    config = (record or {}).get("tracker_config")
    if not isinstance(config, dict):
        return None
    if config.get("embed_dim") != 768 or config.get("depth") != 12 or config.get("patch_size", 16) != 16:
        return None
    size = config.get("search_size")
    if size not in (256, 384):
        return None
    if not config.get("ce_loc"):
        return {"size": size, "keep_ratio": 1.0}
    keep = _same_ratios(config.get("ce_keep_ratio"))
    if keep is None:
        return None
    if math.isclose(keep, 1.0):
        return {"size": size, "keep_ratio": 1.0}
    template = str(config.get("ce_template_range") or "CTR_POINT").lower()
    return {"size": size, "keep_ratio": keep, "template": template}


def variant_from_name(name: str) -> dict | None:
    """The variant an official experiment name or one of our run names says (``None``: neither)."""
    official = _OFFICIAL.search(name)
    if official:
        size = int(official.group(1))
        return ({"size": size, "keep_ratio": 0.7, "template": "ctr_point"} if official.group(2)
                else {"size": size, "keep_ratio": 1.0})
    ours = _OURS.fullmatch(name.strip())
    if not ours:
        return None
    size, parts = int(ours.group(1)), [p for p in ours.group(2).lower().split("-") if p]
    keep, template = 0.7, "ctr_point"
    for part in parts:
        if part in ("noce", "no_ce"):
            keep = 1.0
        elif part.startswith("keep"):
            try:
                keep = float(part[4:])
            except ValueError:
                return None
        elif part in ("all", "ctr_rec", "gt_box", "ctr_point"):
            template = part
        elif part not in ("fast", "got10k"):  # same model; bf16/fp16/devcrop change the boxes
            return None
    if math.isclose(keep, 1.0):
        return {"size": size, "keep_ratio": 1.0}
    return {"size": size, "keep_ratio": keep, "template": template}


def run_variant(ctx: ReportContext, label: str) -> dict | None:
    """The variant of ``label``'s run: its ``run.json`` when it has one, else its name or folder names."""
    record = ctx.record(label)
    if record is not None and isinstance(record.get("tracker_config"), dict):
        return variant_from_record(record)
    names = [label]
    for be in ctx.evals:
        for folder in be.tracker(label).results.folders:
            names += [Path(folder).name, Path(folder).parent.name]
    for name in names:
        found = variant_from_name(name)
        if found is not None:
            return found
    return None


def _matches(row: PaperRow, variant: dict | None) -> bool:
    if not row.match or variant is None:
        return False
    for key, want in row.match.items():
        have = variant.get(key)
        if isinstance(want, float):
            if not isinstance(have, (int, float)) or not math.isclose(have, want):
                return False
        elif have != want:
            return False
    return len(row.match) == len(variant)


def corresponding_row(table: PaperTable, variant: dict | None) -> PaperRow | None:
    return next((r for r in table.rows if _matches(r, variant)), None)


def differences(ours: dict[str, float | None], row: PaperRow) -> dict[str, float]:
    """Ours minus the paper, for every key both have a number for (FPS and training pairs excluded)."""
    out = {}
    for key, value in ours.items():
        ref = row.values.get(key)
        if key in NOT_COMPARED or ref is None or value is None or not math.isfinite(value):
            continue
        out[key] = value - ref
    return out


# ---- tables --------------------------------------------------------------------------------------------

def _paper_rows(main: Table, table: PaperTable) -> list[Row]:
    rows = []
    for r in table.rows:
        cells, numbers = [], 0
        for col in main.columns:
            if col.key in r.values:
                value = r.values[col.key]
                numbers += value is not None
                cells.append(Cell(value))
            else:
                cells.append(Cell(text=r.text.get(col.key)))
        if numbers:
            rows.append(Row(r.label + PAPER_SUFFIX, cells, ranked=False))
    return rows


def _our_values(main: Table, row: Row) -> dict[str, float | None]:
    return {col.key: cell.value for col, cell in zip(main.columns, row.cells) if col.key and cell.text is None}


def with_paper(tables: list[Table], ctx: ReportContext, table_id: str) -> list[Table]:
    """``tables`` with the paper's rows appended to the first one and, after it, the differences of our
    rows that are a paper row's variant (nothing else changes)."""
    table = paper_table(table_id)
    main = tables[0]
    paper_rows = _paper_rows(main, table)
    compared = [j for j, col in enumerate(main.columns)
                if col.key not in NOT_COMPARED and any(col.key in r.values for r in table.rows)]
    diff_rows = []
    labels = set(ctx.labels)
    for row in main.rows:
        if not row.ranked or row.label not in labels:
            continue
        ref = corresponding_row(table, run_variant(ctx, row.label))
        if ref is None:
            continue
        diffs = differences(_our_values(main, row), ref)
        diff_rows.append(Row(f"{row.label} − {ref.label}{PAPER_SUFFIX}",
                             [Cell(diffs.get(main.columns[j].key)) for j in compared], ranked=False))
    notes = [f"(paper): Table {table_id} of {table.source}"] + [f"paper: {n}" for n in table.notes]
    if not paper_rows:
        published = dict.fromkeys(bench_label(k.split(".")[0]) for r in table.rows for k in r.values if "." in k)
        notes.append(f"paper: Table {table_id} publishes {', '.join(published)}: no column of this report")
    new_main = Table(main.title, main.columns, main.rows + paper_rows, main.notes + notes, main.row_header)
    out = [new_main]
    if diff_rows and compared:
        columns = [Column(f"Δ{main.columns[j].label}", main.columns[j].group, better=None,
                          digits=main.columns[j].digits, key=f"{main.columns[j].key}.paper_diff", signed=True)
                   for j in compared]
        out.append(Table(f"Δ to the paper (Table {table_id})", columns, diff_rows,
                         ["ours − published; rows are matched by model variant (search size, keep ratio ρ, "
                          "template tokens) from run.json or the run's name"]))
    return out + tables[1:]


# ---- JSON ----------------------------------------------------------------------------------------------

def paper_json(ctx: ReportContext, table_id: str, with_macs: bool = False) -> dict:
    """The ``"paper"`` object of ``report --format json --paper``: the published rows (keys of the
    reported benches, plus the other columns of the table) and the differences of our matching rows."""
    table = paper_table(table_id)
    benches = {be.bench for be in ctx.evals}

    def shown(key: str) -> bool:
        return key.split(".")[0] in benches if "." in key else True

    rows = {r.label: {k: v for k, v in r.values.items() if shown(k)} for r in table.rows}
    deltas = {}
    for label in ctx.labels:
        ref = corresponding_row(table, run_variant(ctx, label))
        if ref is None:
            continue
        ours: dict[str, float | None] = {}
        for be in ctx.evals:
            t = be.tracker(label)
            ours.update({f"{be.bench}.{m}": t.value(m) for m in be.metrics})
        if with_macs:
            ours["macs"] = ctx.macs(label)
        deltas[label] = {"paper_row": ref.label, "diff": differences(ours, ref)}
    return {"table": table_id, "title": table.title, "source": table.source, "notes": list(table.notes),
            "rows": rows, "deltas": deltas}
