"""retain_freed_memory: freed tensors' pages are reused, not faulted in again on every step."""

import platform
import subprocess
import sys

import pytest

_PROBE = """
import resource, sys, torch
from ostrack_eval.run.memory import retain_freed_memory
ok = retain_freed_memory() if sys.argv[1] == "1" else None
for _ in range(8):  # 40 MiB: above glibc's largest dynamic mmap threshold; the heap settles in a few steps
    torch.ones(40 << 18)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    torch.ones(40 << 18)  # allocated, touched, freed: what every tracking step does with its tensors
print(ok, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 5)
"""


def _faults_per_alloc(tune: bool) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, "1" if tune else "0"], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's allocator only")
def test_freed_memory_is_reused_without_page_faults():
    _, default = _faults_per_alloc(False)
    ok, kept = _faults_per_alloc(True)
    assert default > 5000  # 40 MiB = 10240 pages, mapped and faulted in anew each time
    assert ok == "True" and kept < 100
