"""Which device each worker runs on."""

from __future__ import annotations

import os
import re

from ostrack_eval.errors import UserError

_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+)$")


def check_device(device: str | None) -> str | None:
    if device is None or device == "auto":
        return None
    if not _DEVICE.match(device):
        raise UserError(f"--device must be cpu, cuda or cuda:N, got {device!r}")
    return device


def worker_devices(device: str | None, workers: int) -> list[str | None]:
    """One device per worker.

    ``cuda`` (or no ``--device`` with several workers) deals the workers round-robin over the visible CUDA
    devices; ``cuda:N`` and ``cpu`` put every worker there. A single worker with no ``--device`` leaves the
    choice to the tracker (CUDA when present), without importing torch here.
    """
    device = check_device(device)
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if device == "cpu" or (device is None and workers == 1):
        return [device] * workers
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device is None:
        device = "cuda" if count else "cpu"
        if device == "cpu":
            return ["cpu"] * workers
    if count == 0:
        raise UserError(f"--device {device}: no CUDA device is visible to torch {torch.__version__}")
    if device == "cuda":
        return [f"cuda:{k % count}" for k in range(workers)]
    index = int(device.split(":")[1])
    if index >= count:
        raise UserError(f"--device {device}: only {count} CUDA device(s) visible")
    return [device] * workers


def cpu_threads_per_worker(workers: int) -> int:
    """Split the machine's cores between CPU workers so they do not oversubscribe each other."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // workers)
