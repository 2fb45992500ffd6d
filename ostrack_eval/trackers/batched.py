"""Batched multi-sequence tracking: B sequences advance in lockstep, one ``step`` per frame of all of them.

Drives any tracker with the batched form of :mod:`ostrack_eval.trackers.api` (``start``/``step``; for
OSTrack each step stacks the search crops of the active sequences, each with its own template tokens and
CE template mask, into one forward pass); sequences join as soon as a slot is free and leave when their
frames run out, so the batch stays full until the last sequences finish. Frames are decoded ahead by a
:class:`~ostrack_eval.utils.frames.FramePipeline` (a few per sequence, never whole sequences in memory).

Results equal tracking each sequence alone with :class:`OSTrackTracker` (same code per sample; batched
GEMMs round differently, ≈1e-6 relative). Timing, in the pytracking convention of seconds per frame:
row 0 is the sequence's own initialisation time; every other row is the wall time of the batched step
that produced it (crop, network, decode; not frame decoding) divided by the number of sequences in that
step, so the times of a run still sum to its tracking time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from ostrack_eval.trackers.api import TrackerContext, TrackerFault, sequence_info
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.trackers.plugins import RunnableTracker, wrap
from ostrack_eval.trackers.spec import FastOptions, TrackerSpec
from ostrack_eval.utils.frames import FrameError, FramePipeline


class SequenceLike(Protocol):
    """What :meth:`BatchedRunner.run` needs of a sequence (``datasets.base.Sequence`` fits).

    ``frames``: a list of image paths (decoded by the pipeline) or an iterable of RGB uint8 arrays.
    """

    name: str
    frames: Iterable

    @property
    def init_box(self) -> np.ndarray: ...


@dataclass
class SequenceResult:
    """A finished sequence. On failure ``error`` says why and the arrays hold the frames tracked before it."""

    name: str
    boxes: np.ndarray  # (N, 4) float64 x, y, w, h; row 0 = the init box
    times: np.ndarray  # (N,) seconds
    error: str | None = None
    sequence: object = None  # the sequence object it came from


@dataclass
class _Slot:
    name: str
    frames: Iterator[np.ndarray]
    sequence: SequenceLike
    boxes: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    state: object = None
    frame: int = 0  # index of the frame ``next_image`` is
    next_image: np.ndarray | None = None

    def result(self, error: str | None = None) -> SequenceResult:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        return SequenceResult(self.name, boxes, np.asarray(self.times, dtype=np.float64), error, self.sequence)

    def close(self) -> None:
        close = getattr(self.frames, "close", None)
        if close is not None:
            close()


class BatchedRunner:
    """Track many sequences at once with ``tracker``'s batched form; ``run`` yields each
    :class:`SequenceResult` as its sequence finishes."""

    def __init__(self, tracker, label: str | None = None, decode_workers: int = 2, prefetch: int = 4):
        self.tracker: RunnableTracker = wrap(tracker, label or type(tracker).__name__)
        if not self.tracker.batched:
            raise ValueError(f"{self.tracker.label} has no batched form (start/step)")
        self.decode_workers, self.prefetch = decode_workers, prefetch

    @property
    def device(self):
        return self.tracker.device

    def run(self, sequences: Iterable[SequenceLike], max_batch: int = 8,
            on_frames: Callable[[int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> Iterator[SequenceResult]:
        """Track ``sequences`` (taken lazily, in order) ``max_batch`` at a time.

        ``on_frames(sequences)`` is called with the sequences that got a frame: each one once when it is
        initialised on its first frame, then all of a step's after that step. When ``should_stop()`` turns
        true the run ends without yielding the unfinished sequences.
        """
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        pending = iter(sequences)
        active: list[_Slot] = []
        upcoming: _Slot | None = None
        with FramePipeline(self.decode_workers, self.prefetch) as pipeline:
            try:
                while True:
                    # fill free slots; one more sequence is opened ahead so its first frames are decoded
                    # by the time a slot frees up
                    while len(active) < max_batch:
                        slot = upcoming if upcoming is not None else self._open(next(pending, None), pipeline)
                        upcoming = None
                        if slot is None:
                            break
                        failed = self._start(slot, on_frames)
                        if failed is not None:
                            yield failed
                        else:
                            active.append(slot)
                    if upcoming is None:
                        upcoming = self._open(next(pending, None), pipeline)
                    if not active:
                        return
                    if should_stop is not None and should_stop():
                        return
                    start = time.perf_counter()
                    try:
                        boxes = self.tracker.step([s.next_image for s in active], [s.state for s in active],
                                                  [(s.name, s.frame) for s in active])
                    except TrackerFault as exc:  # the whole step failed: report it on each of its sequences
                        for slot in active:
                            slot.close()
                            yield slot.result(str(exc))
                        active = []
                        continue
                    per_frame = (time.perf_counter() - start) / len(active)
                    if on_frames is not None:
                        on_frames([s.sequence for s in active])
                    still = []
                    for slot, box in zip(active, boxes):
                        if isinstance(box, TrackerFault):
                            slot.close()
                            yield slot.result(str(box))
                            continue
                        slot.boxes.append(box)
                        slot.times.append(per_frame)
                        done = self._advance(slot)
                        if done is not None:
                            yield done
                        else:
                            still.append(slot)
                    active = still
            finally:
                for slot in active + ([upcoming] if upcoming is not None else []):
                    slot.close()

    @staticmethod
    def _open(seq: SequenceLike | None, pipeline: FramePipeline) -> _Slot | None:
        if seq is None:
            return None
        return _Slot(str(seq.name), pipeline.open(seq.frames), seq)

    def _start(self, slot: _Slot, on_frames: Callable[[list], None] | None) -> SequenceResult | None:
        """Initialise on frame 0 and read frame 1; a result if the sequence is already over (or failed)."""
        try:
            image = next(slot.frames)
        except StopIteration:
            slot.close()
            return slot.result("the sequence has no frames")
        except FrameError as exc:
            slot.close()
            return slot.result(str(exc))
        try:
            box = np.asarray(slot.sequence.init_box, dtype=np.float64).reshape(-1)
        except (IndexError, TypeError, ValueError) as exc:
            slot.close()
            return slot.result(f"no usable first ground-truth box ({exc})")
        if box.size != 4 or not np.all(np.isfinite(box)):
            slot.close()
            return slot.result(f"the first ground-truth box {box.tolist()} is not a finite x,y,w,h box")
        start = time.perf_counter()
        try:
            info = getattr(slot.sequence, "info", None) or sequence_info(slot.sequence)
            slot.state = self.tracker.start(image, box.copy(), info)
        except TrackerFault as exc:
            slot.close()
            return slot.result(str(exc))
        slot.times.append(time.perf_counter() - start)
        slot.boxes.append(box.copy())
        if on_frames is not None:
            on_frames([slot.sequence])
        return self._advance(slot)

    @staticmethod
    def _advance(slot: _Slot) -> SequenceResult | None:
        """Fetch the slot's next frame; a result when its frames are exhausted or unreadable."""
        try:
            slot.next_image = next(slot.frames)
            slot.frame += 1
            return None
        except StopIteration:
            error = None
        except FrameError as exc:
            error = str(exc)
        slot.close()
        return slot.result(error)


class BatchedOSTrack(BatchedRunner):
    """:class:`BatchedRunner` over an :class:`OSTrackTracker` of ``model`` (fast or faithful network)."""

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device=None, fast: bool = True,
                 options: FastOptions | None = None, decode_workers: int = 2, prefetch: int = 4):
        tracker = OSTrackTracker(model, cfg, device, fast=fast, options=options)
        super().__init__(tracker, cfg.name, decode_workers, prefetch)

    @property
    def engine(self):
        return self.tracker.tracker._engine_for_batches()

    @classmethod
    def from_spec(cls, spec: TrackerSpec, device=None, **kwargs) -> BatchedRunner:
        """The batched tracker of an OSTrack :class:`TrackerSpec` (config, variant flags, checkpoint, fast
        path and its options)."""
        tracker = OSTrackTracker.from_context(TrackerContext(spec, device, spec.dtype))
        return BatchedRunner(tracker, spec.tracker, **kwargs)
