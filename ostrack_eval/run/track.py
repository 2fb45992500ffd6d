"""Run one tracker over one sequence, the way pytracking does.

The tracker is initialised on frame 0 with the first ground-truth box; row 0 of the result is that box
and time row 0 the initialisation time. Each timer covers the tracker call only, not frame decoding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.sanity import first_frame_problem, init_box_problem
from ostrack_eval.run.frames import FrameError, FramePrefetcher
from ostrack_eval.trackers.api import TrackerFault, sequence_info
from ostrack_eval.trackers.plugins import RunnableTracker


class SequenceFailure(Exception):
    """The sequence could not be tracked; the message is the cause, for the failure summary."""


class Stopped(Exception):
    """The run was asked to stop (``--fail-fast`` elsewhere, Ctrl-C) before this sequence finished."""


@dataclass
class TrackResult:
    boxes: np.ndarray  # (N, 4) float64, row 0 = init box
    times: np.ndarray  # (N,) seconds


def track_sequence(tracker: RunnableTracker, seq: Sequence, on_frame: Callable[[], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, prefetch: int = 8) -> TrackResult:
    n = seq.num_frames
    if n == 0:
        raise SequenceFailure("the sequence has no frames")
    init_box = np.asarray(seq.init_box, dtype=np.float64).reshape(-1)
    problem = init_box_problem(init_box)
    if problem is not None:  # for every tracker: a box without area would be "tracked" as is
        raise SequenceFailure(problem)
    boxes = np.empty((n, 4), dtype=np.float64)
    times = np.empty(n, dtype=np.float64)
    i, image = 0, None
    try:
        with FramePrefetcher(seq.frames, depth=prefetch) as frames:
            for i, image in enumerate(frames):
                if should_stop is not None and should_stop():
                    raise Stopped()
                if i == 0:
                    problem = first_frame_problem(seq, *image.shape[:2])
                    if problem is not None:
                        raise SequenceFailure(problem)
                    start = time.perf_counter()
                    tracker.initialize(image, init_box.copy(), sequence_info(seq))
                    times[0] = time.perf_counter() - start
                    boxes[0] = init_box
                else:
                    start = time.perf_counter()
                    box = tracker.track(image)  # checked by the wrapper: 4 finite numbers
                    times[i] = time.perf_counter() - start
                    boxes[i] = box
                if on_frame is not None:
                    on_frame()
    except (FrameError, TrackerFault) as exc:
        raise SequenceFailure(str(exc)) from None
    except (SequenceFailure, Stopped):
        raise
    except Exception as exc:
        raise SequenceFailure(_tracker_failure(exc, seq, i, image)) from exc
    return TrackResult(boxes, times)


def _tracker_failure(exc: Exception, seq: Sequence, frame: int, image: np.ndarray | None) -> str:
    """One sentence naming the frame; OpenCV's assertion text (``!_src.empty()``…) means nothing to a user."""
    if type(exc).__module__.startswith("cv2"):
        where = f"frame {frame} ({seq.frames[frame].name}" + (
            f", {image.shape[1]}×{image.shape[0]} px)" if image is not None else ")")
        return (f"{where}: the tracker's search region around its box falls outside the image "
                f"(image too small or box off the frame)")
    return f"tracker raised {type(exc).__name__}: {exc}"


def non_finite_box(boxes: np.ndarray, first_frame: int = 0) -> str | None:
    """Why ``boxes`` (rows from frame ``first_frame`` on) are not a usable result, if a row is not finite."""
    bad = np.flatnonzero(~np.isfinite(boxes).reshape(len(boxes), -1).all(axis=1))
    if not bad.size:
        return None
    return f"tracker returned a non-finite box {boxes[bad[0]].tolist()} at frame {first_frame + int(bad[0])}"
