"""From a :class:`TrackerSpec` to an OSTrack network with its weights: config, checkpoint, model.

The tracker around it is :class:`~ostrack_eval.trackers.ostrack_tracker.OSTrackTracker`, built from here.
"""

from __future__ import annotations

from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import OSTrackConfig, get_preset, load_config
from ostrack_eval.trackers.model import OSTrack, build_model
from ostrack_eval.trackers.spec import TrackerSpec, is_config_path

CHECKPOINT_DIR = Path("trackers") / "checkpoints"
# Presets whose weights ship inside the package (trained here, see ``ostrack-eval train-tiny``).
PACKAGED_CHECKPOINTS = {"ostrack-tiny": Path(__file__).parent / "weights" / "ostrack_tiny.pth.tar"}


def config_for_spec(spec: TrackerSpec) -> OSTrackConfig:
    base = load_config(spec.tracker) if is_config_path(spec.tracker) else get_preset(spec.tracker)
    return base.with_variant(no_ce=spec.no_ce, keep_ratio=spec.keep_ratio, ce_template=spec.ce_template)


def default_checkpoint(spec: TrackerSpec) -> Path:
    """``trackers/checkpoints/<preset>.pth.tar`` (for a YAML: the same folder as the YAML first)."""
    if is_config_path(spec.tracker):
        stem = Path(spec.tracker).name.split(".")[0]
        beside = Path(spec.tracker).with_name(f"{stem}.pth.tar")
        if beside.is_file():
            return beside
        return CHECKPOINT_DIR / f"{stem}.pth.tar"
    if spec.tracker in PACKAGED_CHECKPOINTS:
        return PACKAGED_CHECKPOINTS[spec.tracker]
    return CHECKPOINT_DIR / f"{spec.tracker}.pth.tar"


def checkpoint_path(spec: TrackerSpec) -> Path:
    path = Path(spec.checkpoint) if spec.checkpoint else default_checkpoint(spec)
    if not path.is_file():
        hint = "" if spec.checkpoint else (
            " (download the official OSTrack_ep0300.pth.tar of this model and save it there, or pass --checkpoint)")
        raise UserError(f"{path}: checkpoint not found{hint}")
    return path


def build_ostrack_model(spec: TrackerSpec, cfg: OSTrackConfig | None = None) -> tuple[OSTrack, OSTrackConfig]:
    """The network ``spec`` names (``cfg``: its config, when already resolved) with its checkpoint loaded."""
    cfg = cfg if cfg is not None else config_for_spec(spec)
    path = checkpoint_path(spec)
    model = build_model(cfg)
    apply_state_dict(model, load_state_dict(path), str(path))
    return model, cfg
