"""Benchmark adapters. ``BENCHMARKS`` maps a bench name to its adapter class.

Where a benchmark is looked for (:func:`resolve_root`): ``--root DIR`` (the benchmark folder itself, or a
folder holding ``lasot/``, ``got10k/``, …), else ``$OSTRACK_EVAL_DATA/<subdir>``, else ``./datasets/<subdir>``.
The ``demo`` benchmark lives in a cache folder instead (``$OSTRACK_EVAL_CACHE/demo-v1``, else
``~/.cache/ostrack-eval/demo-v1``) and is generated there on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ostrack_eval.datasets.base import Benchmark, Sequence
from ostrack_eval.datasets.demo import Demo, is_generated
from ostrack_eval.datasets.demo import default_root as demo_default_root
from ostrack_eval.datasets.got10k import GOT10k, GOT10kVal
from ostrack_eval.datasets.itb import ITB
from ostrack_eval.datasets.lasot import LaSOT
from ostrack_eval.datasets.lasot_ext import LaSOTExt
from ostrack_eval.datasets.nfs import NFS
from ostrack_eval.datasets.tnl2k import TNL2K
from ostrack_eval.datasets.trackingnet import TrackingNet
from ostrack_eval.datasets.uav123 import UAV123
from ostrack_eval.errors import UserError

DATA_ENV = "OSTRACK_EVAL_DATA"
DEFAULT_DATA_DIR = Path("datasets")

BENCHMARKS: dict[str, type] = {
    "lasot": LaSOT,
    "lasot_ext": LaSOTExt,
    "trackingnet": TrackingNet,
    "got10k": GOT10k,
    "got10k_val": GOT10kVal,
    "nfs": NFS,
    "uav123": UAV123,
    "tnl2k": TNL2K,
    "itb": ITB,
    "demo": Demo,
}


def adapter_class(name: str) -> type:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise UserError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}") from None


def _child(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The sub-folder of ``folder`` called one of ``names`` (case-insensitive; earlier names win)."""
    if not folder.is_dir():
        return None
    children = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_dir()}
    for name in names:
        if name.lower() in children:
            return children[name.lower()]
    return None


def _demo_root(root: Path) -> Path:
    if is_generated(root) or not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return root
    return _child(root, (Demo.subdirs[0], "demo-v1")) or root / Demo.subdirs[0]


def resolve_root(name: str, root: str | Path | None = None) -> Path:
    """The folder benchmark ``name`` is read from (it may not exist; the adapter says so when used).

    An explicit ``root`` is taken as the benchmark folder itself unless it holds a sub-folder named like
    the benchmark (``lasot/``, ``got10k/``, … case-insensitive), in which case that sub-folder is used.
    """
    cls = adapter_class(name)
    if root is not None:
        root = Path(root).expanduser()
        if cls is Demo:
            return _demo_root(root)
        return _child(root, cls.subdirs) or root
    if cls is Demo:
        return demo_default_root()
    env = os.environ.get(DATA_ENV)
    base = Path(env).expanduser() if env else DEFAULT_DATA_DIR
    return _child(base, cls.subdirs) or base / cls.subdirs[0]


def get_benchmark(name: str, root: str | Path | None = None, names: Iterable[str] | None = None) -> Benchmark:
    """The adapter for bench ``name`` reading from :func:`resolve_root`; ``names`` picks a subset."""
    return adapter_class(name)(resolve_root(name, root), names=names)


__all__ = ["BENCHMARKS", "Benchmark", "Sequence", "adapter_class", "get_benchmark", "resolve_root"]
