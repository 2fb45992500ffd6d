"""Procedural tracking sequences: the built-in ``demo`` benchmark and training data for ``ostrack-tiny``.

A textured target (rectangle or ellipse) moves, changes scale and aspect, and may leave and re-enter the
frame over a procedural background (multi-octave value noise, gradients, textured clutter) seen by a
panning camera, with look-alike distractors, occluders passing in front and illumination changes.
Boxes are exact: the target is rendered with sub-pixel edge coverage into a box whose coordinates are
multiples of 1/8 px, which the ``%.4f`` ground-truth files store without rounding.

Bit-exact reproducibility on any machine: every random draw is ``random``/``integers``/``uniform`` of a
``numpy.random.Generator(PCG64)`` (pure integer and IEEE arithmetic, unlike the normal sampler's libm
tail), and pixels are computed with element-wise ``+ - * /``, ``sqrt`` and ``floor`` only (correctly
rounded everywhere) — no transcendental functions (their SIMD versions differ in the last bits between
CPUs), no BLAS, no OpenCV resampling, no float reductions deciding a pixel or a box.

Train and test draw from disjoint random streams (``SeedSequence([split key, seed])``), so no training
sequence repeats a demo test sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

SPLITS = {"test": 0x7E57, "train": 0x7A17}
TEXTURES = ("checker", "stripes", "dots", "rings", "noise", "blocks", "gradient")
SHAPES = ("rect", "ellipse")
_QUANT = 8.0  # boxes are multiples of 1/8 px
_TEX_SIZE = 64


@dataclass(frozen=True)
class Scenario:
    """What happens in one sequence. ``None`` fields are drawn at random."""

    num_frames: int = 90
    size: tuple[int, int] = (320, 240)  # (width, height)
    texture: str | None = None
    shape: str | None = None
    target_scale: float = 0.22  # target side ~ this fraction of min(width, height)
    speed: float = 3.0  # typical centre speed, px per frame
    zoom: tuple[float, float] = (0.85, 1.2)  # range of the size factor (1 at frame 0)
    exits: int = 0  # times the target leaves the frame completely
    distractors: int = 0
    twin: bool = False  # the first distractor looks like the target
    occluders: int = 0
    pan: float = 0.0  # camera pan, px per frame
    illumination: float = 0.0  # amplitude of the brightness change
    clutter: int = 12  # textured shapes painted into the background
    description: str = ""


class GeneratedSequence(NamedTuple):
    frames: list[np.ndarray]  # RGB uint8 (H, W, 3)
    ground_truth: np.ndarray  # float64 (N, 4) x, y, w, h; 0,0,0,0 while out of the frame
    visible: np.ndarray  # bool (N,)


# The demo benchmark: name -> scenario; sequence i of the list is test seed i.
TEST_SCENARIOS: dict[str, Scenario] = {
    "drift": Scenario(60, texture="checker", shape="rect", speed=1.5, zoom=(0.9, 1.1), clutter=10,
                      description="a checkered box drifting slowly"),
    "fast-motion": Scenario(60, texture="stripes", shape="rect", speed=9.0, target_scale=0.2, clutter=14,
                            description="a striped box moving fast"),
    "zoom": Scenario(80, texture="rings", shape="ellipse", speed=2.0, zoom=(0.5, 1.9), clutter=12,
                     description="a ringed disc growing and shrinking"),
    "out-of-view": Scenario(100, texture="dots", shape="rect", speed=5.0, exits=1, clutter=12,
                            description="a dotted box leaving the frame and coming back"),
    "distractors": Scenario(80, texture="blocks", shape="rect", speed=3.0, distractors=3, twin=True,
                            clutter=8, description="a block-patterned box among look-alikes"),
    "occlusion": Scenario(80, texture="noise", shape="ellipse", speed=2.5, occluders=2, clutter=10,
                          description="a mottled disc passing behind occluders"),
    "clutter": Scenario(60, size=(480, 360), texture="gradient", shape="rect", target_scale=0.12, speed=3.0,
                        clutter=70, distractors=1, description="a small gradient box in a cluttered scene"),
    "camera-pan": Scenario(80, texture="checker", shape="ellipse", speed=2.0, pan=1.5, illumination=0.3,
                           clutter=16, description="a checkered disc seen by a panning camera in changing light"),
}


def make_rng(seed: int, split: str) -> np.random.Generator:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([SPLITS[split], int(seed)])))


def random_scenario(rng: np.random.Generator) -> Scenario:
    """A training scenario: every knob drawn, so appearance and motion vary from sequence to sequence."""
    z = rng.uniform(0.0, 0.6)
    distractors = int(rng.integers(0, 4))
    return Scenario(
        num_frames=int(rng.integers(60, 121)),
        texture=TEXTURES[int(rng.integers(len(TEXTURES)))],
        shape=SHAPES[int(rng.random() < 0.35)],
        target_scale=rng.uniform(0.09, 0.32),
        speed=rng.uniform(0.5, 8.0),
        zoom=(1.0 - 0.6 * z, 1.0 + z),
        exits=int(rng.random() < 0.2),
        distractors=distractors,
        twin=bool(distractors and rng.random() < 0.4),
        occluders=int(rng.integers(1, 3)) if rng.random() < 0.35 else 0,
        pan=rng.uniform(0.2, 2.0) if rng.random() < 0.5 else 0.0,
        illumination=rng.uniform(0.05, 0.35) if rng.random() < 0.3 else 0.0,
        clutter=int(rng.integers(0, 50)),
    )


def generate_sequence(seed: int, split: str = "train", num_frames: int | None = None,
                      size: tuple[int, int] | None = None) -> GeneratedSequence:
    """One sequence in memory: ``(frames, ground_truth, visible)``.

    ``split="test"`` with ``seed`` < ``len(TEST_SCENARIOS)`` is that demo benchmark sequence; other seeds
    draw a random scenario. ``num_frames`` and ``size`` (width, height) override the scenario's.
    """
    rng = make_rng(seed, split)
    names = list(TEST_SCENARIOS)
    scenario = TEST_SCENARIOS[names[seed]] if split == "test" and seed < len(names) else random_scenario(rng)
    if num_frames is not None:
        scenario = replace(scenario, num_frames=int(num_frames))
    if size is not None:
        scenario = replace(scenario, size=(int(size[0]), int(size[1])))
    return render(scenario, rng)


# ---- textures ------------------------------------------------------------------------------------------

def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.0, 255.0, 3)


def _contrasting(rng: np.random.Generator, other: np.ndarray, min_dist: float = 90.0) -> np.ndarray:
    for _ in range(16):
        c = _colour(rng)
        d = c - other
        if math.sqrt(float(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])) >= min_dist:
            return c
    return 255.0 - other


def _lerp_colours(t: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    return c0 + (c1 - c0) * t[..., None]


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise in [0, 1]: random lattice values, smoothstep-interpolated (separable)."""
    gh, gw = int(h / cell) + 3, int(w / cell) + 3
    lattice = rng.random((gh, gw))

    def axis(n: int) -> tuple[np.ndarray, np.ndarray]:
        pos = (np.arange(n) + 0.5) / cell
        i0 = np.floor(pos).astype(np.intp)
        f = pos - i0
        return i0, f * f * (3.0 - 2.0 * f)

    y0, sy = axis(h)
    x0, sx = axis(w)
    rows = lattice[:, x0] * (1.0 - sx) + lattice[:, x0 + 1] * sx
    return rows[y0] * (1.0 - sy)[:, None] + rows[y0 + 1] * sy[:, None]


