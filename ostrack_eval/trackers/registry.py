"""Tracker names → factories, and the picklable :class:`TrackerSpec` the runner ships to workers."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.base import Tracker

CE_TEMPLATES = ("ctr_point", "all", "ctr_rec", "gt_box")
DTYPES = ("fp32", "bf16", "fp16")
# torch.compile modes (Inductor), plus "cudagraphs": dynamo capture replayed as CUDA graphs, no Inductor
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs", "cudagraphs")


def check_fast_options(dtype: str, compile_mode: str | None) -> None:
    if dtype not in DTYPES:
        raise UserError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if compile_mode is not None and compile_mode not in COMPILE_MODES:
        raise UserError(f"--compile must be one of {', '.join(COMPILE_MODES)}, got {compile_mode!r}")


@dataclass(frozen=True)
class TrackerSpec:
    """Everything needed to rebuild a tracker in another process.

    ``tracker`` is a registered name (``ostrack256``, ``ostrack384``, ``identity``, …) or the path of a
    tracker YAML (ours, or an official OSTrack experiment YAML). ``dtype``, ``compile`` and ``device_crop``
    are the fast path's switches (:class:`~ostrack_eval.trackers.engine.FastOptions`).
    """

    tracker: str
    checkpoint: str | None = None
    no_ce: bool = False
    keep_ratio: float | None = None
    ce_template: str | None = None
    name: str | None = None
    fast: bool = False
    dtype: str = "fp32"
    compile: str | None = None
    device_crop: bool = False

    def __post_init__(self):
        if self.keep_ratio is not None and not (0.0 < self.keep_ratio <= 1.0):
            raise UserError(f"--keep-ratio must be in (0, 1], got {self.keep_ratio}")
        if self.ce_template is not None and self.ce_template not in CE_TEMPLATES:
            raise UserError(f"--ce-template must be one of {', '.join(CE_TEMPLATES)}, got {self.ce_template!r}")
        if self.no_ce and self.keep_ratio is not None and self.keep_ratio < 1.0:
            raise UserError("--no-ce and --keep-ratio < 1 contradict each other")
        check_fast_options(self.dtype, self.compile)
        if not self.fast and (self.dtype != "fp32" or self.compile or self.device_crop):
            raise UserError("--dtype, --compile and --device-crop are fast-path options: add --fast")

    @property
    def base_name(self) -> str:
        if self.tracker in TRACKERS:
            return self.tracker
        return Path(self.tracker).name.split(".")[0]

    def run_name(self) -> str:
        """Results folder name: preset plus variant suffixes (``ostrack256-noce``, ``-keep0.5``, ``-all``)."""
        if self.name:
            return self.name
        parts = [self.base_name]
        if self.no_ce:
            parts.append("noce")
        if self.keep_ratio is not None:
            parts.append(f"keep{self.keep_ratio:g}")
        if self.ce_template is not None and self.ce_template != "ctr_point":
            parts.append(self.ce_template)
        if self.fast:
            parts.append("fast")
        if self.dtype != "fp32":  # half precision changes the boxes; compiling does not
            parts.append(self.dtype)
        if self.device_crop:  # device resampling differs from OpenCV's by a grey level here and there
            parts.append("devcrop")
        return "-".join(parts)

    def fast_options(self):
        """The :class:`~ostrack_eval.trackers.engine.FastOptions` of a fast-path spec, else ``None``."""
        if not self.fast:
            return None
        from ostrack_eval.trackers.engine import FastOptions

        return FastOptions(self.dtype, self.compile, self.device_crop)

    def as_dict(self) -> dict:
        return asdict(self)


def _build_identity(spec: TrackerSpec, device: str | None) -> Tracker:
    from ostrack_eval.trackers.identity import IdentityTracker

    if spec.checkpoint:  # silently ignoring it would make a run look like it used those weights
        raise UserError(f"--checkpoint {spec.checkpoint}: tracker {spec.tracker!r} takes no checkpoint")

    return IdentityTracker()


def _build_ostrack(spec: TrackerSpec, device: str | None) -> Tracker:
    from ostrack_eval.trackers.factory import build_ostrack_tracker

    return build_ostrack_tracker(spec, device)


# name -> factory(spec, device) -> Tracker. A path to a YAML is handled as an OSTrack config.
TRACKERS: dict[str, Callable[[TrackerSpec, str | None], Tracker]] = {
    "identity": _build_identity,
    "ostrack256": _build_ostrack,
    "ostrack384": _build_ostrack,
    "ostrack-tiny": _build_ostrack,
}


def is_config_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def is_ostrack(spec: TrackerSpec) -> bool:
    """Whether ``spec`` builds an OSTrack tracker (a preset or a YAML), not another registered tracker."""
    return TRACKERS.get(spec.tracker) is _build_ostrack or is_config_path(spec.tracker)


def build_tracker(spec: TrackerSpec, device: str | None = None) -> Tracker:
    """Instantiate the tracker ``spec`` names on ``device`` (``None``: CUDA when present, else CPU)."""
    if spec.tracker in TRACKERS:
        return TRACKERS[spec.tracker](spec, device)
    if is_config_path(spec.tracker):
        if not Path(spec.tracker).is_file():
            raise UserError(f"{spec.tracker}: tracker config not found")
        return _build_ostrack(spec, device)
    raise UserError(f"unknown tracker {spec.tracker!r}; known: {', '.join(sorted(TRACKERS))} or a path to a .yaml")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
