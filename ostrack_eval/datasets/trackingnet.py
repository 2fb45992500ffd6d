"""TrackingNet test split (511 sequences), datasets.md §3.

``{root}/TEST/anno/<name>.txt`` (one line: the first-frame box) and ``{root}/TEST/frames/<name>/0.jpg …``
(0-based, no zero padding). The official devkit upper-cases the chunk folder but its README writes "Test",
so the chunk folder is looked up case-insensitively. Frames are sorted by integer stem.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import FolderBenchmark, list_images, read_ground_truth, require_numbered
from ostrack_eval.errors import UserError

CHUNK = "TEST"


def find_chunk(root: Path) -> Path | None:
    """``root/TEST`` in whatever case it was extracted with; ``root`` itself when it is the chunk folder."""
    if root.name.lower() == CHUNK.lower() and (root / "anno").is_dir():
        return root
    if not root.is_dir():
        return None
    matches = sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower() == CHUNK.lower())
    return matches[0] if matches else None


class TrackingNet(FolderBenchmark):
    name: ClassVar[str] = "trackingnet"
    convention: ClassVar[str] = "trackingnet_server"
    title: ClassVar[str] = "TrackingNet"
    subdirs: ClassVar[tuple[str, ...]] = ("trackingnet",)
    table: ClassVar[str] = "trackingnet.json"
    full_annotation: ClassVar[bool] = False

    @property
    def chunk(self) -> Path:
        """The test chunk folder actually used (``TEST`` as extracted, any case)."""
        return find_chunk(self.root) or self.root / CHUNK

    def validate_root(self) -> None:
        super().validate_root()
        if find_chunk(self.root) is not None:
            return
        found = [d for d in ("anno", "frames", "zips") if (self.root / d).is_dir()]
        hint = (f" (found {', '.join(d + '/' for d in found)} directly in it: move them into {CHUNK}/)"
                if found else " (expected TEST/anno/ and TEST/frames/ as made by the official devkit)")
        raise UserError(f"{self.root}: no {CHUNK}/ folder{hint}")

    def sequence_dir(self, name: str) -> Path:
        return self.chunk / "frames" / name

    def missing_hint(self, name: str) -> str | None:
        archive = self.chunk / "zips" / f"{name}.zip"
        if archive.is_file():
            return f"{self.sequence_dir(name)}: frames not extracted (unzip {archive} into it)"
        return None

    def _load(self, name: str) -> Sequence:
        gt = read_ground_truth(self.chunk / "anno" / f"{name}.txt")
        frames = list_images(self.sequence_dir(name), (".jpg",))
        if not frames:
            raise UserError(f"{self.sequence_dir(name)}: no .jpg frames")
        require_numbered(frames, 0, self.sequence_dir(name))
        return Sequence(name=name, frames=frames, ground_truth=gt, bench=self.name)

    def unlisted(self) -> list[str]:
        anno = find_chunk(self.root)
        if anno is None or not (anno / "anno").is_dir():
            return []
        return sorted(p.stem for p in (anno / "anno").glob("*.txt") if p.stem not in self._rows)
