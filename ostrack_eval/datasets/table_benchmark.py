"""Base for benchmarks whose sequences are rows of a shipped table (NFS, UAV123): frame ranges, not globs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable

from ostrack_eval.datasets.common import FolderBenchmark
from ostrack_eval.datasets.tables import rows_by_name


class TableBenchmark(FolderBenchmark):
    table: ClassVar[str]

    def __init__(self, root: str | Path, names: Iterable[str] | None = None,
                 table: list[dict[str, Any]] | None = None):
        """``table`` replaces the shipped sequence table (rows with the same keys), for tests."""
        super().__init__(root, names)
        if table is not None:
            self._rows = rows_by_name(table)

    def expected_length(self, name: str) -> int | None:
        row = self._rows[name]
        return row["end_frame"] - row["start_frame"] + 1

    def sequence_dir(self, name: str) -> Path:
        return self.root / self._rows[name]["path"]

    def table_frames(self, name: str) -> list[Path]:
        """``start_frame..end_frame`` of the sequence's folder, whatever else the folder holds."""
        row = self._rows[name]
        folder = self.sequence_dir(name)
        return [folder / f"{k:0{row['nz']}d}.{row['ext']}" for k in range(row["start_frame"], row["end_frame"] + 1)]
