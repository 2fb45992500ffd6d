"""Running a tracker over a benchmark: results store, runner, workers."""

from ostrack_eval.run.store import ResultStore

__all__ = ["ResultStore", "RunOptions", "RunSummary", "run_benchmark"]


def __getattr__(name: str):
    # the runner pulls in datasets and OpenCV; readers of results (reports, pack) only need the store
    if name in ("RunOptions", "RunSummary", "run_benchmark"):
        from ostrack_eval.run import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
