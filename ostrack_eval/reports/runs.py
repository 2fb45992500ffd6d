"""Where a tracker name's results live, and what its ``run.json`` says (spec, MACs, variant)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.reports.results import run_folders
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils import readfile


def resolve_source(results: str | Path, name: str, bench: str) -> tuple[Path, Path | None]:
    """``(folder holding <seq>.txt files, run folder holding run.json or None)`` for ``--tracker NAME``.

    ``NAME`` is a run name under ``results`` (``<results>/<NAME>/<bench>/``), or else the path of any
    results folder (pytracking/OSTrack/GOT-10k toolkit layouts; a ``<bench>`` sub-folder is used when
    present, as OSTrack nests GOT-10k and TrackingNet results).
    """
    run_dir = Path(results) / name
    # an absolute NAME would replace ``results`` in the join above: it is a path, never a run name
    if not Path(name).is_absolute() and run_dir.is_dir():
        bench_dir = run_dir / bench
        if not bench_dir.is_dir():
            raise UserError(f"{bench_dir}: no {bench} results for run {name!r} "
                            f"(make them with: ostrack-eval run --bench {bench} …)")
        return bench_dir, run_dir
    path = Path(name)
    if path.is_dir():
        record_dir = path if (path / "run.json").is_file() else None
        return (path / bench if (path / bench).is_dir() else path), record_dir
    if run_folders(path):
        return path, None
    raise UserError(f"{run_dir}: no such run folder (and {name!r} is not a results folder)")


def read_run_record(run_dir: Path | None) -> dict | None:
    if run_dir is None:
        return None
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(readfile.read_text(path))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read run record ({exc})") from None
    return data if isinstance(data, dict) else None


def read_server_scores(bench_dir: Path) -> dict[str, float] | None:
    """``server_scores.json`` beside the results: the evaluation server's numbers (percent) for benches
    whose ground truth is withheld, e.g. ``{"auc": 83.9, "norm_precision": 88.5, "precision": 83.2}``."""
    path = bench_dir / "server_scores.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(readfile.read_text(path))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: expected a JSON object of numbers ({exc})") from None


def tracker_spec(record: dict | None) -> TrackerSpec | None:
    """Rebuild the :class:`TrackerSpec` a run was made with from ``run.json["tracker"]``."""
    if not record or not isinstance(record.get("tracker"), dict):
        return None
    known = {f.name for f in fields(TrackerSpec)}
    try:
        return TrackerSpec(**{k: v for k, v in record["tracker"].items() if k in known})
    except (TypeError, UserError):
        return None


def paper_macs(record: dict | None) -> float | None:
    """GMACs of the run's model in the paper's convention, or ``None`` when it cannot be counted."""
    spec = tracker_spec(record)
    if spec is None:
        return None
    try:
        # imported here: the profiler pulls in torch, which most reports never need
        from ostrack_eval.profiling.macs import paper_macs as count
    except ImportError:
        return None
    try:
        return float(count(spec))
    except (UserError, ValueError, KeyError, TypeError, OSError):
        return None


def keep_ratio(record: dict | None) -> float | None:
    """Candidate-elimination keep ratio ρ of the run (1.0 without CE)."""
    config = (record or {}).get("tracker_config")
    if isinstance(config, dict) and "ce_keep_ratio" in config:
        ratios = config.get("ce_keep_ratio") or []
        if not config.get("ce_loc") or not ratios:
            return 1.0
        return float(min(ratios))
    spec = tracker_spec(record)
    if spec is None:
        return None
    if spec.no_ce:
        return 1.0
    return None if spec.keep_ratio is None else min(spec.keep_ratios)


_TEMPLATE_NAMES = {"CTR_POINT": "ctr_point", "ALL": "all", "CTR_REC": "ctr_rec", "GT_BOX": "gt_box"}


def ce_template(record: dict | None) -> str | None:
    """Template tokens that rank the search tokens (``ctr_point``, ``all``, ``ctr_rec``, ``gt_box``)."""
    config = (record or {}).get("tracker_config")
    if isinstance(config, dict) and config.get("ce_template_range"):
        if not config.get("ce_loc"):
            return "no CE"
        value = str(config["ce_template_range"])
        return _TEMPLATE_NAMES.get(value.upper(), value)
    spec = tracker_spec(record)
    if spec is None:
        return None
    return "no CE" if spec.no_ce else (spec.ce_template or "ctr_point")
