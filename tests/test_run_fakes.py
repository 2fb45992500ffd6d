"""Tiny benchmarks for the runner tests (no tests here; imported by tests/test_run_*.py and their subprocesses).

A ``FolderBenchmark`` root holds ``list.txt`` and one folder per sequence with ``groundtruth.txt`` and
``frames.txt`` (frame file names, relative to the folder; a name may repeat, so a long sequence costs
one small image on disk).

Run as a script, this is ``ostrack-eval`` over folder benchmarks, with the extra tracker
``start-recorder`` (see :class:`StartRecorder`); spawned workers re-import the script, so they have it too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.utils.boxio import read_boxes, write_boxes


class FolderBenchmark:
    convention = "otb"

    def __init__(self, root: str | Path | None, name: str = "tiny"):
        self.root = Path(root if root is not None else "datasets") / name
        self.name = name

    def sequence_names(self) -> list[str]:
        return (self.root / "list.txt").read_text().split()

    def load(self, name: str) -> Sequence:
        folder = self.root / name
        frames = [folder / f for f in (folder / "frames.txt").read_text().split()]
        return Sequence(name, frames, read_boxes(folder / "groundtruth.txt"), self.name)


def make_bench(root: Path, lengths: dict[str, int], name: str = "tiny", size: tuple[int, int] = (36, 48),
               shared_frame: bool = False, seed: int = 0) -> FolderBenchmark:
    """Write a benchmark with sequences ``name -> number of frames`` under ``root/name``.

    ``shared_frame``: every frame of a sequence is the same image file (cheap long sequences whose frames
    still have to be decoded one by one).
    """
    rng = np.random.default_rng(seed)
    bench_root = root / name
    bench_root.mkdir(parents=True, exist_ok=True)
    (bench_root / "list.txt").write_text("\n".join(lengths) + "\n")
    h, w = size
    for seq, n in lengths.items():
        folder = bench_root / seq
        folder.mkdir(exist_ok=True)
        files = []
        for i in range(1 if shared_frame else n):
            image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            fname = f"{i + 1:04d}.jpg"
            cv2.imwrite(str(folder / fname), image)
            files.append(fname)
        names = files * n if shared_frame else files
        (folder / "frames.txt").write_text("\n".join(names) + "\n")
        xy = rng.uniform(0, [w / 2, h / 2], (n, 2))
        wh = rng.uniform(4, [w / 2, h / 2], (n, 2))
        write_boxes(folder / "groundtruth.txt", np.hstack([xy, wh]))
    return FolderBenchmark(root, name)


class StartRecorder:
    """The identity tracker, appending each sequence's initial box to the file ``$OSTRACK_TEST_STARTS``
    as it starts the sequence (``O_APPEND``: the lines of all worker processes land in the order written)."""

    def initialize(self, image, box) -> None:
        self.box = np.asarray(box, dtype=np.float64).copy()
        fd = os.open(os.environ["OSTRACK_TEST_STARTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (box_key(self.box) + "\n").encode())
        finally:
            os.close(fd)

    def track(self, image) -> np.ndarray:
        return self.box.copy()


def box_key(box) -> str:
    return ",".join(f"{v:.4f}" for v in np.asarray(box, dtype=np.float64).reshape(-1))


def _register_test_trackers() -> None:
    from ostrack_eval.trackers import registry

    registry.TRACKERS.setdefault("start-recorder", lambda context: StartRecorder())


def use_folder_benchmarks() -> None:
    """Make ``get_benchmark(name, root)`` return a :class:`FolderBenchmark` (for CLI subprocesses)."""
    import ostrack_eval.datasets as datasets

    datasets.get_benchmark = lambda name, root=None: FolderBenchmark(root, name)


def cli(argv: list[str]) -> int:
    from ostrack_eval.cli.main import main

    use_folder_benchmarks()
    return main(argv)


if __name__ in ("__main__", "__mp_main__"):  # the CLI process and its spawned workers, not pytest
    _register_test_trackers()
if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
