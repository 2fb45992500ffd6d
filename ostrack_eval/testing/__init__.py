"""Helpers for tests of ostrack-eval and of code built on it: fake benchmark copies in their real layouts."""

from ostrack_eval.testing.fake_layouts import (
    DEFECTS,
    FAKE_SEQUENCES,
    MAKERS,
    fake_box,
    fake_boxes,
    frame_number,
    make_fake_benchmark,
    make_got10k,
    make_itb,
    make_lasot,
    make_lasot_ext,
    make_nfs,
    make_tnl2k,
    make_trackingnet,
    make_uav123,
)

__all__ = ["DEFECTS", "FAKE_SEQUENCES", "MAKERS", "fake_box", "fake_boxes", "frame_number", "make_fake_benchmark",
           "make_got10k", "make_itb", "make_lasot", "make_lasot_ext", "make_nfs", "make_tnl2k",
           "make_trackingnet", "make_uav123"]
