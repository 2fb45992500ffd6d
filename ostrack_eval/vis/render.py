"""Drawing a :class:`FrameView` as one PNG: frame with boxes, CE stages (paper Fig. 5), attention (Fig. 4)."""

from __future__ import annotations

import cv2
import numpy as np

from ostrack_eval.vis.explain import FrameView

PANEL = 256
GT_COLOUR = (0, 200, 0)
PRED_COLOUR = (230, 30, 30)
_GREY = np.array([128, 128, 128], dtype=np.float32)


def _fit(image: np.ndarray, size: int = PANEL) -> tuple[np.ndarray, float]:
    """Scale so the longer side is ``size`` and pad to a square; returns the panel and the scale."""
    h, w = image.shape[:2]
    s = size / max(h, w)
    resized = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    panel = np.zeros((size, size, 3), dtype=np.uint8)
    panel[:resized.shape[0], :resized.shape[1]] = resized
    return panel, s


def _box(panel: np.ndarray, box: np.ndarray | None, scale: float, colour: tuple[int, int, int]) -> None:
    if box is None:
        return
    x, y, w, h = (float(v) * scale for v in box)
    cv2.rectangle(panel, (round(x), round(y)), (round(x + w), round(y + h)), colour, 2)


def _title(panel: np.ndarray, text: str) -> np.ndarray:
    strip = np.full((22, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def _cells_mask(cells: np.ndarray, feat: int, size: int) -> np.ndarray:
    """``(feat²,)`` bool → ``(size, size)`` bool image (nearest upsampling of the token grid)."""
    grid = cells.reshape(feat, feat).astype(np.uint8)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)


def _crop_boxes(panel: np.ndarray, view: FrameView, scale: float) -> None:
    _box(panel, view.to_crop(view.gt) if view.gt is not None else None, scale, GT_COLOUR)
    _box(panel, view.to_crop(view.pred), scale, PRED_COLOUR)


def _grid_lines(panel: np.ndarray, feat: int) -> None:
    step = panel.shape[0] / feat
    for k in range(1, feat):
        p = round(k * step)
        panel[p, :] = (panel[p, :] * 0.7).astype(np.uint8)
        panel[:, p] = (panel[:, p] * 0.7).astype(np.uint8)


def frame_panel(view: FrameView) -> np.ndarray:
    panel, s = _fit(view.frame)
    _box(panel, view.gt, s, GT_COLOUR)
    _box(panel, view.pred, s, PRED_COLOUR)
    return _title(panel, f"frame {view.index}: GT green, tracker red")


def ce_panels(view: FrameView) -> list[np.ndarray]:
    """The search crop, then the crop after each CE stage with the tokens eliminated so far greyed out."""
    panel, s = _fit(view.search_patch)
    _crop_boxes(panel, view, s)
    panels = [_title(panel, f"search crop ({view.feat}x{view.feat} tokens)")]
    n = view.feat**2
    gone = np.zeros(n, dtype=bool)
    for layer, removed in zip(view.stage_layers, view.removed):
        gone[removed] = True
        panel, s = _fit(view.search_patch)
        mask = _cells_mask(gone, view.feat, panel.shape[0])
        panel[mask] = (0.25 * panel[mask] + 0.75 * _GREY).astype(np.uint8)
        _grid_lines(panel, view.feat)
        _crop_boxes(panel, view, s)
        panels.append(_title(panel, f"CE after block {layer}: {n - gone.sum()}/{n} kept"))
    return panels


def _heat(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Colour-mapped ``(feat, feat)`` values (NaN = eliminated, drawn grey) blended over ``base``."""
    valid = np.isfinite(values)
    v = np.where(valid, values, 0.0)
    hi = v[valid].max() if valid.any() else 1.0
    lo = v[valid].min() if valid.any() else 0.0
    norm = np.zeros_like(v) if hi <= lo else (v - lo) / (hi - lo)
    size = base.shape[0]
    grid = cv2.resize((norm * 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    colour = cv2.cvtColor(cv2.applyColorMap(grid, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = (0.35 * base + 0.65 * colour).astype(np.uint8)
    dead = _cells_mask(~valid.reshape(-1), values.shape[0], size)
    out[dead] = (0.25 * base[dead] + 0.75 * _GREY).astype(np.uint8)
    return out


def attention_panels(view: FrameView) -> list[np.ndarray]:
    panels = []
    for layer in sorted(view.attention):
        base, s = _fit(view.search_patch)
        panel = _heat(view.attention[layer], base)
        _crop_boxes(panel, view, s)
        panels.append(_title(panel, f"template-centre attention, block {layer}"))
    if view.score_map is not None:
        base, s = _fit(view.search_patch)
        panel = _heat(view.score_map, base)
        _crop_boxes(panel, view, s)
        panels.append(_title(panel, "score map x Hann window"))
    return panels


def _row(panels: list[np.ndarray], width: int) -> np.ndarray:
    h = panels[0].shape[0]
    row = np.full((h, width, 3), 255, dtype=np.uint8)
    x = 0
    for p in panels:
        row[:, x:x + p.shape[1]] = p
        x += p.shape[1] + 4
    return row


def render(view: FrameView) -> np.ndarray:
    """Two rows: frame + search crop after each CE stage; attention maps at the chosen blocks + score map."""
    top = [frame_panel(view)] + ce_panels(view)
    bottom = attention_panels(view)
    rows = [r for r in (top, bottom) if r]
    width = max(sum(p.shape[1] for p in r) + 4 * (len(r) - 1) for r in rows)
    out = [_row(r, width) for r in rows]
    sep = np.full((4, width, 3), 255, dtype=np.uint8)
    return np.vstack([x for r in out for x in (r, sep)][:-1])


def png_bytes(image_rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
