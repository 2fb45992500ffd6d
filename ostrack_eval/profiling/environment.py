"""What a timing was measured on: device name, versions (Python, libraries, ostrack-eval), threads."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from ostrack_eval import __version__
from ostrack_eval.errors import UserError


def resolve_device(name: str | None) -> torch.device:
    """``--device`` (cpu, cuda, cuda:N; None: CUDA when present) as a usable torch device."""
    from ostrack_eval.run.devices import check_device
    from ostrack_eval.trackers.ostrack_tracker import resolve_device as default_device

    device = default_device(check_device(name))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: no CUDA device is visible to torch {torch.__version__}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return device


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo`` on Linux; ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def describe(device: torch.device, dtype: torch.dtype) -> dict:
    """JSON-ready description of the measuring environment: what an FPS number needs to be reproduced."""
    return {
        "device": device_name(device),
        "device_type": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,  # None on CPU-only builds of torch
        # cuDNN picks the convolution kernels on CUDA; it plays no part on CPU
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "ostrack_eval": __version__,
        "threads": torch.get_num_threads(),
    }
