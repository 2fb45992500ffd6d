"""Wording shared by every one-line message that names things: the first few, then how many more."""

from __future__ import annotations

SHOWN = 5  # names a one-line message lists before "(+N more)"


def listing(names: list[str], limit: int = SHOWN, sep: str = ", ") -> str:
    """``"a, b, c, d, e (+3 more)"``: the first ``limit`` names, then how many were left out."""
    names = list(names)
    shown = sep.join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``"1 sequence"``, ``"3 sequences"`` (``many``: an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"
