from ostrack_eval.trackers.api import SequenceInfo, TrackerContext
from ostrack_eval.trackers.registry import TRACKERS, TrackerSpec, build_tracker, load_tracker, tracker_names

__all__ = ["TRACKERS", "SequenceInfo", "TrackerContext", "TrackerSpec", "build_tracker", "load_tracker",
           "tracker_names"]
