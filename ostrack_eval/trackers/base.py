"""The tracker protocol the runner drives."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Tracker(Protocol):
    """Single-object tracker.

    Frames are RGB ``uint8`` arrays ``(H, W, 3)``; boxes are float ``x, y, w, h`` in frame pixels.
    """

    def initialize(self, image: np.ndarray, box: np.ndarray) -> None: ...

    def track(self, image: np.ndarray) -> np.ndarray: ...
