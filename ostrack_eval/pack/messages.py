"""Wording shared by ``pack`` and ``pack --check``, so both describe the same facts the same way."""

from __future__ import annotations

SHOWN = 5  # names a one-line message lists before "… N more"


def listing(names: list[str], sep: str = ", ") -> str:
    """The first :data:`SHOWN` names, then how many were left out."""
    more = f"{sep}… {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return sep.join(names[:SHOWN]) + more
