"""NFS, 30 fps, in the pytracking re-packaged layout (100 sequences), datasets.md §5.

``{root}/sequences/<Seq>/00001.jpg …`` and ``{root}/anno/nfs_<Seq>.txt`` (TAB-separated, one row per frame).
Frames come from the shipped table (``start_frame..end_frame``), never from listing the folder. The
original NFS download (``<seq>/30/<seq>.txt`` with ``xmin ymin xmax ymax`` records) is a different
annotation and gives different numbers, so it is detected and refused rather than converted.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import read_text, require_frames
from ostrack_eval.datasets.table_benchmark import TableBenchmark
from ostrack_eval.errors import UserError

REPACKAGED_HINT = ("ostrack-eval needs the pytracking re-packaged NFS (sequences/ + anno/, the one OSTrack's "
                   "numbers use; see datasets/README.md)")


def read_tab_boxes(path: Path) -> np.ndarray:
    """The pytracking NFS annotation: strictly ``x<TAB>y<TAB>w<TAB>h`` per line, as its loader reads it.

    A comma- or space-separated file is refused: it is not the file the reference numbers were made with.
    """
    rows = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 4:
                raise ValueError
            rows.append([float(p) for p in parts])
        except ValueError:
            raise UserError(f"{path}:{lineno}: expected 4 TAB-separated values x<TAB>y<TAB>w<TAB>h, "
                            f"found {line[:50]!r}") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def original_layout_sequences(root: Path) -> list[str]:
    """Folders of ``root`` that look like the original download (``<seq>/30/`` or ``<seq>/240/``)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and ((p / "30").is_dir() or (p / "240").is_dir()))


class NFS(TableBenchmark):
    name: ClassVar[str] = "nfs"
    convention: ClassVar[str] = "ostrack"
    title: ClassVar[str] = "NFS"
    subdirs: ClassVar[tuple[str, ...]] = ("nfs",)
    table: ClassVar[str] = "nfs.json"

    def validate_root(self) -> None:
        super().validate_root()
        if (self.root / "sequences").is_dir():
            return
        original = original_layout_sequences(self.root)
        if original:
            raise UserError(f"{self.root}: this is the original NFS download layout ({original[0]}/30/"
                            f"{original[0]}.txt); {REPACKAGED_HINT}")
        raise UserError(f"{self.root}: no sequences/ folder; {REPACKAGED_HINT}")

    def _annotation(self, name: str) -> Sequence:
        row = self._rows[name]
        gt = read_tab_boxes(self.root / row["anno_path"])
        return Sequence(name=name, frames=[], ground_truth=gt, bench=self.name,
                        object_class=row.get("object_class"),
                        attributes={"occlusion": bool(row.get("occlusion", False))})

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        seq.frames = self.table_frames(name)
        self._check_lengths(name, seq.frames, seq.ground_truth, self.root / self._rows[name]["anno_path"])
        require_frames(seq.frames, f"{self.name} {name}")
        return seq
