"""ostrack-eval: reproduce, profile and extend OSTrack (ECCV 2022)."""

__version__ = "0.1.0"
