"""The public tracker interface: what the runner hands a tracker, and what it takes back.

A tracker (built-in or plug-in) is built once per worker by its factory, a class or function called
``factory(context, **options)`` — or ``Class.from_context(context, **options)`` when the class defines it —
with a :class:`TrackerContext` (device, dtype, CPU threads, checkpoint, the whole :class:`TrackerSpec`) and
the ``--tracker-opt`` options. Then, per sequence:

* ``initialize(image, box, info)``: ``image`` the first frame, RGB ``uint8`` ``(H, W, 3)``; ``box`` the first
  ground-truth box, float64 ``x, y, w, h`` in frame pixels; ``info`` the :class:`SequenceInfo`.
* ``track(image)`` for every later frame: returns the box ``x, y, w, h`` (any 4 numbers), or ``(box,
  confidence)``, or a mapping with ``"target_bbox"`` (and optionally ``"confidence"`` or ``"best_score"``).

Optional batched form (used by ``run --batch B`` when present; without it the runner tracks one sequence at
a time): ``start(image, box, info) -> state`` initialises one sequence and returns its state (any object),
``step(images, states) -> boxes`` tracks one frame of each of B sequences in lockstep (the same outputs as
``track``, one per sequence). Sequences join and leave between steps, so a step's ``states`` change.

The pytracking / OSTrack contract (``initialize(image, info)`` with ``info["init_bbox"]``, ``track(image,
info) -> {"target_bbox": …}``) is recognised by the name of ``initialize``'s second parameter, ``info``,
and adapted (see :func:`ostrack_eval.trackers.plugins.wrap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ostrack_eval.trackers.spec import TrackerSpec


@dataclass(frozen=True)
class TrackerContext:
    """What the runner gives a tracker's factory.

    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``None`` (the tracker's choice: CUDA when present).
    ``dtype``: ``fp32``, ``bf16`` or ``fp16`` (``--dtype``). ``threads``: CPU threads this worker may use
    (``None``: the whole machine; the runner caps torch's threads to it, other libraries are the
    tracker's to cap). ``checkpoint``: ``--checkpoint`` (``None``:
    the tracker's default); load it with :func:`ostrack_eval.trackers.checkpoint.load_state_dict`, which
    never runs code from the file. Only factories that declare ``takes_checkpoint = True`` are given one, and
    only those that declare ``takes_ce_options = True`` accept ``--no-ce``, ``--keep-ratio``, ``--ce-template``.
    """

    spec: TrackerSpec
    device: str | None = None
    dtype: str = "fp32"
    threads: int | None = None

    @property
    def checkpoint(self) -> str | None:
        return self.spec.checkpoint


@dataclass(frozen=True)
class SequenceInfo:
    """The sequence a tracker is initialised on (what a tracker may know beyond its first frame and box)."""

    name: str
    bench: str | None = None
    num_frames: int | None = None
    object_class: str | None = None
    language: str | None = None  # the natural-language description (TNL2K, LaSOT)
    attributes: dict = field(default_factory=dict)


def sequence_info(seq) -> SequenceInfo:
    """The :class:`SequenceInfo` of a sequence object (``datasets.base.Sequence`` or anything with a ``name``)."""
    frames = getattr(seq, "frames", None)
    return SequenceInfo(str(seq.name), getattr(seq, "bench", None),
                        len(frames) if isinstance(frames, (list, tuple)) else None,
                        getattr(seq, "object_class", None), getattr(seq, "language", None),
                        dict(getattr(seq, "attributes", None) or {}))


@runtime_checkable
class Tracker(Protocol):
    """The per-sequence contract (see the module docstring)."""

    def initialize(self, image: np.ndarray, box: np.ndarray, info: SequenceInfo | None = None) -> None: ...

    def track(self, image: np.ndarray) -> Any: ...


@runtime_checkable
class BatchedTracker(Protocol):
    """The optional batched form: B sequences in lockstep, each with its own state."""

    def start(self, image: np.ndarray, box: np.ndarray, info: SequenceInfo | None = None) -> Any: ...

    def step(self, images: list[np.ndarray], states: list[Any]) -> list[Any]: ...


class TrackerFault(Exception):
    """A tracker broke the contract or raised on a sequence; the message names the tracker, sequence and frame."""


def read_output(out) -> tuple[np.ndarray, float | None]:
    """``(box as float64 (k,), confidence)`` from what ``track`` returned (see the module docstring)."""
    confidence = None
    if isinstance(out, dict):
        if "target_bbox" not in out:
            raise ValueError(f"returned a mapping without 'target_bbox' (keys: {', '.join(map(str, out))})")
        conf = out.get("confidence", out.get("best_score"))
        out = out["target_bbox"]
        confidence = conf
    elif isinstance(out, tuple) and len(out) == 2 and np.ndim(out[1]) == 0 and np.size(out[0]) == 4:
        out, confidence = out
    try:
        kind = np.asarray(out).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind in "cbUS":  # complex, bool or text: float() would drop an imaginary part or read True as 1
        raise ValueError(f"returned {type(out).__name__} of {np.asarray(out).dtype}, not a box of numbers")
    try:
        box = np.asarray(out, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"returned {type(out).__name__}, not a box") from None
    if confidence is not None:
        try:
            confidence = float(np.asarray(confidence, dtype=np.float64).reshape(-1).max())
        except (TypeError, ValueError):
            raise ValueError(f"returned a confidence that is not a number ({confidence!r})") from None
    return box, confidence


def check_box(box: np.ndarray) -> str | None:
    """Why ``box`` is not an ``x, y, w, h`` result, if it is not."""
    if box.size != 4:
        return f"returned {box.size} values instead of x,y,w,h"
    if not np.all(np.isfinite(box)):
        return f"returned a non-finite box {box.tolist()}"
    if box[2] < 0 or box[3] < 0:  # every reference analysis refuses the file it would be written to
        return f"returned a negative width or height {box.tolist()}"
    return None
