"""The one rule for a sequence name: a plain file name, never a path.

Sequence names become path components twice (the sequence folder under the benchmark root, and
``<seq>.txt`` under a run folder), and some come from disk (GOT-10k ``list.txt``, folder scans) or the
command line. A name that carries a separator, ``..``, a drive or control characters could make a run read
frames or write results outside the folders it owns, so it is refused wherever a name enters.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable

from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing

MAX_NAME_LENGTH = 200  # result files add "_time.txt"; most file systems allow 255 bytes


class InvalidNameError(UserError):
    """A sequence name that is a path (or otherwise not a plain name): refused, never worked around."""


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a sequence name, or ``None`` when it is a plain name."""
    if not isinstance(name, str):
        return f"not a string ({type(name).__name__})"
    if not name or not name.strip():
        return "empty name"
    if name != name.strip():
        return "leading or trailing white space"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if name in (".", ".."):
        return "a relative path component"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "contains control characters"
    if len(name) >= 2 and name[1] == ":":  # C:foo is a drive-relative path on Windows
        return "looks like a drive path"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} bytes"
    return None


def bad_names(names: Iterable[object]) -> list[str]:
    """``'<name>' (why)`` for each name that is not a plain name, in order."""
    return [f"{n!r} ({why})" for n in names if (why := name_problem(n)) is not None]


def check_names(names: Iterable[object], where: str) -> None:
    """Refuse, in one line naming ``where`` (a file, folder or option), every name that is not plain."""
    bad = bad_names(names)
    if bad:
        raise InvalidNameError(f"{where}: {len(bad)} invalid sequence name(s) (a name must be a plain file name, "
                        f"not a path): {listing(bad)}")


def check_name(name: object, where: str) -> None:
    check_names([name], where)
