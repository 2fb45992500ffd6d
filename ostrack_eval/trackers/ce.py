"""Early candidate elimination (CE): template masks and the token ranking of OSTrack §3.3."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F


def keep_count(keep_ratio: float, num_search: int) -> int:
    """Search tokens kept by a CE layer: ``ceil(ρ · n)`` (n = tokens entering the layer)."""
    return math.ceil(keep_ratio * num_search)


def template_mask(template_range: str, template_size: int, stride: int, batch: int,
                  gt_box_norm: torch.Tensor | None = None, device=None) -> torch.Tensor | None:
    """Which template tokens rank the search tokens (``generate_mask_cond`` of the official code).

    Returns a ``(B, Nz)`` bool mask, or ``None`` for ``ALL`` (every template row). ``gt_box_norm`` is the
    template-crop box ``(B, 4)`` normalised to [0, 1] (x, y, w, h), needed for ``GT_BOX`` only.
    """
    feat = template_size // stride
    if template_range == "ALL":
        return None
    if template_range in ("CTR_POINT", "CTR_REC"):
        # the official code hard-codes the index per template feature size
        table = {
            "CTR_POINT": {8: slice(3, 4), 12: slice(5, 6), 7: slice(3, 4), 14: slice(6, 7)},
            "CTR_REC": {8: slice(3, 5), 12: slice(5, 7), 7: slice(3, 4)},
        }[template_range]
        if feat not in table:
            raise ValueError(f"{template_range} is not defined for a {feat}x{feat} template feature map")
        index = table[feat]
        mask = torch.zeros(batch, feat, feat, device=device)
        mask[:, index, index] = 1
        return mask.flatten(1).to(torch.bool)
    if template_range == "GT_BOX":
        if gt_box_norm is None:
            raise ValueError("GT_BOX template range needs the template box")
        boxes = (gt_box_norm.reshape(-1, 4) * template_size).cpu().tolist()
        mask = torch.zeros(batch, template_size, template_size, device=device)
        for i, (x, y, w, h) in enumerate(boxes):
            # int() truncation and the "- 1" on the far edges are the official code's
            mask[i, int(y):int(y + h - 1), int(x):int(x + w - 1)] = 1
        mask = F.interpolate(mask.unsqueeze(1), scale_factor=1.0 / stride, mode="bilinear", align_corners=False)
        return mask.flatten(1).to(torch.bool)
    raise ValueError(f"unknown template range {template_range!r}")


def mean_scores(probs: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """The official ranking rule: attention averaged over the ranking template rows, then over heads.

    ``probs`` ``(B, heads, rows, Ns)``: attention probabilities from the ranking template rows to the search
    tokens; ``valid`` ``(B, rows)`` weighs each row 1 or 0 when pairs of a batch rank with different rows
    (``None``: every row counts). Returns ``(B, Ns)``, higher = kept first.
    """
    if valid is None:
        return probs.mean(dim=2).mean(dim=1)
    # sum over real rows (others weigh exactly 0) / count: the same mean, per pair
    return ((probs * valid[:, None, :, None]).sum(dim=2) / valid.sum(1).clamp(min=1)[:, None, None]).mean(dim=1)


ScoreRule = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def rank_scores(attn_t: torch.Tensor, mask: torch.Tensor | None, rule: ScoreRule = mean_scores) -> torch.Tensor:
    """Score of each search token under ``rule`` (:func:`mean_scores`) from the selected template rows.

    ``attn_t`` is ``(B, heads, Nz, Ns)``; ``mask`` ``(B, Nz)`` bool or ``None`` (all rows).
    """
    if mask is None:
        return rule(attn_t, None)
    counts = mask.sum(dim=1)
    if bool((counts == counts[0]).all()):
        # Same row count for every pair: boolean-select exactly as the official code does, so the
        # reduction order (and therefore ties in the ranking) is bit-identical.
        b, h, _, ns = attn_t.shape
        sel = mask[:, None, :, None].expand(-1, h, -1, ns)
        return rule(attn_t[sel].view(b, h, -1, ns), None)
    # GT_BOX masks differ in size between pairs of a batch: every row, weighted by the mask
    return rule(attn_t, mask.to(attn_t.dtype))


def eliminate(tokens: torch.Tensor, scores: torch.Tensor, num_template: int, keep_ratio: float,
              global_index: torch.Tensor):
    """Keep the ``ceil(ρ·n)`` best-ranked search tokens.

    Returns ``(tokens, kept_global_index, removed_global_index)``; ``removed`` is ``None`` when nothing
    is dropped. Sorting (not topk) mirrors the official code so ties resolve the same way.
    """
    num_search = scores.shape[1]
    n_keep = keep_count(keep_ratio, num_search)
    if n_keep == num_search:
        return tokens, global_index, None
    _, order = torch.sort(scores, dim=1, descending=True)
    top, rest = order[:, :n_keep], order[:, n_keep:]
    kept_index = global_index.gather(1, top)
    removed_index = global_index.gather(1, rest)
    tokens_t = tokens[:, :num_template]
    tokens_s = tokens[:, num_template:]
    c = tokens_s.shape[-1]
    kept = tokens_s.gather(1, top.unsqueeze(-1).expand(-1, -1, c))
    return torch.cat([tokens_t, kept], dim=1), kept_index, removed_index
