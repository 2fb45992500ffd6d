from ostrack_eval.trackers.registry import TRACKERS, TrackerSpec, build_tracker

__all__ = ["TRACKERS", "TrackerSpec", "build_tracker"]
