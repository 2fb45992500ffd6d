"""Tables -> Markdown, LaTeX (booktabs) or CSV text.

Best value per ranked column in bold, second best underlined in LaTeX (italic in Markdown, which has no
underline), decided on the unrounded values; exact ties share the mark. Markdown and LaTeX round to each
column's digits (or ``digits``); CSV keeps full precision and puts bootstrap intervals in ``<key>_ci_low`` /
``<key>_ci_high`` columns.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from typing import Callable

from ostrack_eval.reports.tables import Cell, Column, Table

DASH = "–"


def _number(cell: Cell) -> float | None:
    if cell.text is not None or cell.value is None or not math.isfinite(cell.value):
        return None
    return cell.value


def marks(table: Table) -> dict[tuple[int, int], str]:
    """``(row, column) -> "best" | "second"`` over ranked rows, on the unrounded values.

    Rows with exactly the best value share "best"; "second" goes to the next value only when one row is
    best and at least three rows are ranked (two tied best leave no second place).
    """
    out: dict[tuple[int, int], str] = {}
    ranked = [i for i, r in enumerate(table.rows) if r.ranked]
    for j, col in enumerate(table.columns):
        if col.better is None:
            continue
        values = {i: v for i in ranked if (v := _number(table.rows[i].cells[j])) is not None}
        if len(values) < 2:
            continue
        order = sorted(set(values.values()), reverse=(col.better == "higher"))
        best = [i for i, v in values.items() if v == order[0]]
        for i in best:
            out[(i, j)] = "best"
        if len(best) == 1 and len(order) > 1 and len(values) >= 3:
            for i, v in values.items():
                if v == order[1]:
                    out[(i, j)] = "second"
    return out


def with_digits(tables: list[Table], digits: int | None) -> list[Table]:
    """The tables with every column shown to ``digits`` decimals (``None``: each column's own)."""
    if digits is None:
        return tables
    return [replace(t, columns=[replace(c, digits=digits) for c in t.columns]) for t in tables]


def _fmt(cell: Cell, col: Column) -> str:
    if cell.text is not None:
        return cell.text
    if cell.value is None or not math.isfinite(cell.value):
        return DASH
    return f"{cell.value:+.{col.digits}f}" if col.signed else f"{cell.value:.{col.digits}f}"


def _ci(cell: Cell, col: Column) -> str:
    if cell.ci is None or not (math.isfinite(cell.ci.low) and math.isfinite(cell.ci.high)):
        return ""
    spec = f"+.{col.digits}f" if col.signed else f".{col.digits}f"
    return f"[{cell.ci.low:{spec}}, {cell.ci.high:{spec}}]"


def _header(col: Column) -> str:
    return f"{col.group} {col.label}" if col.group else col.label


def render_markdown(table: Table) -> str:
    m = marks(table)
    lines = [f"**{table.title}**", ""]
    head = [table.row_header] + [_header(c) for c in table.columns]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * len(table.columns)) + "|")
    for i, row in enumerate(table.rows):
        cells = []
        for j, (cell, col) in enumerate(zip(row.cells, table.columns)):
            text = _fmt(cell, col)
            mark = m.get((i, j))
            text = f"**{text}**" if mark == "best" else f"_{text}_" if mark == "second" else text
            ci = _ci(cell, col)
            cells.append(f"{text} {ci}" if ci else text)
        lines.append("| " + " | ".join([row.label.replace("|", "\\|")] + cells) + " |")
    if table.notes:
        lines.append("")
        lines += [f"- {n}" for n in table.notes]
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  # symbols pdflatex cannot take as UTF-8 text
                  "Δ": r"$\Delta$", "ρ": r"$\rho$", "−": r"$-$", DASH: "--"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _groups(columns: list[Column]) -> list[tuple[str | None, int, int]]:
    """Runs of equal ``group``: ``(group, first column, last column)``, 0-based."""
    spans: list[tuple[str | None, int, int]] = []
    for j, col in enumerate(columns):
        if spans and spans[-1][0] == col.group:
            spans[-1] = (col.group, spans[-1][1], j)
        else:
            spans.append((col.group, j, j))
    return spans


def render_latex(table: Table) -> str:
    m = marks(table)
    n = len(table.columns)
    out = ["\\begin{table}[t]", "\\centering", f"\\caption{{{latex_escape(table.title)}}}",
           f"\\begin{{tabular}}{{l{'c' * n}}}", "\\toprule"]
    spans = _groups(table.columns)
    if any(g for g, _, _ in spans):
        cells, rules = [""], []
        for group, a, b in spans:
            width = b - a + 1
            cells.append(f"\\multicolumn{{{width}}}{{c}}{{{latex_escape(group)}}}" if group and width > 1
                         else latex_escape(group or ""))
            if group:
                rules.append(f"\\cmidrule(lr){{{a + 2}-{b + 2}}}")
        out.append(" & ".join(cells) + " \\\\")
        if rules:
            out.append(" ".join(rules))
    out.append(" & ".join([latex_escape(table.row_header)] + [latex_escape(c.label) for c in table.columns]) + " \\\\")
    out.append("\\midrule")
    for i, row in enumerate(table.rows):
        if not row.ranked and i > 0 and table.rows[i - 1].ranked:
            out.append("\\midrule")
        cells = [latex_escape(row.label)]
        for j, (cell, col) in enumerate(zip(row.cells, table.columns)):
            text = latex_escape(_fmt(cell, col))
            mark = m.get((i, j))
            text = f"\\textbf{{{text}}}" if mark == "best" else f"\\underline{{{text}}}" if mark == "second" else text
            ci = _ci(cell, col)
            cells.append(f"{text}\\,{{\\scriptsize {ci}}}" if ci else text)
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    out += [f"% {n_}" for n_ in table.notes]
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def _csv_value(cell: Cell) -> str:
    if cell.text is not None:
        return cell.text
    if cell.value is None or not math.isfinite(cell.value):
        return ""
    return repr(float(cell.value))


def render_csv(table: Table) -> str:
    with_ci = [any(r.cells[j].ci is not None for r in table.rows) for j in range(len(table.columns))]
    header = [table.row_header.lower()]
    for col, ci in zip(table.columns, with_ci):
        key = col.key or _header(col)
        header += [key] + ([f"{key}_ci_low", f"{key}_ci_high"] if ci else [])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        values = [row.label]
        for cell, ci in zip(row.cells, with_ci):
            values.append(_csv_value(cell))
            if ci:
                values += ["", ""] if cell.ci is None else [repr(cell.ci.low), repr(cell.ci.high)]
        writer.writerow(values)
    return buf.getvalue()


RENDERERS: dict[str, Callable[[Table], str]] = {"md": render_markdown, "latex": render_latex, "csv": render_csv}


def render(tables: list[Table], fmt: str, digits: int | None = None) -> str:
    """All tables in one text; CSV tables are separated by an empty line. ``digits`` overrides the decimals
    Markdown and LaTeX show (CSV is always unrounded)."""
    return "\n".join(RENDERERS[fmt](t) for t in with_digits(tables, digits))
