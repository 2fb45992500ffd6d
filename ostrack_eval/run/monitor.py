"""Collects what sequences report (frames, done, failed) and shows it as a progress bar on a terminal.

Events are plain tuples so they cross process boundaries unchanged:
``("ready", worker, device_report)``, ``("start", worker, seq)``,
``("frames", worker, n[, {seq: n_seq}])`` (a batched worker says whose frames they were),
``("done", worker, seq, frames, seconds)``, ``("failed", worker, seq, cause)``, ``("stopped", worker, seq)``,
``("fatal", worker, message, is_user_error)``, ``("exit", worker)``.
"""

from __future__ import annotations

import sys
from typing import Callable

from tqdm import tqdm

from ostrack_eval.run.plan import Job


def stderr_log(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


class RunMonitor:
    def __init__(self, bench: str, jobs: list[Job], fail_fast: bool = False, progress: bool | None = None,
                 log: Callable[[str], None] = stderr_log):
        self.bench = bench
        self.fail_fast = fail_fast
        self.log = log
        self.total = len(jobs)
        self.completed: list[str] = []
        self.failed: dict[str, str] = {}
        self.frames = 0
        self.track_seconds = 0.0
        self.devices: dict[int, dict] = {}
        self.in_flight: dict[int, list[str]] = {}  # a batched worker has several sequences in flight
        self.fatal: tuple[str, bool] | None = None
        self._job_frames = {j.name: j.frames for j in jobs}
        self._frames_seen: dict[str, int] = {}
        self.stop_requested = False
        if progress is None:
            progress = sys.stderr.isatty()
        self.bar = tqdm(total=sum(j.frames for j in jobs), unit="frame", desc=bench, file=sys.stderr,
                        disable=not progress, dynamic_ncols=True, smoothing=0.05)
        self._show_count()

    def handle(self, event: tuple) -> None:
        kind, worker = event[0], event[1]
        if kind == "frames":
            counts = event[3] if len(event) > 3 else {seq: event[2] for seq in self.in_flight.get(worker, [])}
            for seq, n in counts.items():
                self._frames_seen[seq] = self._frames_seen.get(seq, 0) + n
            self.bar.update(event[2])
        elif kind == "start":
            self.in_flight.setdefault(worker, []).append(event[2])
        elif kind == "done":
            _, _, seq, frames, seconds = event
            self._leave(worker, seq)
            self.completed.append(seq)
            self.frames += frames
            self.track_seconds += seconds
            self._show_count()
        elif kind == "failed":
            self._leave(worker, event[2])
            self.fail(event[2], event[3])
        elif kind == "stopped":
            self._leave(worker, event[2])
            self._drop_unseen_frames(event[2])
        elif kind == "ready":
            self.devices[worker] = event[2]
        elif kind == "fatal":
            self.fatal = (event[2], event[3])
            self.stop_requested = True
        elif kind != "exit":
            raise ValueError(f"unknown event {event!r}")

    def _leave(self, worker: int, seq: str) -> None:
        seqs = self.in_flight.get(worker, [])
        if seq in seqs:
            seqs.remove(seq)

    def fail(self, seq: str, cause: str) -> None:
        self.failed[seq] = cause
        self._drop_unseen_frames(seq)
        self.log(f"ostrack-eval: {self.bench}/{seq} failed: {cause}")
        self._show_count()
        if self.fail_fast:
            self.stop_requested = True

    def _drop_unseen_frames(self, seq: str) -> None:
        """A sequence that ends early will not deliver the rest of its frames: keep the bar honest."""
        unseen = self._job_frames.get(seq, 0) - self._frames_seen.get(seq, 0)
        if unseen > 0 and self.bar.total is not None:
            self.bar.total -= unseen
            self.bar.refresh()

    def retry(self, worker: int, seq: str, kept_frames: int = 0) -> None:
        """``seq`` leaves ``worker`` to be tracked again (the worker died): the frames it got beyond
        ``kept_frames`` (repetitions already stored) will come again, so the bar's total grows by them."""
        self._leave(worker, seq)
        seen = self._frames_seen.get(seq, 0)
        if seen > kept_frames and self.bar.total is not None:
            self.bar.total += seen - kept_frames
            self.bar.refresh()
        self._frames_seen[seq] = min(seen, kept_frames)

    def should_stop(self) -> bool:
        return self.stop_requested

    def close(self) -> None:
        self.bar.close()

    def _show_count(self) -> None:
        text = f"{len(self.completed)}/{self.total} seq"
        if self.failed:
            text += f", {len(self.failed)} failed"
        self.bar.set_postfix_str(text, refresh=False)
