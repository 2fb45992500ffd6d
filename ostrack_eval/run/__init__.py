"""Running a tracker over a benchmark: results store, runner, workers."""

from ostrack_eval.run.runner import RunOptions, RunSummary, run_benchmark
from ostrack_eval.run.store import ResultStore

__all__ = ["ResultStore", "RunOptions", "RunSummary", "run_benchmark"]
