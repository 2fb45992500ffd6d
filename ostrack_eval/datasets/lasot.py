"""LaSOT test split (280 sequences, Protocol II), datasets.md §1.

``{root}/<class>/<class>-<k>/img/00000001.jpg …`` with ``groundtruth.txt``, ``full_occlusion.txt``,
``out_of_view.txt``, ``nlp.txt``. The frame list is built from the number of ground-truth rows, never by
listing ``img/`` (``monkey-17`` holds more images than annotated frames).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Iterable, Mapping

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import (FolderBenchmark, read_first_line, read_flags, read_ground_truth,
                                          require_frames)
from ostrack_eval.datasets.tables import load_table
from ostrack_eval.errors import UserError
from ostrack_eval.utils.numtable import read_tables

# The full download nests the class folders one level down.
NESTED_ROOT = "LaSOTBenchmark"


@lru_cache(maxsize=None)
def toolkit_attributes() -> tuple[tuple[tuple[str, str], ...], Mapping[str, list[int]]]:
    """``(abbreviation, name)`` per attribute and the 0/1 flags per sequence; read-only, shared by every load."""
    table = load_table("lasot_attributes.json")
    names = tuple((a["abbr"], a["name"]) for a in table["attributes"])
    return names, MappingProxyType(table["sequences"])


class LaSOT(FolderBenchmark):
    name: ClassVar[str] = "lasot"
    convention: ClassVar[str] = "ostrack"
    title: ClassVar[str] = "LaSOT"
    subdirs: ClassVar[tuple[str, ...]] = ("lasot", NESTED_ROOT)
    table: ClassVar[str] = "lasot.json"
    has_attributes: ClassVar[bool] = True

    def __init__(self, root: str | Path, names: Iterable[str] | None = None):
        root = Path(root)
        if (root / NESTED_ROOT).is_dir():
            root = root / NESTED_ROOT
        super().__init__(root, names)
        self._classes = sorted({row["class"] for row in self._rows.values()})

    def validate_root(self) -> None:
        super().validate_root()
        if not any((self.root / c).is_dir() for c in self._classes):
            raise UserError(f"{self.root}: no {self.title} class folders (expected e.g. {self._classes[0]}/"
                            f"{self._classes[0]}-1/img/); give the folder holding them, or its parent")

    def sequence_dir(self, name: str) -> Path:
        return self.root / self._rows[name]["class"] / name

    def load_annotations(self, names: list[str]) -> list[Sequence]:
        """:meth:`load_annotation` of many sequences, their ground truth parsed in one batch (LaSOT's
        280 files hold 685,360 rows)."""
        for name in names:
            self._require_present(name)
        paths = [self.sequence_dir(n) / "groundtruth.txt" for n in names]
        out = []
        for name, path, gt in zip(names, paths, read_tables(paths)):
            if isinstance(gt, UserError):
                raise gt
            if len(gt) == 0:
                raise UserError(f"{path}: empty")
            out.append(self._annotation(name, gt))
        return out

    def _annotation(self, name: str, gt: np.ndarray | None = None) -> Sequence:
        folder = self.sequence_dir(name)
        if gt is None:
            gt = read_ground_truth(folder / "groundtruth.txt")
        n = len(gt)
        occluded = read_flags(folder / "full_occlusion.txt", n)
        out_of_view = read_flags(folder / "out_of_view.txt", n)
        return Sequence(
            name=name, frames=[], ground_truth=gt, bench=self.name,
            target_visible=(occluded == 0) & (out_of_view == 0),
            object_class=self._rows[name]["class"],
            language=read_first_line(folder / "nlp.txt"),
            attributes=self._attributes(name),
        )

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        folder = self.sequence_dir(name)
        seq.frames = [folder / "img" / f"{i:08d}.jpg" for i in range(1, len(seq.ground_truth) + 1)]
        require_frames(seq.frames, f"{self.name} {name}")
        return seq

    def frame_path(self, name: str, index: int) -> Path | None:
        # frames follow a naming rule: no need to build the whole list for one of them
        self._require_present(name)
        expected = self.expected_length(name)
        if index < 0 or (expected is not None and index >= expected):
            return None
        return self.sequence_dir(name) / "img" / f"{index + 1:08d}.jpg"

    def _attributes(self, name: str) -> dict[str, object]:
        if not self.has_attributes:
            return {}
        names, flags = toolkit_attributes()
        row = flags.get(name)
        if row is None:
            return {}
        return {abbr: bool(v) for (abbr, _), v in zip(names, row)}


def attribute_names() -> list[tuple[str, str]]:
    """The 14 LaSOT attributes as ``(abbreviation, full name)``, in the official toolkit's order."""
    return list(toolkit_attributes()[0])

