"""A tracker that never moves: the floor every real tracker must beat, and a fast smoke test."""

from __future__ import annotations

import numpy as np


class IdentityTracker:
    def initialize(self, image: np.ndarray, box: np.ndarray) -> None:
        self._box = np.asarray(box, dtype=np.float64).copy()

    def track(self, image: np.ndarray) -> np.ndarray:
        return self._box.copy()
