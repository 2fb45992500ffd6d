"""Tracker names → factories, without importing what they build.

``TRACKERS`` maps the built-in names to ``"module:attr"`` strings (a callable is accepted too, for tests);
installed packages add names through entry points of the ``ostrack_eval.trackers`` group; anything else
is an OSTrack YAML or a plug-in given as ``package.module:Class`` / ``path/to/file.py:Class``. Listing the
names imports nothing heavy. Every tracker is built the same way (:func:`ostrack_eval.trackers.plugins.create`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Callable

from ostrack_eval.errors import UserError
from ostrack_eval.trackers import plugins
from ostrack_eval.trackers.api import TrackerContext
from ostrack_eval.trackers.plugins import PluginSource, RunnableTracker
from ostrack_eval.trackers.spec import (CE_TEMPLATES, COMPILE_MODES, DTYPES, TrackerSpec, check_fast_options,
                                        file_sha256, is_config_path, is_plugin_path)

# the spec's names are re-exported: other modules have always imported them from here
__all__ = ["CE_TEMPLATES", "COMPILE_MODES", "DTYPES", "OSTRACK", "TRACKERS", "TrackerSpec", "build_tracker",
           "check_fast_options", "file_sha256", "has_batched_form", "is_config_path", "is_ostrack", "load_tracker",
           "resolve", "tracker_names"]

OSTRACK = "ostrack_eval.trackers.ostrack_tracker:OSTrackTracker"

# name -> "module:attr" of its factory (see ostrack_eval.trackers.api), or the factory itself
TRACKERS: dict[str, str | Callable] = {
    "identity": "ostrack_eval.trackers.identity:IdentityTracker",
    "ostrack256": OSTRACK,
    "ostrack384": OSTRACK,
    "ostrack-tiny": OSTRACK,
}


def tracker_names() -> list[str]:
    """Built-in and installed tracker names (importing none of them)."""
    return sorted(set(TRACKERS) | set(plugins.entry_points()))


def is_ostrack(spec: TrackerSpec) -> bool:
    """Whether ``spec`` names a built-in OSTrack (a preset or a YAML), whose flags and checkpoint rules apply."""
    return TRACKERS.get(spec.tracker) == OSTRACK or is_config_path(spec.tracker)


def resolve(spec: TrackerSpec) -> tuple[Callable, PluginSource]:
    """The factory ``spec.tracker`` names and where it comes from (imports the plug-in, not the model)."""
    factory, source = _resolve(spec.tracker)
    if isinstance(factory, type):
        plugins.check_interface(factory, source.name)
    return factory, source


def _resolve(name: str) -> tuple[Callable, PluginSource]:
    if name in TRACKERS:
        target = TRACKERS[name]
        if callable(target):
            return target, PluginSource(name, getattr(target, "__qualname__", repr(target)), "builtin")
        return plugins.load_target(target, name, "builtin")
    if is_config_path(name):
        if not Path(name).is_file():
            raise UserError(f"{name}: tracker config not found")
        return plugins.load_target(OSTRACK, name, "builtin")
    installed = plugins.entry_points()
    if name in installed:
        return plugins.load_entry_point(installed[name])
    if is_plugin_path(name):
        return plugins.load_target(name, name, "file" if name.rpartition(":")[0].endswith(".py") else "module")
    known = tracker_names()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserError(f"unknown tracker {name!r}{hint} (known: {', '.join(known)}; or a .yaml, "
                    "package.module:Class or path/to/file.py:Class)")


def build_tracker(spec: TrackerSpec, device: str | None = None, threads: int | None = None):
    """The tracker ``spec`` names, as its factory built it, on ``device`` (``None``: CUDA when present)."""
    factory, source = resolve(spec)
    return plugins.create(factory, TrackerContext(spec, device, spec.dtype, threads), source.name)


def load_tracker(spec: TrackerSpec, device: str | None = None, threads: int | None = None) -> RunnableTracker:
    """:func:`build_tracker` behind the checked contract the runner drives."""
    return plugins.wrap(build_tracker(spec, device, threads), spec.tracker)


def has_batched_form(spec: TrackerSpec) -> bool | None:
    """Whether the tracker class has ``start``/``step`` (``None``: a factory function, known once built)."""
    factory, _ = resolve(spec)
    if not isinstance(factory, type):
        return None
    return callable(getattr(factory, "start", None)) and callable(getattr(factory, "step", None))
