"""``pack``: a run's stored results -> the zip an evaluation server accepts (datasets.md §9)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.pack.check import check_zip
from ostrack_eval.pack.collect import collect_results
from ostrack_eval.pack.formats import get_format, select_names
from ostrack_eval.pack.frames import FrameCounts, dataset_frame_counts
from ostrack_eval.utils.text import listing
from ostrack_eval.pack.protocol import got10k_protocol_warning
from ostrack_eval.pack.writer import zip_bytes
from ostrack_eval.run.store import ResultStore
from ostrack_eval.utils.atomic import atomic_write_bytes


@dataclass
class PackSummary:
    out: Path
    bench: str
    sequences: int
    repetitions: int
    frames: FrameCounts | None  # what the row counts were checked against (None: no dataset)
    warnings: list[str] = field(default_factory=list)

    @property
    def frames_root(self) -> Path | None:
        return None if self.frames is None else self.frames.root


def _refusal(run_dir: Path, bench: str, total: int, problems: list[tuple[str, str]]) -> UserError:
    shown = listing([f"{seq}: {why}" for seq, why in problems], sep="; ")
    return UserError(f"{run_dir / bench}: cannot pack, {len(problems)} of {total} sequences not ready — {shown}")


def pack_submission(results: str | Path, run_name: str, bench: str, out: str | Path, *, int_mode: bool = False,
                    root: str | Path | None = None, names: list[str] | None = None) -> PackSummary:
    """Pack ``<results>/<run_name>/<bench>/`` into ``out``; refuses (``UserError``) unless every sequence is complete.

    ``names`` restricts packing to part of the official list (a server needs all of it). Row counts are
    checked against the frames on disk when the dataset is found (``root``, else the default location)
    and holds the sequence; otherwise repetitions and time files must agree with each other.
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
    data = zip_bytes(fmt, collected.sequences, int_mode)
    # Two implementations of the server rules: a zip the checker rejects is never handed out.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        report = check_zip(zf, out, fmt, names, lambda present: frames)
    if report.problems:
        raise UserError(f"{out}: not written, the packed zip fails its own check (please report this): "
                        f"{listing(report.problems, sep='; ')}")
    atomic_write_bytes(out, data)
    if len(names) < len(official):
        warnings.append(f"packed {len(names)} of the {len(official)} official {bench} sequences; "
                        f"the server needs all of them")
    warnings += report.notes  # the frame counts' notes, as --check prints them
    return PackSummary(out, bench, len(collected.sequences), max(len(s.boxes) for s in collected.sequences),
                       frames, warnings + collected.warnings)
