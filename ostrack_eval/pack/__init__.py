"""Evaluation-server submissions (GOT-10k, TrackingNet): packing stored results and checking any zip."""

from ostrack_eval.pack.check import CheckReport, check_submission
from ostrack_eval.pack.formats import SERVER_FORMATS, ServerFormat, get_format
from ostrack_eval.pack.packer import PackSummary, pack_submission

__all__ = ["CheckReport", "PackSummary", "SERVER_FORMATS", "ServerFormat", "check_submission", "get_format",
           "pack_submission"]
