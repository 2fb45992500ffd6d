"""An OSTrack variant as a plug-in: candidate elimination ranks the search tokens by the head that attends to
them most, instead of the mean over heads (the official rule).

One method overridden; everything else (model, checkpoint, crops, decoding, fast and batched paths) is
OSTrack's. Run it on the demo next to the tracker it derives from:

    ostrack-eval run --bench demo --tracker examples/max_head_ce.py:MaxHeadOSTrack
    ostrack-eval report --bench demo --tracker ostrack-tiny MaxHeadOSTrack
"""

from __future__ import annotations

import torch

from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker


class MaxHeadOSTrack(OSTrackTracker):
    preset = "ostrack-tiny"  # the model and weights it starts from (--tracker-opt preset=... overrides)

    def ce_scores(self, probs: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        # attention from the ranking template rows, averaged over those rows: (B, heads, Ns)
        if valid is None:
            per_head = probs.mean(dim=2)
        else:
            per_head = (probs * valid[:, None, :, None]).sum(dim=2) / valid.sum(1).clamp(min=1)[:, None, None]
        return per_head.amax(dim=1)  # a token kept if any head attends to it strongly
