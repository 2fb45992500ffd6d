"""What the folder-based adapters share: root checks, subset selection, frame listing, small file readers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Iterable

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_FLAG_SPLIT = re.compile(r"[,\s]+")


def int_stem_key(path: Path) -> tuple[int, int, str]:
    """Sort key: numeric stems by value (``10.jpg`` after ``2.jpg``), anything else after them by name."""
    stem = path.stem
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def list_images(folder: Path, exts: Iterable[str] = IMAGE_EXTS) -> list[Path]:
    """Image files directly in ``folder`` with one of ``exts`` (case-insensitive), in numeric stem order."""
    wanted = {e.lower() for e in exts}
    files = [p for p in folder.iterdir() if p.suffix.lower() in wanted and p.is_file()]
    return sorted(files, key=int_stem_key)


def read_flags(path: Path, count: int) -> np.ndarray:
    """A 0/1 flag file (LaSOT: one comma-separated line; GOT-10k labels: one value per line) as a bool array."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    parts = [p for p in _FLAG_SPLIT.split(text.strip().strip("\ufeff")) if p]
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise UserError(f"{path}: expected numbers separated by commas or new lines") from None
    if len(values) != count:
        raise UserError(f"{path}: has {len(values)} values but groundtruth.txt has {count} rows")
    return values


def read_first_line(path: Path) -> str | None:
    """The first non-empty line, stripped; ``None`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        line = line.strip().strip("\ufeff").strip()
        if line:
            return line
    return ""


def require_frames(frames: list[Path], what: str) -> None:
    """Cheap completeness check for frame lists built from a rule: the first and the last file exist.

    ``datasets check`` looks at every frame; this only catches a missing or half-extracted folder early.
    """
    for path in (frames[0], frames[-1]) if frames else ():
        if not path.is_file():
            raise UserError(f"{path}: frame missing ({what} needs {len(frames)} frames)")


def require_numbered(frames: list[Path], first: int, folder: Path) -> None:
    """Listed frames must be numbered ``first, first + 1, …`` without gaps (a gap is a lost file)."""
    for expected, path in enumerate(frames, start=first):
        if int_stem_key(path) != (0, expected, ""):
            raise UserError(f"{folder}: frame number {expected} missing (found {path.name} next; frames must be "
                            f"numbered from {first} without gaps)")


def shorten(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


class FolderBenchmark:
    """Base of the on-disk adapters: implements :class:`~ostrack_eval.datasets.base.Benchmark`.

    Subclasses set the class attributes, :meth:`listed_names` (the official list), :meth:`sequence_dir`
    and :meth:`_load`. ``names`` restricts :meth:`sequence_names` to a subset of the official list
    (kept in the official order); :meth:`load` accepts any listed name.
    """

    name: ClassVar[str]
    convention: ClassVar[str]
    title: ClassVar[str]
    subdirs: ClassVar[tuple[str, ...]]  # folder names under a data root; the first is the default
    full_annotation: ClassVar[bool] = True  # one GT row per frame (False: first-frame box only)

    def __init__(self, root: str | Path, names: Iterable[str] | None = None):
        self.root = Path(root)
        self._subset = list(names) if names is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"

    # -- the official list ------------------------------------------------------------------------------

    def listed_names(self) -> list[str]:
        raise NotImplementedError

    def sequence_names(self) -> list[str]:
        listed = self.listed_names()
        if self._subset is None:
            return listed
        known = set(listed)
        unknown = [n for n in self._subset if n not in known]
        if unknown:
            raise UserError(f"{self.name}: not in the official list: {shorten(unknown)}")
        keep = set(self._subset)
        return [n for n in listed if n in keep]

    def official_count(self) -> int:
        """How many sequences the official list has (known without the data)."""
        return len(self.listed_names())

    def expected_length(self, name: str) -> int | None:
        """Frames per the shipped table (official annotation), ``None`` where unknown."""
        return None

    # -- on disk ----------------------------------------------------------------------------------------

    def validate_root(self) -> None:
        """Raise a one-line :class:`UserError` when the root is missing or has the wrong layout."""
        if not self.root.is_dir():
            raise UserError(f"{self.root}: {self.title} folder not found (pass --root DIR, or set "
                            f"OSTRACK_EVAL_DATA to a folder holding {self.subdirs[0]}/)")

    def sequence_dir(self, name: str) -> Path:
        raise NotImplementedError

    def is_present(self, name: str) -> bool:
        return self.sequence_dir(name).is_dir()

    def unlisted(self) -> list[str]:
        """Sequence folders on disk that the official list does not name (reported, never loaded)."""
        return []

    def load(self, name: str) -> Sequence:
        self._require_listed(name)
        self.validate_root()
        folder = self.sequence_dir(name)
        if not folder.is_dir():
            raise UserError(f"{folder}: sequence folder not found ({self.name} sequence {name!r})")
        return self._load(name)

    def _load(self, name: str) -> Sequence:
        raise NotImplementedError

    def _require_listed(self, name: str) -> None:
        if name not in set(self.listed_names()):
            raise UserError(f"{self.name}: unknown sequence {name!r} (not in the official list)")

    def _check_lengths(self, name: str, frames: list[Path], gt: np.ndarray, where: Path) -> None:
        if self.full_annotation and len(frames) != len(gt):
            raise UserError(f"{where}: {len(frames)} frames but {len(gt)} ground-truth rows ({self.name} {name})")
