"""Base for benchmarks whose sequences are rows of a shipped table (NFS, UAV123): frame ranges, not globs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable

from ostrack_eval.datasets.common import FolderBenchmark
from ostrack_eval.datasets.tables import load_table, rows_by_name


class TableBenchmark(FolderBenchmark):
    table: ClassVar[str]

    def __init__(self, root: str | Path, names: Iterable[str] | None = None,
                 table: list[dict[str, Any]] | None = None):
        """``table`` replaces the shipped sequence table (rows with the same keys), for tests."""
        super().__init__(root, names)
        self._rows = rows_by_name(table if table is not None else load_table(self.table)["sequences"])

    def listed_names(self) -> list[str]:
        return list(self._rows)

    def expected_length(self, name: str) -> int | None:
        row = self._rows[name]
        return row["end_frame"] - row["start_frame"] + 1
