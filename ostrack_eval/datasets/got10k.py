"""GOT-10k test and val splits (180 sequences each), datasets.md §4.

``{root}/<split>/list.txt`` names the sequences (authoritative; folders not listed are ignored);
``{root}/<split>/<name>/00000001.jpg …`` sorted by integer stem, ``groundtruth.txt`` (test: the first-frame
box only). Val has ``cover.label`` / ``absence.label``: a frame is visible when ``cover > 0`` and
``absence == 0`` (pytracking/mmtracking; the got10k evaluator uses ``cover > 0``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import (FolderBenchmark, list_images, read_flags, read_ground_truth,
                                          read_optional_text, read_text, require_numbered)
from ostrack_eval.datasets.names import bad_names, check_names
from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing

_RESOLUTION = re.compile(r"^\(?\s*(\d+)\s*,\s*(\d+)\s*\)?$")


def read_meta_info(path: Path) -> dict[str, str]:
    """``meta_info.ini``: a section-header line, then ``key: value`` lines; ``{}`` when absent."""
    text = read_optional_text(path)
    if text is None:
        return {}
    meta = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition(": ")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


class GOT10k(FolderBenchmark):
    name: ClassVar[str] = "got10k"
    convention: ClassVar[str] = "got10k"
    title: ClassVar[str] = "GOT-10k"
    subdirs: ClassVar[tuple[str, ...]] = ("got10k", "GOT-10k")
    split: ClassVar[str] = "test"
    table: ClassVar[str] = "got10k_test.json"  # the official names; list.txt on disk is what is loaded
    full_annotation: ClassVar[bool] = False

    @property
    def split_dir(self) -> Path:
        return self.root / self.split

    def validate_root(self) -> None:
        super().validate_root()
        if not self.split_dir.is_dir():
            raise UserError(f"{self.root}: no {self.split}/ folder (expected the GOT-10k folder holding "
                            f"test/ and val/, or its parent)")

    @property
    def list_file(self) -> Path:
        return self.split_dir / "list.txt"

    def _list_entries(self) -> list[str]:
        """``list.txt`` as written, names not yet validated."""
        self.validate_root()
        path = self.list_file
        text = read_text(path, missing="not found (GOT-10k ships the sequence list of each split)")
        names = [line.strip() for line in text.splitlines() if line.strip()]
        if not names:
            raise UserError(f"{path}: empty")
        return list(dict.fromkeys(names))

    def listed_names(self) -> list[str]:
        # list.txt names become folder and result-file names: a path in it must never be followed
        names = self._list_entries()
        check_names(names, str(self.list_file))
        return names

    def list_problems(self) -> list[str]:
        try:
            entries = self._list_entries()
        except UserError:
            return []  # reported by sequence_names()
        bad = bad_names(entries)
        if bad:
            return [f"{self.list_file}: invalid sequence name {b}" for b in bad]
        # list.txt decides what is loaded, so a truncated one would otherwise shrink the split silently;
        # a check of named sequences is about those only.
        if self._subset is not None:
            return []
        listed = set(entries)
        left_out = [n for n in self._rows if n not in listed]
        if not left_out:
            return []
        return [f"{self.list_file}: {len(left_out)} of the {len(self._rows)} official {self.split} sequences "
                f"not listed: {listing(left_out)}"]

    def sequence_dir(self, name: str) -> Path:
        return self.split_dir / name

    def _load(self, name: str) -> Sequence:
        folder = self.sequence_dir(name)
        gt = read_ground_truth(folder / "groundtruth.txt")
        frames = list_images(folder, (".jpg",))
        if not frames:
            raise UserError(f"{folder}: no .jpg frames")
        require_numbered(frames, 1, folder)
        self._check_lengths(name, frames, gt, folder)
        seq = self._annotation(name, gt)
        seq.frames = frames
        return seq

    def _annotation(self, name: str, gt: np.ndarray | None = None) -> Sequence:
        folder = self.sequence_dir(name)
        if gt is None:
            gt = read_ground_truth(folder / "groundtruth.txt")
        meta = read_meta_info(folder / "meta_info.ini")
        attributes: dict[str, object] = {k: v for k, v in meta.items() if k != "object_class"}
        m = _RESOLUTION.match(meta.get("resolution", ""))
        if m:
            attributes["resolution"] = (int(m[1]), int(m[2]))
        if (folder / "cover.label").is_file():
            # the GOT-10k evaluator's validity is the raw cover label (cover > 0), kept for the metrics
            attributes["cover"] = read_flags(folder / "cover.label", len(gt)).astype(np.int64)
        return Sequence(name=name, frames=[], ground_truth=gt, bench=self.name,
                        target_visible=self._visibility(folder, len(gt)),
                        object_class=meta.get("object_class"), attributes=attributes)

    def _visibility(self, folder: Path, n: int) -> np.ndarray | None:
        cover_path, absence_path = folder / "cover.label", folder / "absence.label"
        if not cover_path.is_file() and not absence_path.is_file():
            return None
        visible = np.ones(n, dtype=bool)
        if cover_path.is_file():
            visible &= read_flags(cover_path, n) > 0
        if absence_path.is_file():
            visible &= read_flags(absence_path, n) == 0
        return visible

    def unlisted(self) -> list[str]:
        if not self.split_dir.is_dir() or not self.list_file.is_file():
            return []
        try:
            listed = set(self._list_entries())
        except UserError:
            return []
        return sorted(p.name for p in self.split_dir.iterdir() if p.is_dir() and p.name not in listed)


class GOT10kVal(GOT10k):
    name: ClassVar[str] = "got10k_val"
    split: ClassVar[str] = "val"
    table: ClassVar[str] = "got10k_val.json"
    full_annotation: ClassVar[bool] = True

    def _annotation(self, name: str, gt: np.ndarray | None = None) -> Sequence:
        # both loads (tracking and annotation-only scoring) come through here
        cover = self.sequence_dir(name) / "cover.label"
        if not cover.is_file():  # without it every frame would silently count as visible
            raise UserError(f"{cover}: not found (GOT-10k val ships it; the GOT-10k toolkit scores val "
                            f"with it: frames with cover 0 do not count)")
        return super()._annotation(name, gt)

    def sequence_notes(self, name: str) -> list[str]:
        if (self.sequence_dir(name) / "absence.label").is_file():
            return []
        return ["absence.label missing (visibility taken from cover.label alone; the GOT-10k convention "
                "needs nothing more)"]
