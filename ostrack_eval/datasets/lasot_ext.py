"""LaSOText, the extension subset (150 sequences, 15 unseen classes), datasets.md §2.

Same per-sequence layout and rules as LaSOT. Evaluated against the dataset's own ``groundtruth.txt`` (as
pytracking/OSTrack do), not the differing copies in the extension toolkit. No attribute table is shipped.
"""

from __future__ import annotations

from typing import ClassVar

from ostrack_eval.datasets.lasot import LaSOT


class LaSOTExt(LaSOT):
    name: ClassVar[str] = "lasot_ext"
    title: ClassVar[str] = "LaSOText"
    subdirs: ClassVar[tuple[str, ...]] = ("lasot_ext", "lasot_extension_subset", "LaSOText")
    table: ClassVar[str] = "lasot_extension_subset.json"
    has_attributes: ClassVar[bool] = False
