"""ostrack-eval: reproduce, profile and extend OSTrack (ECCV 2022).

``from ostrack_eval import evaluate`` is the notebook API (:mod:`ostrack_eval.api`); it is resolved on first
use so that ``import ostrack_eval`` (and the CLI's start-up) stays free of pandas and matplotlib.
"""

__version__ = "0.1.0"

__all__ = ["evaluate", "__version__"]


def __getattr__(name: str):
    if name == "evaluate":
        from ostrack_eval.api import evaluate

        return evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
