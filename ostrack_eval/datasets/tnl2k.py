"""TNL2K test split (700 sequences), datasets.md §7.

``{root}/<name>/imgs/*`` (image extensions only, sorted by integer stem), ``groundtruth.txt`` (absent target:
``0,0,0,0``) and ``language.txt``. The sequences are those of the official ``TNL2K_testing_set.txt``, not
every folder under the root (OSTrack's rule picks up any extra folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Iterable

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import FolderBenchmark, list_images, read_first_line, read_ground_truth
from ostrack_eval.errors import UserError

_MAX_CHILDREN_SCANNED = 64


class TNL2K(FolderBenchmark):
    name: ClassVar[str] = "tnl2k"
    convention: ClassVar[str] = "ostrack"
    title: ClassVar[str] = "TNL2K"
    subdirs: ClassVar[tuple[str, ...]] = ("tnl2k", "TNL2K_test")
    table: ClassVar[str] = "tnl2k.json"

    def __init__(self, root: str | Path, names: Iterable[str] | None = None):
        super().__init__(root, names)
        self.root = self._find_nested(self.root)

    def _holds_sequences(self, folder: Path) -> bool:
        return any((folder / n).is_dir() for n in self._rows)

    def _find_nested(self, root: Path) -> Path:
        """Mirrors name the test-subset folder differently; descend one level when that is where it is."""
        if not root.is_dir() or self._holds_sequences(root):
            return root
        children = [p for p in sorted(root.iterdir())[:_MAX_CHILDREN_SCANNED] if p.is_dir()]
        nested = [p for p in children if self._holds_sequences(p)]
        return nested[0] if len(nested) == 1 else root

    def validate_root(self) -> None:
        super().validate_root()
        if not self._holds_sequences(self.root):
            first = next(iter(self._rows))
            raise UserError(f"{self.root}: no TNL2K test sequence folders (expected e.g. {first}/imgs/); "
                            f"give the test-subset folder or its parent")

    def sequence_dir(self, name: str) -> Path:
        return self.root / name

    def _annotation(self, name: str) -> Sequence:
        folder = self.sequence_dir(name)
        gt = read_ground_truth(folder / "groundtruth.txt")
        text = read_first_line(folder / "language.txt")
        return Sequence(name=name, frames=[], ground_truth=gt, bench=self.name,
                        language=text.lower() if text is not None else None)

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        imgs = self.sequence_dir(name) / "imgs"
        if not imgs.is_dir():
            raise UserError(f"{imgs}: folder not found ({self.name} sequence {name!r})")
        seq.frames = list_images(imgs)
        self._check_lengths(name, seq.frames, seq.ground_truth, imgs)
        return seq

    def unlisted(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name not in self._rows and not p.name.startswith("."))
