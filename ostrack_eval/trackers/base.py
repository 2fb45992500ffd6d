"""The tracker protocol the runner drives: defined in :mod:`ostrack_eval.trackers.api` (kept importable here)."""

from ostrack_eval.trackers.api import BatchedTracker, Tracker

__all__ = ["BatchedTracker", "Tracker"]
