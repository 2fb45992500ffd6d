"""Batched multi-sequence tracking: B sequences advance in lockstep, one forward pass per step.

Each step stacks the search crops of the active sequences (each with its own template tokens and CE
template mask) into one batch; sequences join as soon as a slot is free and leave when their frames run
out, so the batch stays full until the last sequences finish. Frames are decoded ahead by a
:class:`~ostrack_eval.utils.frames.FramePipeline` (a few per sequence, never whole sequences in memory).

Results equal tracking each sequence alone with :class:`OSTrackTracker` (same code per sample; batched
GEMMs round differently, ≈1e-6 relative). Timing, in the pytracking convention of seconds per frame:
row 0 is the sequence's own initialisation time; every other row is the wall time of the batched step
that produced it (crop, network, decode; not frame decoding) divided by the number of sequences in that
step, so the times of a run still sum to its tracking time.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.engine import FastOptions, SequenceState, TrackingEngine
from ostrack_eval.trackers.factory import checkpoint_path, config_for_spec
from ostrack_eval.trackers.model import OSTrack, build_model
from ostrack_eval.trackers.ostrack_tracker import resolve_device
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils.frames import FrameError, FramePipeline


class SequenceLike(Protocol):
    """What :meth:`BatchedOSTrack.run` needs of a sequence (``datasets.base.Sequence`` fits).

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
    # unique per slot (unlike id(), never reused), to notice when the batch's membership changes
    serial: int = field(default_factory=itertools.count().__next__)
    boxes: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    state: SequenceState | None = None
    next_image: np.ndarray | None = None

    def result(self, error: str | None = None) -> SequenceResult:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        return SequenceResult(self.name, boxes, np.asarray(self.times, dtype=np.float64), error, self.sequence)

    def close(self) -> None:
        close = getattr(self.frames, "close", None)
        if close is not None:
            close()


class BatchedOSTrack:
    """Track many sequences at once; ``run`` yields each :class:`SequenceResult` as its sequence finishes."""

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device=None, fast: bool = True,
                 options: FastOptions | None = None, decode_workers: int = 2, prefetch: int = 4):
        self.engine = TrackingEngine(model, cfg, resolve_device(device), fast=fast, options=options)
        self.decode_workers, self.prefetch = decode_workers, prefetch

    @property
    def device(self):
        return self.engine.device

    @classmethod
    def from_spec(cls, spec: TrackerSpec, device=None, **kwargs) -> "BatchedOSTrack":
        """The batched tracker of an OSTrack :class:`TrackerSpec` (config, variant flags, checkpoint, fast
        path and its options)."""
        cfg = config_for_spec(spec)
        path = checkpoint_path(spec)
        model = build_model(cfg)
        apply_state_dict(model, load_state_dict(path), str(path))
        return cls(model, cfg, device, fast=spec.fast, options=spec.fast_options(), **kwargs)

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
        templates, members = None, None
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
                    if members != [s.serial for s in active]:  # re-stack templates when membership changes
                        members = [s.serial for s in active]
                        templates = self.engine.batch_templates([s.state for s in active])
                    start = time.perf_counter()
                    try:
                        boxes = self.engine.step([s.next_image for s in active], [s.state for s in active],
                                                 templates)
                    except Exception as exc:  # the whole batch failed: report it on each of its sequences
                        message = f"tracker raised {type(exc).__name__}: {exc}"
                        for slot in active:
                            slot.close()
                            yield slot.result(message)
                        active, members = [], None
                        continue
                    per_frame = (time.perf_counter() - start) / len(active)
                    if on_frames is not None:
                        on_frames([s.sequence for s in active])
                    still = []
                    for slot, box in zip(active, boxes):
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
            slot.state = self.engine.start(image, box)
        except Exception as exc:
            slot.close()
            return slot.result(f"tracker raised {type(exc).__name__}: {exc}")
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
            return None
        except StopIteration:
            error = None
        except FrameError as exc:
            error = str(exc)
        slot.close()
        return slot.result(error)
