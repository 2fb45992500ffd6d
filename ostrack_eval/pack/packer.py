"""``pack``: a run's stored results -> the zip an evaluation server accepts (datasets.md §9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.pack.collect import collect_results
from ostrack_eval.pack.formats import get_format, select_names
from ostrack_eval.pack.frames import dataset_frame_counts
from ostrack_eval.pack.protocol import got10k_protocol_warning
from ostrack_eval.pack.writer import write_zip
from ostrack_eval.run.store import ResultStore

_SHOWN = 5  # names listed in a one-line error


@dataclass
class PackSummary:
    out: Path
    bench: str
    sequences: int
    official: int
    repetitions: int
    frames_root: Path | None  # dataset whose frame counts the rows were checked against
    warnings: list[str] = field(default_factory=list)


def _refusal(run_dir: Path, bench: str, total: int, problems: list[tuple[str, str]]) -> UserError:
    shown = "; ".join(f"{seq}: {why}" for seq, why in problems[:_SHOWN])
    more = f"; … {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    return UserError(f"{run_dir / bench}: cannot pack, {len(problems)} of {total} sequences not ready — "
                     f"{shown}{more}")


def pack_submission(results: str | Path, run_name: str, bench: str, out: str | Path, *, int_mode: bool = False,
                    root: str | Path | None = None, names: list[str] | None = None) -> PackSummary:
    """Pack ``<results>/<run_name>/<bench>/`` into ``out``; refuses (``UserError``) unless every sequence is complete.

    ``names`` restricts packing to part of the official list (a server needs all of it). Row counts are
    checked against the frames on disk when the dataset is found (``root``, else the default location);
    otherwise repetitions and time files must agree with each other.
    """
    fmt = get_format(bench)
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise UserError(f"{out}: the submission file must end in .zip")
    official = fmt.official_names()
    names = select_names(fmt, names)
    store = ResultStore(Path(results), run_name)
    if not store.bench_dir(bench).is_dir():
        raise UserError(f"{store.bench_dir(bench)}: no {bench} results for run {run_name!r}")

    frames = dataset_frame_counts(bench, root, names)
    warnings = []
    if bench == "got10k":
        warning = got10k_protocol_warning(store.run_json)
        if warning:
            warnings.append(warning)

    collected = collect_results(store, fmt, names, None if frames is None else frames.counts)
    if collected.problems:
        raise _refusal(store.run_dir, bench, len(names), collected.problems)
    write_zip(out, fmt, collected.sequences, int_mode)
    if len(names) < len(official):
        warnings.append(f"packed {len(names)} of the {len(official)} official {bench} sequences; "
                        f"the server needs all of them")
    return PackSummary(out, bench, len(collected.sequences), len(official),
                       max(len(s.boxes) for s in collected.sequences), None if frames is None else frames.root,
                       warnings + collected.warnings)
