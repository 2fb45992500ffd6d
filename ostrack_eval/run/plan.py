"""Which sequences a run covers (``--sequences``, ``--shard``) and the jobs still to do, longest first."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.names import check_names
from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (1-based) -> ``(I, N)``."""
    m = _SHARD.match(text or "")
    if m is None:
        raise UserError(f"--shard must look like I/N (e.g. 1/4), got {text!r}")
    i, n = int(m[1]), int(m[2])
    if not 1 <= i <= n:
        raise UserError(f"--shard {text}: need 1 <= I <= N")
    return i, n


def parse_sequence_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",")]
    names = [s for s in names if s]
    if not names:
        raise UserError("--sequences is empty")
    check_names(names, "--sequences")
    return list(dict.fromkeys(names))


def select_sequences(available: list[str], wanted: list[str] | None = None,
                     shard: tuple[int, int] | None = None) -> list[str]:
    """The benchmark's sequences in shard ``I/N`` and in ``wanted``, in benchmark order.

    Shard I takes every N-th name of the benchmark's sorted sequence list starting at the I-th:
    deterministic, independent of sequence lengths, and interleaved so each shard gets a similar mix (LaSOT
    lists classes in blocks). The slice is taken before ``wanted`` narrows it, so shard I/N is the same
    set of sequences whatever else is asked for: runs holding the locks of different shards of one N can
    never write the same sequence.
    """
    names = list(available)
    if wanted is not None:
        known = set(names)
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise UserError(f"--sequences: not in this benchmark: {listing(unknown)}")
    if shard is not None:
        i, n = shard
        mine = set(sorted(names)[i - 1::n])
        names = [s for s in names if s in mine]
    if wanted is not None:
        keep = set(wanted)
        names = [s for s in names if s in keep]
    return names


@dataclass
class Job:
    """One sequence still to track: once (``reps is None``, single-run layout) or these repetitions."""

    sequence: Sequence
    reps: list[int] | None = None

    @property
    def name(self) -> str:
        return self.sequence.name

    @property
    def frames(self) -> int:
        return self.sequence.num_frames * (len(self.reps) if self.reps is not None else 1)


def longest_first(jobs: list[Job]) -> list[Job]:
    """Longest jobs first, so the last sequence to finish is a short one (better worker packing)."""
    return sorted(jobs, key=lambda j: (-j.frames, j.name))
