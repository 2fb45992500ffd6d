"""What the folder-based adapters share: root checks, subset selection, frame listing, small file readers."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.names import check_name, check_names
from ostrack_eval.datasets.tables import rows_by_name, table_rows
from ostrack_eval.errors import UserError
from ostrack_eval.utils.boxio import read_boxes
from ostrack_eval.utils.text import listing
from ostrack_eval.utils import readfile

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_FLAG_SPLIT = re.compile(r"[,\s]+")
# ASCII only: str.isdigit() also accepts "²" (which int() refuses) and int() reads "٣" as 3.
_NUMBER = re.compile(r"[0-9]+")


def int_stem_key(path: Path) -> tuple[int, int, str]:
    """Sort key: numeric stems by value (``10.jpg`` after ``2.jpg``), anything else after them by name."""
    stem = path.stem
    return (0, int(stem), "") if _NUMBER.fullmatch(stem) else (1, 0, stem)


def list_images(folder: Path, exts: Iterable[str] = IMAGE_EXTS) -> list[Path]:
    """Image files directly in ``folder`` with one of ``exts`` (case-insensitive), in numeric stem order."""
    wanted = {e.lower() for e in exts}
    files = [p for p in folder.iterdir() if p.suffix.lower() in wanted and p.is_file()]
    return sorted(files, key=int_stem_key)


def read_text(path: Path, *, missing: str = "file not found", errors: str = "strict") -> str:
    """An annotation, flag or list file as text, without a leading byte-order mark.

    A file that is absent, unreadable or not UTF-8 is a one-line :class:`UserError` naming it (worded like
    :func:`~ostrack_eval.utils.boxio.read_boxes`), so ``datasets check`` charges it to its sequence and goes
    on; ``missing`` words the absent case.
    """
    try:
        text = readfile.read_text(path, errors=errors)
    except FileNotFoundError:
        raise UserError(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    return text.removeprefix("\ufeff")


def read_optional_text(path: Path) -> str | None:
    """A free-text file a sequence may lack (``nlp.txt``, ``meta_info.ini``); ``None`` when absent.

    Undecodable bytes are replaced: a stray byte in a description should not make the sequence unusable.
    """
    if not path.exists():
        return None
    return read_text(path, errors="replace")


def read_ground_truth(path: Path) -> np.ndarray:
    """``groundtruth.txt`` and the like: the boxes, refusing a file without any (there is no box to start from)."""
    gt = read_boxes(path)
    if len(gt) == 0:
        raise UserError(f"{path}: empty")
    return gt


def read_flags(path: Path, count: int) -> np.ndarray:
    """A 0/1 flag file (LaSOT: one comma-separated line; GOT-10k labels: one value per line) as a float array."""
    text = read_text(path).strip()
    values = _binary_flags(text)
    if values is None:
        parts = [p for p in _FLAG_SPLIT.split(text) if p]
        try:
            values = np.array([float(p) for p in parts], dtype=np.float64)
        except ValueError:
            raise UserError(f"{path}: expected numbers separated by commas or new lines") from None
    if len(values) != count:
        raise UserError(f"{path}: has {len(values)} values but groundtruth.txt has {count} rows")
    return values


_DIGIT_0, _DIGIT_1 = ord("0"), ord("1")
_FLAG_SEPARATORS = np.frombuffer(b", \t\r\n", dtype=np.uint8)


def _binary_flags(text: str) -> np.ndarray | None:
    """The values of a file of single-character ``0``/``1`` tokens and separators, read without a Python
    loop (LaSOT's flag files are one line of thousands); ``None`` for anything else."""
    if not text.isascii():
        return None
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    digit = (raw == _DIGIT_0) | (raw == _DIGIT_1)
    if not (digit | np.isin(raw, _FLAG_SEPARATORS)).all() or (digit[1:] & digit[:-1]).any():
        return None
    return (raw[digit] - _DIGIT_0).astype(np.float64)


def read_first_line(path: Path) -> str | None:
    """The first non-empty line, stripped; ``None`` when the file does not exist."""
    text = read_optional_text(path)
    if text is None:
        return None
    for line in text.splitlines():
        line = line.strip()
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


def _within(path: str, folder: str) -> bool:
    return os.path.commonpath([folder, path]) == folder


class FolderBenchmark:
    """Base of the on-disk adapters: implements :class:`~ostrack_eval.datasets.base.Benchmark`.

    Subclasses set the class attributes, :meth:`sequence_dir` and :meth:`_load`; with a shipped ``table``
    its rows (``self._rows``, by name) are the official list, else they override :meth:`listed_names`.
    ``names`` restricts :meth:`sequence_names` to a subset of the official list (kept in the official
    order); :meth:`load` accepts any listed name.
    """

    name: ClassVar[str]
    convention: ClassVar[str]
    title: ClassVar[str]
    # folder names under a data root, matched case-insensitively; the first is the default
    subdirs: ClassVar[tuple[str, ...]]
    table: ClassVar[str | None] = None  # the shipped sequence table (``data/<table>``), official order
    full_annotation: ClassVar[bool] = True  # one GT row per frame (False: first-frame box only)

    def __init__(self, root: str | Path, names: Iterable[str] | None = None):
        self.root = Path(root)
        self._subset = list(names) if names is not None else None
        self._rows: Mapping[str, dict[str, Any]] = rows_by_name(table_rows(self.table) if self.table else [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"

    # -- the official list ------------------------------------------------------------------------------

    def listed_names(self) -> list[str]:
        if self.table is None:
            raise NotImplementedError
        return list(self._rows)

    def sequence_names(self) -> list[str]:
        listed = self.listed_names()
        if self._subset is None:
            return listed
        check_names(self._subset, "--sequences")
        known = set(listed)
        unknown = [n for n in self._subset if n not in known]
        if unknown:
            raise UserError(f"{self.name}: not in the official list: {listing(unknown)}")
        keep = set(self._subset)
        return [n for n in listed if n in keep]

    def official_count(self) -> int:
        """How many sequences the official list has (known without the data)."""
        return len(self._rows) if self.table else len(self.listed_names())

    def expected_length(self, name: str) -> int | None:
        """Frames per the shipped table (official annotation), ``None`` where unknown."""
        row = self._rows.get(name)
        return row.get("num_frames") if row else None

    def list_problems(self) -> list[str]:
        """Problems of the on-disk sequence list itself, not of one sequence (``datasets check``)."""
        return []

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

    def missing_hint(self, name: str) -> str | None:
        """What is known about a sequence that is not present beyond "not there" (frames still zipped, …)."""
        return None

    def sequence_notes(self, name: str) -> list[str]:
        """What ``datasets check`` should mention about a loaded sequence without failing it."""
        return []

    def unlisted(self) -> list[str]:
        """Sequence folders on disk that the official list does not name (reported, never loaded)."""
        return []

    def load(self, name: str) -> Sequence:
        self._require_present(name)
        seq = self._load(name)
        self._require_inside(seq)
        return seq

    def load_annotation(self, name: str) -> Sequence:
        """What scoring needs (ground truth, visibility, attributes), without listing or checking frames.

        The :class:`Sequence` has ``frames == []``; reading results against it needs no image on disk, as
        with the reference analysis tools, so annotation-only copies of a benchmark can be scored.
        """
        self._require_present(name)
        return self._annotation(name)

    def load_annotations(self, names: list[str]) -> list[Sequence]:
        """:meth:`load_annotation` of each name (adapters may read the files in one batch)."""
        return [self.load_annotation(n) for n in names]

    def frame_path(self, name: str, index: int) -> Path | None:
        """The image of 0-based frame ``index`` of a sequence (``None`` past its end), for showing one frame."""
        frames = self.load(name).frames
        return frames[index] if 0 <= index < len(frames) else None

    def _require_present(self, name: str) -> None:
        check_name(name, f"{self.name} sequence")
        self._require_listed(name)
        self.validate_root()
        if not self.is_present(name):
            raise UserError(self.missing_hint(name) or self._not_found(name))

    def _require_inside(self, seq: Sequence) -> None:
        """Second line of defence behind :func:`check_name`: frames are read only from the benchmark.

        Every frame path lies under the root as written (no ``..``), and a frame that is a symbolic link
        must resolve into the root or into its own folder: a dataset linked together from several disks
        (the root or whole sequence folders as links) stays usable, a planted link to another file does not.
        """
        root = os.path.normpath(os.path.abspath(self.root))
        real_root = os.path.realpath(root)
        real_folders: dict[Path, str] = {}
        for frame in seq.frames:
            path = os.path.normpath(os.path.abspath(frame))
            real = os.path.realpath(path)
            folder = real_folders.setdefault(frame.parent, os.path.realpath(frame.parent))
            if _within(path, root) and (_within(real, real_root) or _within(real, folder)):
                continue
            raise UserError(f"{frame}: frame outside the {self.title} folder {self.root} "
                            f"({self.name} sequence {seq.name!r}{'' if real == path else f'; it links to {real}'})")

    def _annotation(self, name: str) -> Sequence:
        # adapters that can leave the frames out override this
        return self._load(name)

    def _not_found(self, name: str) -> str:
        return f"{self.sequence_dir(name)}: sequence folder not found ({self.name} sequence {name!r})"

    def _load(self, name: str) -> Sequence:
        raise NotImplementedError

    def _require_listed(self, name: str) -> None:
        if name not in set(self.listed_names()):
            raise UserError(f"{self.name}: unknown sequence {name!r} (not in the official list)")

    def _check_lengths(self, name: str, frames: list[Path], gt: np.ndarray, where: Path) -> None:
        if self.full_annotation and len(frames) != len(gt):
            raise UserError(f"{where}: {len(frames)} frames but {len(gt)} ground-truth rows ({self.name} {name})")
