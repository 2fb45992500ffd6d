"""Attention of one template token over the search region, read from the faithful forward with hooks.

No change to the model is needed: a forward hook on ``blocks[i].attn.qkv`` sees the ``q, k`` that block
``i`` attends with, over the tokens entering it (template tokens, then the search tokens that survived
earlier candidate elimination, in their kept order). The template row's ``softmax(q kᵀ · scale)`` is
recomputed from them — the formula of :class:`ostrack_eval.trackers.vit.Attention` — averaged over heads,
and its search columns are put back on the search grid with the CE stages' kept indices (eliminated
positions are NaN).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

from ostrack_eval.trackers.model import OSTrack


def centre_template_index(feat_t: int) -> int:
    """Flat index of the template centre token; ``(f - 1) // 2`` per axis as the official CTR_POINT table."""
    c = (feat_t - 1) // 2
    return c * feat_t + c


class AttentionRecorder:
    """Collects, per chosen block, the head-averaged attention of template row ``row`` to the entering tokens."""

    def __init__(self, model: OSTrack, layers: list[int], row: int):
        depth = len(model.backbone.blocks)
        bad = [i for i in layers if not 0 <= i < depth]
        if bad:
            raise ValueError(f"layer(s) {bad} out of range: the model has blocks 0..{depth - 1}")
        self.model = model
        self.layers = sorted(set(layers))
        self.row = row
        self.rows: dict[int, torch.Tensor] = {}  # layer -> (B, N_entering) attention over all keys

    def _hook(self, layer: int):
        attn = self.model.backbone.blocks[layer].attn

        def hook(_module, _inputs, output: torch.Tensor) -> None:
            b, n, c3 = output.shape
            heads = attn.num_heads
            qkv = output.detach().reshape(b, n, 3, heads, c3 // 3 // heads).permute(2, 0, 3, 1, 4)
            q, k = qkv[0], qkv[1]
            logits = (q[:, :, self.row:self.row + 1] @ k.transpose(-2, -1)) * attn.scale
            self.rows[layer] = logits.softmax(dim=-1).mean(dim=1)[:, 0]

        return hook

    @contextmanager
    def recording(self) -> Iterator["AttentionRecorder"]:
        handles = [self.model.backbone.blocks[i].attn.qkv.register_forward_hook(self._hook(i)) for i in self.layers]
        try:
            yield self
        finally:
            for h in handles:
                h.remove()

    def search_maps(self, ce_stages: list, num_template: int, num_search: int) -> dict[int, np.ndarray]:
        """Per layer, the ``(num_search,)`` attention to each original search position (NaN = eliminated).

        ``ce_stages`` are the ``out["ce"]`` :class:`CEStage` s of the same forward (batch item 0 is used).
        """
        maps = {}
        for layer, row in self.rows.items():
            entering = torch.arange(num_search)
            for st in ce_stages:
                if st.layer < layer:
                    entering = st.kept_index[0].cpu()
            full = np.full(num_search, np.nan)
            full[entering.numpy()] = row[0, num_template:].cpu().numpy()
            maps[layer] = full
        return maps
