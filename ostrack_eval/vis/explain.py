"""Run an OSTrack tracker over a sequence and keep, for chosen frames, what its network saw and did."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.vis.attention import AttentionRecorder, centre_template_index


@dataclass
class FrameView:
    index: int
    frame: np.ndarray  # (H, W, 3) RGB uint8
    pred: np.ndarray  # (4,) x, y, w, h in the frame
    gt: np.ndarray | None  # (4,) or None when not annotated / not finite
    search_patch: np.ndarray  # (S, S, 3) the search crop the network saw
    crop_origin: tuple[float, float]  # frame coordinates of the crop's top-left corner
    crop_scale: float  # crop pixels per frame pixel (the tracker's resize factor)
    feat: int  # search feature map side (tokens per row)
    removed: list[np.ndarray] = field(default_factory=list)  # per CE stage: original indices eliminated there
    stage_layers: list[int] = field(default_factory=list)
    attention: dict[int, np.ndarray] = field(default_factory=dict)  # layer -> (feat, feat), NaN = eliminated
    score_map: np.ndarray | None = None  # (feat, feat) Hann-weighted response

    def to_crop(self, box: np.ndarray) -> np.ndarray:
        """A frame box in search-crop pixels (the mapping the tracker uses to map its output back)."""
        x0, y0 = self.crop_origin
        return np.array([(box[0] - x0) * self.crop_scale, (box[1] - y0) * self.crop_scale,
                         box[2] * self.crop_scale, box[3] * self.crop_scale])

    def target_cells(self) -> np.ndarray | None:
        """``(feat²,)`` bool: search tokens whose patch centre lies inside the ground-truth box."""
        if self.gt is None:
            return None
        x, y, w, h = self.to_crop(self.gt)
        stride = self.search_patch.shape[0] / self.feat
        centres = (np.arange(self.feat) + 0.5) * stride
        inside_x = (centres >= x) & (centres <= x + w)
        inside_y = (centres >= y) & (centres <= y + h)
        return (inside_y[:, None] & inside_x[None, :]).reshape(-1)


def _valid_box(box) -> np.ndarray | None:
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    return b if b.size == 4 and np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0 else None


def explain_frames(tracker: OSTrackTracker, frames: Iterator[np.ndarray], ground_truth: np.ndarray,
                   wanted: range, layers: list[int]) -> Iterator[FrameView]:
    """Track from frame 0 (initialised with the first ground-truth box) and yield a view of each wanted frame.

    Frames before the range are tracked too (the state depends on them) but not recorded.
    """
    cfg = tracker.cfg
    recorder = AttentionRecorder(tracker.model, layers, centre_template_index(cfg.feat_sz_t))
    stop = wanted.stop
    for i, image in enumerate(frames):
        if i >= stop:
            break
        if i == 0:
            tracker.initialize(image, np.asarray(ground_truth[0], dtype=np.float64))
            continue
        record = i in wanted
        prev = list(tracker.state)
        tracker.keep_debug = record
        recorder.rows.clear()
        with recorder.recording() if record else nullcontext():
            pred = tracker.track(image)
        if not record:
            continue
        dbg = tracker.debug
        out = dbg.out
        half = 0.5 * cfg.search_size / dbg.resize_factor
        cx, cy = prev[0] + 0.5 * prev[2], prev[1] + 0.5 * prev[3]
        feat = cfg.feat_sz_s
        maps = recorder.search_maps(out["ce"], cfg.num_template_tokens, cfg.num_search_tokens)
        yield FrameView(
            index=i, frame=image, pred=np.asarray(pred, dtype=np.float64),
            gt=_valid_box(ground_truth[i]) if i < len(ground_truth) else None,
            search_patch=dbg.search_patch, crop_origin=(cx - half, cy - half), crop_scale=dbg.resize_factor,
            feat=feat,
            removed=[st.removed_index[0].cpu().numpy() if st.removed_index is not None else np.zeros(0, int)
                     for st in out["ce"]],
            stage_layers=[st.layer for st in out["ce"]],
            attention={k: v.reshape(feat, feat) for k, v in maps.items()},
            score_map=dbg.response[0, 0].cpu().numpy() if dbg.response is not None else None,
        )


def elimination_summary(view: FrameView) -> dict:
    """How much of the target candidate elimination threw away, against what chance would."""
    target = view.target_cells()
    n = view.feat**2
    stages = []
    gone = np.zeros(n, dtype=bool)
    for layer, removed in zip(view.stage_layers, view.removed):
        gone[removed] = True
        entry = {"layer": layer, "removed": int(removed.size), "removed_total": int(gone.sum())}
        if target is not None and target.any():
            entry["target_removed"] = int((gone & target).sum())
            entry["target_tokens"] = int(target.sum())
        stages.append(entry)
    out = {"frame": view.index, "stages": stages}
    if target is not None and target.any():
        out["target_fraction_of_search"] = float(target.mean())
        out["target_kept_fraction"] = float(1 - (gone & target).sum() / target.sum())
        out["background_kept_fraction"] = float(1 - (gone & ~target).sum() / max(1, (~target).sum()))
    return out
