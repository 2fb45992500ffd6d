"""The OSTrack network: backbone + CenterPredictor, official key layout (``backbone.*``, ``box_head.*``)."""

from __future__ import annotations

import torch
from torch import nn

from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.fast import TemplateState, backbone_forward, backbone_forward_fast, head_decode_tokens
from ostrack_eval.trackers.head import CenterPredictor
from ostrack_eval.trackers.vit import VisionTransformerCE


class OSTrack(nn.Module):
    def __init__(self, cfg: OSTrackConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = VisionTransformerCE(
            embed_dim=cfg.embed_dim, depth=cfg.depth, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio,
            patch_size=cfg.patch_size, qkv_bias=cfg.qkv_bias, num_template=cfg.num_template_tokens,
            num_search=cfg.num_search_tokens, ce_loc=cfg.ce_loc, ce_keep_ratio=cfg.ce_keep_ratio,
            pretrain_img_size=cfg.pretrain_img_size)
        self.box_head = CenterPredictor(cfg.embed_dim, cfg.head_channels, cfg.feat_sz_s)
        self.feat_sz_s = cfg.feat_sz_s
        self.feat_len_s = cfg.num_search_tokens
        # forward through the fast path (:mod:`ostrack_eval.trackers.fast`) instead of the faithful backbone
        self.fast = False

    def forward(self, template: torch.Tensor | None, search: torch.Tensor,
                ce_template_mask: torch.Tensor | None = None, ce_keep_rate: float | None = None,
                template_tokens: torch.Tensor | None = None, keep_block_tokens: bool = False) -> dict:
        if self.fast:
            if template_tokens is None:
                template_tokens = self.backbone.embed_template(template)
            feats = backbone_forward(self.backbone, search, template_tokens, ce_template_mask, ce_keep_rate)
        else:
            feats = self.backbone(template, search, ce_template_mask, ce_keep_rate, z_tokens=template_tokens,
                                  keep_block_tokens=keep_block_tokens)
        out = self.forward_head(feats.tokens)
        out["backbone_feat"] = feats.tokens
        out["ce"] = feats.ce
        out["removed_indexes_s"] = [st.removed_index for st in feats.ce]
        if keep_block_tokens:
            out["block_tokens"] = feats.block_tokens
        return out

    def track_step(self, search: torch.Tensor, template_tokens: torch.Tensor, window: torch.Tensor,
                   rank_rows: torch.Tensor | None = None, rank_valid: torch.Tensor | None = None,
                   ce_keep_rate: float | None = None,
                   template_qkv: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Fast path for tracking (plain tensors in, so it can be ``torch.compile``-d); see :class:`TemplateState`.

        Returns ``(bbox, response)``: the box ``(B, 4)`` (cx, cy, w, h normalised to the search crop) read
        at the argmax of ``response = window · score_map`` ``(B, 1, F, F)``, as the faithful decode does.
        """
        state = TemplateState(template_tokens, rank_rows, rank_valid, template_qkv)
        gemm = self.backbone.gemm
        res = backbone_forward_fast(self.backbone, search, state, ce_keep_rate, template_out=False, gemm=gemm)
        return head_decode_tokens(self.box_head, res.search, window, gemm, res.kept, res.index)

    def forward_head(self, tokens: torch.Tensor) -> dict:
        enc = tokens[:, -self.feat_len_s:]
        b, _, c = enc.shape
        feat = enc.transpose(1, 2).reshape(b, c, self.feat_sz_s, self.feat_sz_s)
        score_map, bbox, size_map, offset_map = self.box_head(feat)
        return {"pred_boxes": bbox.view(b, 1, 4), "score_map": score_map, "size_map": size_map,
                "offset_map": offset_map}


def build_model(cfg: OSTrackConfig) -> OSTrack:
    """An OSTrack in eval mode (drop-path and BatchNorm statistics are training-time only)."""
    return OSTrack(cfg).eval()