def fractal_noise(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int) -> np.ndarray:
    total = np.zeros((h, w))
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        total += amp * value_noise(rng, h, w, max(cell, 1.5))
        norm += amp
        amp *= 0.5
        cell *= 0.5
    return total / norm


def make_texture(rng: np.random.Generator, family: str, size: int = _TEX_SIZE) -> np.ndarray:
    """A ``size × size × 3`` float texture in [0, 255] of one family, with random colours and scale."""
    i = np.arange(size, dtype=np.float64)[:, None]
    j = np.arange(size, dtype=np.float64)[None, :]
    c0 = _colour(rng)
    c1 = _contrasting(rng, c0)
    if family == "checker":
        p = float(rng.integers(6, 17))
        t = (np.floor(i / p) + np.floor(j / p)) % 2.0
    elif family == "stripes":
        a, b = (int(v) for v in rng.integers(-3, 4, 2))
        a = a if (a or b) else 1
        p = float(rng.integers(5, 13))
        t = np.floor((i * a + j * b) / p) % 2.0
    elif family == "dots":
        p = float(rng.integers(10, 21))
        r = p * rng.uniform(0.2, 0.42)
        di, dj = i % p - 0.5 * p, j % p - 0.5 * p
        t = ((di * di + dj * dj) < r * r).astype(np.float64)
    elif family == "rings":
        p = float(rng.integers(4, 11))
        ci, cj = rng.uniform(0.3, 0.7, 2) * size
        t = np.floor(np.sqrt((i - ci) * (i - ci) + (j - cj) * (j - cj)) / p) % 2.0
    elif family == "noise":
        n = fractal_noise(rng, size, size, float(rng.integers(8, 20)), 3)
        t = np.clip((n - 0.5) * rng.uniform(2.0, 5.0) + 0.5, 0.0, 1.0)
    elif family == "blocks":
        g = int(rng.integers(3, 7))
        palette = np.stack([c0, c1, _colour(rng), _colour(rng)])
        cells = rng.integers(0, len(palette), (g, g))
        idx = cells[(np.arange(size) * g // size)[:, None], (np.arange(size) * g // size)[None, :]]
        tex = palette[idx]
        return _grain(rng, tex, size)
    elif family == "gradient":
        a, b = rng.uniform(-1.0, 1.0, 2)
        ramp = (i * a + j * b) / size
        t = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-9)
        p = float(rng.integers(8, 17))
        t = np.where((i % p < 2.0) | (j % p < 2.0), 1.0 - t, t)
    else:
        raise ValueError(f"unknown texture family {family!r}; choose from {TEXTURES}")
    tex = _lerp_colours(t * np.ones((size, size)), c0, c1)
    if rng.random() < 0.5:  # an outline makes the object boundary visible on similar backgrounds
        width = int(rng.integers(2, 5))
        edge = (i < width) | (i >= size - width) | (j < width) | (j >= size - width)
        tex = np.where(edge[..., None], _contrasting(rng, 0.5 * (c0 + c1), 60.0), tex)
    return _grain(rng, tex, size)


def _grain(rng: np.random.Generator, tex: np.ndarray, size: int) -> np.ndarray:
    shade = 0.8 + 0.4 * value_noise(rng, size, size, float(rng.integers(12, 33)))
    return np.clip(tex * shade[..., None], 0.0, 255.0)


# ---- drawing -------------------------------------------------------------------------------------------

def paint(image: np.ndarray, box: np.ndarray, tex: np.ndarray, shape: str, opacity: float = 1.0
          ) -> tuple[int, int, int, int, np.ndarray] | None:
    """Alpha-blend ``tex`` stretched over ``box`` (x, y, w, h, sub-pixel) into ``image`` (float, in place).

    Returns the touched region ``(r0, r1, c0, c1)`` and its alpha (edge coverage), or ``None`` when the
    box is outside the image.
    """
    x, y, w, h = (float(v) for v in box)
    H, W = image.shape[:2]
    c0, c1 = max(0, math.floor(x)), min(W, math.ceil(x + w))
    r0, r1 = max(0, math.floor(y)), min(H, math.ceil(y + h))
    if c1 <= c0 or r1 <= r0 or w <= 0 or h <= 0:
        return None
    cols = np.arange(c0, c1, dtype=np.float64)
    rows = np.arange(r0, r1, dtype=np.float64)
    cov_x = np.clip(np.minimum(cols + 1.0, x + w) - np.maximum(cols, x), 0.0, 1.0)
    cov_y = np.clip(np.minimum(rows + 1.0, y + h) - np.maximum(rows, y), 0.0, 1.0)
    alpha = cov_y[:, None] * cov_x[None, :]
    if shape == "ellipse":
        dx = (cols + 0.5 - (x + 0.5 * w)) / (0.5 * w)
        dy = (rows + 0.5 - (y + 0.5 * h)) / (0.5 * h)
        r = np.sqrt(dy[:, None] * dy[:, None] + dx[None, :] * dx[None, :])
        alpha = np.minimum(alpha, np.clip((1.0 - r) * (0.5 * min(w, h)) + 0.5, 0.0, 1.0))
    size_v, size_u = tex.shape[:2]
    u = np.clip((cols + 0.5 - x) / w * size_u - 0.5, 0.0, size_u - 1.0)
    v = np.clip((rows + 0.5 - y) / h * size_v - 0.5, 0.0, size_v - 1.0)
    u0, v0 = np.floor(u).astype(np.intp), np.floor(v).astype(np.intp)
    fu, fv = (u - u0)[None, :, None], (v - v0)[:, None, None]
    u1, v1 = np.minimum(u0 + 1, size_u - 1), np.minimum(v0 + 1, size_v - 1)
    top = tex[v0][:, u0] + (tex[v0][:, u1] - tex[v0][:, u0]) * fu
    bottom = tex[v1][:, u0] + (tex[v1][:, u1] - tex[v1][:, u0]) * fu
    sample = top + (bottom - top) * fv
    if opacity != 1.0:
        alpha = alpha * opacity
    region = image[r0:r1, c0:c1]
    region += (sample - region) * alpha[..., None]
    return r0, r1, c0, c1, alpha


def make_background(rng: np.random.Generator, h: int, w: int, clutter: int) -> np.ndarray:
    """Gradient + multi-octave value noise in a random two-colour palette, plus textured clutter shapes."""
    top, bottom = _colour(rng), _colour(rng)
    ramp = (np.arange(h, dtype=np.float64) / max(h - 1, 1))[:, None] * np.ones((1, w))
    canvas = _lerp_colours(ramp, top, bottom)
    noise = fractal_noise(rng, h, w, rng.uniform(48.0, 128.0), 5)
    noise = np.clip((noise - 0.5) * rng.uniform(1.5, 3.0) + 0.5, 0.0, 1.0)
    texture = _lerp_colours(noise, _colour(rng), _colour(rng))
    mix = rng.uniform(0.35, 0.8)
    canvas = canvas * (1.0 - mix) + texture * mix
    for _ in range(clutter):
        side = rng.uniform(8.0, 0.25 * min(h, w) + 8.0)
        bw, bh = side * rng.uniform(0.5, 1.6), side * rng.uniform(0.5, 1.6)
        box = np.array([rng.uniform(-bw / 2, w - bw / 2), rng.uniform(-bh / 2, h - bh / 2), bw, bh])
        tex = make_texture(rng, TEXTURES[int(rng.integers(len(TEXTURES)))], 32)
        # Muted and partly transparent, so clutter reads as scenery rather than as candidate targets.
        grey = (tex[..., 0:1] + tex[..., 1:2] + tex[..., 2:3]) / 3.0
        muted = rng.uniform(0.0, 0.7)
        tex = tex + (grey - tex) * muted
        opacity = rng.uniform(0.3, 0.7) if rng.random() < 0.4 else 1.0
        paint(canvas, box, tex, SHAPES[int(rng.random() < 0.5)], opacity)
    return canvas


# ---- motion --------------------------------------------------------------------------------------------

def catmull_rom(keys: np.ndarray, n: int, step: int) -> np.ndarray:
    """Values at frames ``0..n-1`` of the Catmull-Rom spline through ``keys`` (one key every ``step`` frames,
    ``keys[1]`` at frame 0)."""
    t = np.arange(n, dtype=np.float64) / step
    i = np.floor(t).astype(np.intp)
    f = t - i
    p0, p1, p2, p3 = keys[i], keys[i + 1], keys[i + 2], keys[i + 3]
    return 0.5 * (2.0 * p1 + (p2 - p0) * f + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * f * f
                  + (3.0 * p1 - p0 - 3.0 * p2 + p3) * f * f * f)


def quantize(values: np.ndarray) -> np.ndarray:
    return np.floor(values * _QUANT + 0.5) / _QUANT


def make_track(rng: np.random.Generator, n: int, width: int, height: int, base: tuple[float, float],
               speed: float, zoom: tuple[float, float], exits: int = 0) -> np.ndarray:
    """``(n, 4)`` boxes following smooth random key positions; fully inside the frame at frame 0."""
    bw, bh = base
    travel = 0.35 * min(width, height)
    step = int(min(60, max(4, round(travel / max(speed, 0.1)))))
    m = n // step + 4
    mx, my = 0.5 * bw * zoom[1] + 2.0, 0.5 * bh * zoom[1] + 2.0
    cx = rng.uniform(min(mx, width / 2), max(width - mx, width / 2), m)
    cy = rng.uniform(min(my, height / 2), max(height - my, height / 2), m)
    scale = rng.uniform(zoom[0], zoom[1], m)
    aspect = rng.uniform(0.87, 1.15, m)
    scale[1], aspect[1] = 1.0, 1.0
    cx[1] = rng.uniform(0.5 * bw + 4.0, width - 0.5 * bw - 4.0)
    cy[1] = rng.uniform(0.5 * bh + 4.0, height - 0.5 * bh - 4.0)
    for k in range(exits):
        # Park two (three when keys are close) consecutive keys beyond one side: the target is out for a while.
        first = 2 + int((k + 1) * (m - 5) / (exits + 1))
        span = 2 if step >= 10 else 3
        side = int(rng.integers(4))
        far_x, far_y = bw * zoom[1] * 1.6 + 12.0, bh * zoom[1] * 1.6 + 12.0
        for key in range(first, min(first + span, m)):
            if side == 0:
                cx[key] = -far_x
            elif side == 1:
                cx[key] = width + far_x
            elif side == 2:
                cy[key] = -far_y
            else:
                cy[key] = height + far_y
    s = catmull_rom(scale, n, step)
    a = catmull_rom(aspect, n, step)
    w = np.maximum(bw * s * a, 4.0)
    h = np.maximum(bh * s / a, 4.0)
    x = catmull_rom(cx, n, step) - 0.5 * w
    y = catmull_rom(cy, n, step) - 0.5 * h
    return quantize(np.stack([x, y, w, h], axis=1))


def make_crossing(rng: np.random.Generator, n: int, width: int, height: int, target: np.ndarray,
                  size: tuple[float, float]) -> np.ndarray:
    """An occluder on a straight line that crosses the target's centre at a random frame after the first
    quarter, starting outside the frame (so frame 0 is never occluded)."""
    when = int(rng.integers(max(1, n // 4), max(2, n - n // 6)))
    centre = target[when, :2] + 0.5 * target[when, 2:]
    while True:
        d = rng.uniform(-1.0, 1.0, 2)
        norm = math.sqrt(float(d[0] * d[0] + d[1] * d[1]))
        if norm > 0.2:
            break
    d = d / norm
    reach = 0.5 * math.sqrt(size[0] * size[0] + size[1] * size[1]) + 0.5 * float(max(target[0, 2], target[0, 3]))
    exits = []
    for axis, limit in ((0, width), (1, height)):
        if d[axis] > 1e-9:
            exits.append((centre[axis] + reach) / d[axis])
        elif d[axis] < -1e-9:
            exits.append((limit + reach - centre[axis]) / -d[axis])
    distance = min(exits) + 2.0
    speed = distance / when
    t = (np.arange(n, dtype=np.float64) - when) * speed
    cx, cy = centre[0] + d[0] * t, centre[1] + d[1] * t
    w, h = np.full(n, size[0]), np.full(n, size[1])
    return quantize(np.stack([cx - 0.5 * w, cy - 0.5 * h, w, h], axis=1))


# ---- the sequence ---------------------------------------------------------------------------------------

def render(scenario: Scenario, rng: np.random.Generator) -> GeneratedSequence:
    n = scenario.num_frames
    width, height = scenario.size
    if n < 2 or width < 32 or height < 32:
        raise ValueError(f"need at least 2 frames of 32x32 px, got {n} frames of {width}x{height}")
    family = scenario.texture or TEXTURES[int(rng.integers(len(TEXTURES)))]
    shape = scenario.shape or SHAPES[int(rng.random() < 0.35)]
    tex = make_texture(rng, family)
    side = scenario.target_scale * min(width, height)
    ratio = rng.uniform(0.6, 1.6)
    base = (side * math.sqrt(ratio), side / math.sqrt(ratio))
    track = make_track(rng, n, width, height, base, scenario.speed, scenario.zoom, scenario.exits)

    pad = int(math.ceil(scenario.pan * n / 2.0)) + 1 if scenario.pan > 0 else 0
    canvas = make_background(rng, height + 2 * pad, width + 2 * pad, scenario.clutter)
    if pad:
        step = max(8, n // 4)
        keys = n // step + 4
        ox = np.floor(np.clip(catmull_rom(rng.uniform(0, 2 * pad, keys), n, step), 0, 2 * pad)).astype(np.intp)
        oy = np.floor(np.clip(catmull_rom(rng.uniform(0, 2 * pad, keys), n, step), 0, 2 * pad)).astype(np.intp)
    else:
        ox = oy = np.zeros(n, dtype=np.intp)

    others = []  # (texture, shape, track), drawn under the target
    for k in range(scenario.distractors):
        if k == 0 and scenario.twin:
            d_tex, d_shape = tex * 0.8 + 0.2 * _colour(rng), shape
        else:
            d_tex = make_texture(rng, TEXTURES[int(rng.integers(len(TEXTURES)))])
            d_shape = SHAPES[int(rng.random() < 0.5)]
        d_side = side * rng.uniform(0.7, 1.3)
        d_ratio = rng.uniform(0.6, 1.6)
        d_track = make_track(rng, n, width, height, (d_side * math.sqrt(d_ratio), d_side / math.sqrt(d_ratio)),
                             scenario.speed * rng.uniform(0.6, 1.4), scenario.zoom)
        others.append((d_tex, d_shape, d_track))
    occluders = []
    for _ in range(scenario.occluders):
        o_size = (side * rng.uniform(0.3, 1.4), side * rng.uniform(0.8, 2.2))
        if rng.random() < 0.5:
            o_size = o_size[::-1]
        occluders.append((make_texture(rng, TEXTURES[int(rng.integers(len(TEXTURES)))], 32),
                          SHAPES[int(rng.random() < 0.3)], make_crossing(rng, n, width, height, track, o_size)))
    gain = (catmull_rom(rng.uniform(1.0 - scenario.illumination, 1.0 + scenario.illumination, n // 20 + 4),
                        n, 20) if scenario.illumination > 0 else np.ones(n))

    frames, gt, visible = [], np.zeros((n, 4)), np.zeros(n, dtype=bool)
    for t in range(n):
        image = canvas[oy[t]:oy[t] + height, ox[t]:ox[t] + width].copy()
        for d_tex, d_shape, d_track in others:
            paint(image, d_track[t], d_tex, d_shape)
        drawn = paint(image, track[t], tex, shape)
        covered = np.zeros((height, width), dtype=bool)
        for o_tex, o_shape, o_track in occluders:
            o = paint(image, o_track[t], o_tex, o_shape)
            if o is not None:
                r0, r1, c0, c1, alpha = o
                covered[r0:r1, c0:c1] |= alpha >= 0.5
        gt[t], visible[t] = _annotation(track[t], drawn, covered, width, height)
        image *= gain[t]
        frames.append(np.clip(np.floor(image + 0.5), 0, 255).astype(np.uint8))
    if not visible[0]:
        raise AssertionError("generator bug: the target must be visible in frame 0")
    return GeneratedSequence(frames, gt, visible)


def _annotation(box: np.ndarray, drawn, covered: np.ndarray, width: int, height: int) -> tuple[np.ndarray, bool]:
    """The box clipped to the frame (``0,0,0,0`` when less than a pixel is inside) and whether any target
    pixel (coverage >= 1/2) is left uncovered by the occluders."""
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], float(width)), min(box[1] + box[3], float(height))
    if x1 - x0 < 1.0 or y1 - y0 < 1.0 or drawn is None:
        return np.zeros(4), False
    r0, r1, c0, c1, alpha = drawn
    seen = bool(((alpha >= 0.5) & ~covered[r0:r1, c0:c1]).any())
    return np.array([x0, y0, x1 - x0, y1 - y0]), seen
