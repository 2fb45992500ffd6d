"""One tracker's profile — size, MACs, latency, environment — as a JSON object or a Markdown table."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ostrack_eval.profiling import DEFAULT_ITERS, DEFAULT_WARMUP
from ostrack_eval.profiling.environment import describe
from ostrack_eval.profiling.macs import ModelCounts, model_counts
from ostrack_eval.profiling.timing import FRAME_HW, Timing, time_tracker, weights_file
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.factory import config_for_spec
from ostrack_eval.trackers.gemm import PACK_MIN_ELEMENTS, default_backend
from ostrack_eval.trackers.registry import TrackerSpec


@dataclass(frozen=True)
class ProfileReport:
    spec: TrackerSpec
    cfg: OSTrackConfig
    counts: ModelCounts
    environment: dict
    timing: Timing | None
    warmup: int
    weights: str | None  # the checkpoint; without one "random" when timed, else None

    def ce(self) -> dict:
        return {"loc": list(self.cfg.ce_loc), "keep_ratio": list(self.cfg.ce_keep_ratio),
                "template": self.cfg.ce_template_range.lower() if self.cfg.ce_loc else None}

    def as_dict(self) -> dict:
        t = self.timing
        return {
            "tracker": self.spec.tracker,
            "run_name": self.spec.run_name(),
            "params": self.counts.params,
            "macs_paper_g": self.counts.macs_paper_g,
            "macs_full_g": self.counts.macs_full_g,
            "ce": self.ce(),
            "latency_ms": None if t is None else {"forward": t.forward.as_dict(),
                                                  "track_step": t.track_step.as_dict()},
            "fps": None if t is None else {"forward": t.forward.fps, "track_step": t.track_step.fps},
            "iters": None if t is None else t.forward.iters,
            "warmup": None if t is None else self.warmup,
            "fast": self.spec.fast,
            "weights": self.weights,
            "frame_wh": [FRAME_HW[1], FRAME_HW[0]],
            **self.environment,
        }

    def as_markdown(self) -> str:
        c, env = self.counts, self.environment
        ce = self.ce()
        if self.cfg.ce_enabled:
            ratios = sorted(set(ce["keep_ratio"]), key=ce["keep_ratio"].index)
            ce_text = (f"blocks {', '.join(map(str, ce['loc']))} · keep {', '.join(f'{r:g}' for r in ratios)}"
                       f" · template {ce['template']}")
        else:
            ce_text = "off"
        rows = [
            ("parameters", f"{c.params / 1e6:.2f} M ({c.params:,})"),
            ("MACs, paper convention (thop rules)", f"{c.macs_paper_g:.2f} G"),
            ("MACs, full (incl. attention matmuls)", f"{c.macs_full_g:.2f} G"),
            ("candidate elimination", ce_text),
        ]
        if self.timing is not None:
            t = self.timing
            mode = "fast" if self.spec.fast else "faithful"
            for label, s in ((f"forward ({mode})", t.forward),
                             (f"tracking step, {FRAME_HW[1]}×{FRAME_HW[0]} frame", t.track_step)):
                rows.append((label, f"{s.median:.2f} ms (p10 {s.p10:.2f}, p90 {s.p90:.2f}) · {s.fps:.1f} FPS"))
            rows.append(("timed", f"{t.forward.iters} iterations after {self.warmup} warm-up, batch 1"))
        if self.weights is not None:
            rows.append(("weights", self.weights))
        threads = f"{env['threads']} thread" + ("s" if env["threads"] != 1 else "")
        rows.append(("device", f"{env['device']} ({env['device_type']}, {threads})"))
        rows.append(("dtype · torch · CUDA · cuDNN",
                     f"{env['dtype']} · {env['torch']} · {env['cuda'] or '–'} · {env['cudnn'] or '–'}"))
        rows.append(("Python · NumPy · ostrack-eval", f"{env['python']} · {env['numpy']} · {env['ostrack_eval']}"))
        if "cpu_gemm" in env:
            rows.append(("fast path's CPU GEMMs", f"{env['cpu_gemm']} (weights of {PACK_MIN_ELEMENTS:,}+ elements; "
                                                  "smaller ones F.linear)"))
        lines = [f"| {self.spec.run_name()} | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines)


def profile_tracker(spec: TrackerSpec, device: torch.device, timing: bool = True, iters: int = DEFAULT_ITERS,
                    warmup: int = DEFAULT_WARMUP) -> ProfileReport:
    """Count (always) and time (unless ``timing`` is off) the OSTrack tracker ``spec`` on ``device``."""
    cfg = config_for_spec(spec)
    path = weights_file(spec)  # a checkpoint named on the command line must exist even when nothing is timed
    counts = model_counts(cfg)
    measured = time_tracker(spec, device, iters, warmup) if timing else None
    dtype = measured.dtype if measured is not None else torch.get_default_dtype()
    # Counts need no weights, but the profile still belongs to the checkpoint it was asked about.
    weights = measured.weights if measured is not None else (str(path) if path else None)
    environment = describe(device, dtype)
    if spec.fast and device.type == "cpu":  # which GEMMs the fast path ran on (MKL packs, oneDNN): CPU-dependent
        environment["cpu_gemm"] = default_backend()
    return ProfileReport(spec=spec, cfg=cfg, counts=counts, environment=environment,
                         timing=measured, warmup=warmup, weights=weights)
