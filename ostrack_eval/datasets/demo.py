"""The built-in ``demo`` benchmark: eight short generated sequences (:mod:`ostrack_eval.datasets.synth`).

Nothing to download: the sequences are rendered on first use into a cache folder
(``$OSTRACK_EVAL_CACHE/demo-v1``, else ``~/.cache/ostrack-eval/demo-v1``) as
``<name>/img/00000001.png …``, ``<name>/groundtruth.txt`` (``x,y,w,h``, ``0,0,0,0`` while the target is out
of the frame) and ``<name>/visible.txt`` (one 0/1 per frame). The whole folder is rendered into a private
temporary folder and renamed into place, so a reader never sees a half-written cache, and two processes
generating at once both end up with the same complete copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, Iterable

import numpy as np
from tqdm import tqdm

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import FolderBenchmark
from ostrack_eval.datasets.synth import TEST_SCENARIOS, GeneratedSequence, generate_sequence
from ostrack_eval.errors import UserError
from ostrack_eval.utils.boxio import format_boxes, read_boxes, read_values

DEMO_VERSION = "demo-v1"
MANIFEST = "manifest.json"
CACHE_ENV = "OSTRACK_EVAL_CACHE"
_STALE_TEMP_S = 3600.0


def default_root() -> Path:
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "ostrack-eval") / DEMO_VERSION


def is_generated(root: Path) -> bool:
    return (Path(root) / MANIFEST).is_file()


def frame_path(folder: Path, index: int) -> Path:
    """Frame ``index`` (0-based) of a demo sequence folder."""
    return folder / "img" / f"{index + 1:08d}.png"


def _write_file(path: Path, data: bytes) -> None:
    # Plain writes are safe here: they go into a private temporary folder that is published by one
    # rename (per-file atomic writes would add an fsync per frame and multiply the generation time).
    with open(path, "wb") as fh:
        fh.write(data)


def _encode_png(path: Path, rgb: np.ndarray) -> None:
    import cv2  # only rendering needs OpenCV; every package import of the adapters would pay ~0.1 s for it

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    if not ok:
        raise RuntimeError(f"{path}: PNG encoding failed")
    _write_file(path, buf.tobytes())


def _write_sequence(folder: Path, seq: GeneratedSequence, pool: ThreadPoolExecutor,
                    bar: tqdm) -> list[Future]:
    (folder / "img").mkdir(parents=True)
    _write_file(folder / "groundtruth.txt", format_boxes(seq.ground_truth).encode())
    _write_file(folder / "visible.txt", "".join(f"{int(v)}\n" for v in seq.visible).encode())
    futures = []
    for i, frame in enumerate(seq.frames):
        fut = pool.submit(_encode_png, frame_path(folder, i), frame)
        fut.add_done_callback(lambda _: bar.update(1))
        futures.append(fut)
    return futures


def _render_all(target: Path, progress: bool) -> None:
    total = sum(s.num_frames for s in TEST_SCENARIOS.values())
    sequences = []
    with tqdm(total=total, desc="generating demo", unit="frame", disable=not progress) as bar, \
            ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures: list[Future] = []
        for seed, (name, scenario) in enumerate(TEST_SCENARIOS.items()):
            seq = generate_sequence(seed, split="test")
            futures += _write_sequence(target / name, seq, pool, bar)
            sequences.append({"name": name, "seed": seed, "num_frames": len(seq.frames),
                              "width": scenario.size[0], "height": scenario.size[1],
                              "texture": scenario.texture, "shape": scenario.shape,
                              "description": scenario.description})
        for fut in futures:
            fut.result()
    manifest = {"version": DEMO_VERSION, "generator": "ostrack_eval.datasets.synth", "sequences": sequences}
    _write_file(target / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def _remove_stale_temps(parent: Path, name: str) -> None:
    """Temporary folders left by a killed generator (older than an hour, so never a live one)."""
    now = time.time()
    for path in parent.glob(f".{name}.*.tmp"):
        try:
            if now - path.stat().st_mtime > _STALE_TEMP_S:
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def ensure_demo(root: str | Path | None = None, progress: bool | None = None) -> Path:
    """Generate the demo benchmark into ``root`` unless it is already there; returns ``root``."""
    root = Path(root) if root is not None else default_root()
    if is_generated(root):
        return root
    if root.is_dir() and any(root.iterdir()):
        raise UserError(f"{root}: not empty but holds no demo benchmark ({MANIFEST} missing); "
                        f"remove it or point --root / {CACHE_ENV} elsewhere")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: exists and is not a folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root.parent, root.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the published cache is an ordinary folder
        _render_all(tmp, sys.stderr.isatty() if progress is None else progress)
        try:
            os.rename(tmp, root)  # atomic publish; replaces an empty folder, fails on a complete one
        except OSError:
            if not is_generated(root):  # not another process that won the race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


class Demo(FolderBenchmark):
    name: ClassVar[str] = "demo"
    # OSTrack's validity rule, as for the benchmarks of the paper: a target clipped at the frame's left or
    # top edge (x or y = 0) is still a valid frame, as it is for the tiny tracker's training check
    convention: ClassVar[str] = "ostrack"
    title: ClassVar[str] = "demo"
    subdirs: ClassVar[tuple[str, ...]] = ("demo",)

    def __init__(self, root: str | Path | None = None, names: Iterable[str] | None = None):
        super().__init__(root if root is not None else default_root(), names)

    def listed_names(self) -> list[str]:
        return list(TEST_SCENARIOS)

    def expected_length(self, name: str) -> int | None:
        return TEST_SCENARIOS[name].num_frames

    def validate_root(self) -> None:
        ensure_demo(self.root)

    def sequence_dir(self, name: str) -> Path:
        return self.root / name

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        seq.frames = [frame_path(self.sequence_dir(name), i) for i in range(len(seq.ground_truth))]
        return seq

    def _annotation(self, name: str) -> Sequence:
        folder = self.sequence_dir(name)
        gt = read_boxes(folder / "groundtruth.txt")
        visible = read_values(folder / "visible.txt")
        if len(visible) != len(gt):
            raise UserError(f"{folder / 'visible.txt'}: {len(visible)} values for {len(gt)} ground-truth rows")
        scenario = TEST_SCENARIOS[name]
        return Sequence(name=name, frames=[], ground_truth=gt,
                        bench=self.name, target_visible=visible > 0, object_class=scenario.shape,
                        language=scenario.description,
                        attributes={"texture": scenario.texture, "size": scenario.size})
