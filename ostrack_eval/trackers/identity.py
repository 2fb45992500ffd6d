"""A tracker that never moves: the floor every real tracker must beat, and a fast smoke test."""

from __future__ import annotations

import numpy as np


class IdentityTracker:
    def __init__(self, context=None):
        pass  # nothing to configure: no weights, no device

    def initialize(self, image: np.ndarray, box: np.ndarray, info=None) -> None:
        self._box = np.asarray(box, dtype=np.float64).copy()

    def track(self, image: np.ndarray) -> np.ndarray:
        return self._box.copy()
