"""UAV123 (123 sequences in 91 image folders), datasets.md §6.

``{root}/data_seq/UAV123/<folder>/000001.jpg …`` and ``{root}/anno/UAV123/<name>.txt``. Split sequences
share a folder and are cut out of it by the ``start_frame..end_frame`` ranges of the shipped table (the
only source of those ranges: listing the folder would be wrong). Absent targets are ``NaN`` rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import require_frames
from ostrack_eval.datasets.table_benchmark import TableBenchmark
from ostrack_eval.errors import UserError
from ostrack_eval.utils.boxio import read_boxes


class UAV123(TableBenchmark):
    name: ClassVar[str] = "uav123"
    convention: ClassVar[str] = "ostrack"
    title: ClassVar[str] = "UAV123"
    subdirs: ClassVar[tuple[str, ...]] = ("uav123", "uav")
    table: ClassVar[str] = "uav123.json"

    def validate_root(self) -> None:
        super().validate_root()
        if not (self.root / "data_seq").is_dir():
            raise UserError(f"{self.root}: no data_seq/ folder (expected the UAV123 folder holding "
                            f"data_seq/UAV123/ and anno/UAV123/, or its parent)")

    def annotation(self, name: str) -> Path:
        return self.root / self._rows[name]["anno_path"]

    def is_present(self, name: str) -> bool:
        # split sequences share their image folder: the folder alone does not say this one is there
        return super().is_present(name) and self.annotation(name).is_file()

    def _not_found(self, name: str) -> str:
        if super().is_present(name):
            return f"{self.annotation(name)}: annotation file not found ({self.name} sequence {name!r})"
        return super()._not_found(name)

    def _annotation(self, name: str) -> Sequence:
        row = self._rows[name]
        anno = self.annotation(name)
        gt = read_boxes(anno)
        if len(gt) and not np.isfinite(gt[0]).all():
            raise UserError(f"{anno}: the first row is {gt[0].tolist()}, not a box to start tracking from")
        return Sequence(name=name, frames=[], ground_truth=gt, bench=self.name,
                        object_class=row.get("object_class"),
                        attributes={"folder": Path(row["path"]).name, "start_frame": row["start_frame"]})

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        seq.frames = self.table_frames(name)
        self._check_lengths(name, seq.frames, seq.ground_truth, self.annotation(name))
        require_frames(seq.frames, f"{self.name} {name}")
        return seq
