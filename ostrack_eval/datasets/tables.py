"""The shipped sequence tables (``ostrack_eval/datasets/data/*.json``; schema in the spec's ``sequences/README.md``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping


@lru_cache(maxsize=None)
def _load(filename: str) -> str:
    return (resources.files("ostrack_eval.datasets") / "data" / filename).read_text(encoding="utf-8")


def load_table(filename: str) -> dict[str, Any]:
    """A fresh copy of one table (callers may edit it; the cache keeps only the text)."""
    return json.loads(_load(filename))


def table_rows(filename: str) -> list[dict[str, Any]]:
    """The ``sequences`` rows of a table, in its reference order."""
    return load_table(filename)["sequences"]


def rows_by_name(rows: list[dict[str, Any]]) -> Mapping[str, dict[str, Any]]:
    return MappingProxyType({row["name"]: row for row in rows})
