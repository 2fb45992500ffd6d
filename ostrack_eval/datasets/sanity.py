"""What makes a loaded sequence unusable for tracking: its first box, and the first frame around it.

``run`` refuses such a sequence (for every tracker) and ``datasets check`` lists it, with the same words.
"""

from __future__ import annotations

import numpy as np

from ostrack_eval.datasets.base import Sequence


def init_box_problem(box: np.ndarray) -> str | None:
    """Why ``box`` cannot start a track (not four finite numbers, or no area), if so."""
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.size != 4:
        return f"the first ground-truth box has {box.size} values instead of x,y,w,h"
    if not np.all(np.isfinite(box)):
        return f"the first ground-truth box {box.tolist()} is not a finite x,y,w,h box"
    if box[2] <= 0 or box[3] <= 0:
        return f"the first ground-truth box {box.tolist()} has no area (width and height must be > 0)"
    return None


def first_frame_problem(seq: Sequence, height: int, width: int) -> str | None:
    """Why the first box cannot be cropped from a ``width`` × ``height`` first frame, if so."""
    x, y, w, h = np.asarray(seq.init_box, dtype=np.float64).reshape(-1)[:4]
    where = f"frame 0 ({seq.frames[0].name}, {width}×{height} px)"
    if width < 2 or height < 2:
        return f"{where}: the image is too small to track in"
    if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
        return f"{where}: the first ground-truth box {[x, y, w, h]} lies outside the image"
    return None
