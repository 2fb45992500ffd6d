"""Keep freed memory in the process for reuse, instead of handing it back to the kernel (glibc).

glibc gives allocations above its mmap threshold (adjusted at run time, at most 32 MiB) their own mapping,
unmapped again on free, and trims the top of the heap once enough of it is free. Every step of a tracker
allocates and frees the same tensors, so each of those comes back as fresh pages: one page fault and a
zero-fill per 4 KiB, paid again on every step. Measured on ostrack256-CE (fp32, 2 threads): the fast step at
batch 8 took 41–87 thousand page faults per step that way, the faithful forward at batch 8 171–222 thousand
(0.7–0.9 GB of fresh pages); with the heap kept, none, after a few steps. At batch 1 the tensors (≤ 4 MB)
already stay under the threshold. On the 2-core test machine the time saved was within its run-to-run
noise (six paired runs at batch 8, fast step per sample, best of 5–8: 196→180, 173→168, 214→160, 189→195,
226→190, 173→174 ms); the kernel's page zeroing it removes is work on any machine.

This is what PyTorch's CPU performance guide gets from jemalloc or tcmalloc with memory kept (the
``dirty_decay_ms`` setting of Intel's launcher), done with the allocator the process already has: raise
the mmap threshold above any tensor of a step and never trim. The process's footprint then stays at its
peak, which a tracking process reaches on every step anyway.
"""

from __future__ import annotations

import ctypes
import platform
import sys

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses thresholds above its largest heap on some builds: try big, then its documented maximum
_MMAP_THRESHOLDS = (1 << 30, 32 << 20)
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int


def retain_freed_memory() -> bool:
    """Set glibc's allocator to keep freed memory (see the module docstring); ``False`` where it is not
    glibc (macOS, Windows, musl) or the settings were refused. Affects the whole process: call it once,
    from the program that owns the process (the CLI, a worker, a benchmark script)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not any(mallopt(_M_MMAP_THRESHOLD, t) for t in _MMAP_THRESHOLDS):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
