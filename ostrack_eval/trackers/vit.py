"""The one-stream ViT backbone of OSTrack, with early candidate elimination.

Module and parameter names follow the official ``VisionTransformerCE`` so official checkpoints load
strictly. Two attention paths give the same maths:

* this module (faithful): the explicit ``softmax(q kᵀ · scale) v`` of the official code, op for op, so each
  stage matches the official one to fp32 rounding (tests/test_model_forward.py) and the CE rankings are
  identical. It stands alone: nothing here knows of the fast path.
* :mod:`ostrack_eval.trackers.fast`, built on these modules (fused attention, only the work the outputs
  need); same maths, different fp32 rounding. :class:`~ostrack_eval.trackers.model.OSTrack` picks one.

The blocks are written out rather than taken from timm (which the official code builds on): CE needs the
attention probabilities that timm's fused ``Attention`` does not return, and timm cannot be a dependency
beside the pinned CPU torch (it requires torchvision, whose wheels pin another torch release).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ostrack_eval.trackers.ce import eliminate, mean_scores, rank_scores
from ostrack_eval.trackers.gemm import GemmCache


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _qkv(self, x: torch.Tensor):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        return qkv.unbind(0)

    def forward(self, x: torch.Tensor, need_attn: bool = False, num_template: int = 0):
        """Returns ``(out, attn_t)``.

        ``attn_t`` is the ``(B, heads, Nz, Ns)`` attention from template rows to search columns when
        ``need_attn``, else ``None``.
        """
        b, n, c = x.shape
        q, k, v = self._qkv(x)
        attn_t = None
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        out = attn @ v
        if need_attn:
            attn_t = attn[:, :, :num_template, num_template:]
        out = out.transpose(1, 2).reshape(b, n, c)
        return self.proj(out), attn_t


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, keep_ratio: float = 1.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.keep_ratio = keep_ratio


@dataclass
class CEStage:
    """What one CE block did, for every pair of the batch (indices are original search positions)."""

    layer: int
    scores: torch.Tensor  # (B, Ns_in) ranking scores, in the order of the tokens entering the block
    kept_index: torch.Tensor  # (B, n_keep)
    removed_index: torch.Tensor | None  # (B, n_removed) or None when nothing was dropped


@dataclass
class BackboneOutput:
    tokens: torch.Tensor  # (B, Nz + Ns, C): template tokens then the full search map (dropped = 0)
    ce: list[CEStage] = field(default_factory=list)
    block_tokens: list[torch.Tensor] = field(default_factory=list)


class VisionTransformerCE(nn.Module):
    def __init__(self, embed_dim: int, depth: int, num_heads: int, mlp_ratio: float, patch_size: int,
                 qkv_bias: bool, num_template: int, num_search: int, ce_loc=(), ce_keep_ratio=(),
                 pretrain_img_size: int = 224):
        super().__init__()
        self.patch_size = patch_size
        self.num_template = num_template
        self.num_search = num_search
        # cls_token and pos_embed are unused at test time; they exist so official checkpoints load strictly
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (pretrain_img_size // patch_size) ** 2 + 1, embed_dim))
        self.pos_embed_z = nn.Parameter(torch.zeros(1, num_template, embed_dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, num_search, embed_dim))
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        keep = dict(zip(ce_loc, ce_keep_ratio))
        self.ce_loc = tuple(ce_loc)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, keep.get(i, 1.0)) for i in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        # how CE ranks the search tokens from the ranking rows' attention (:func:`ce.mean_scores`'s signature);
        # a tracker may swap it (:meth:`OSTrackTracker.ce_scores`)
        self.score_rule = mean_scores
        # the fast path's CPU GEMMs (backend, packed weights made on first use); not part of the state dict
        self.gemm = GemmCache()

    def embed_template(self, z: torch.Tensor) -> torch.Tensor:
        """Template tokens with position embedding: constant over a sequence, so computed once."""
        return self.patch_embed(z) + self.pos_embed_z

    def embed_search(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_embed(x) + self.pos_embed_x

    def block_keep_ratio(self, i: int, ce_keep_rate: float | None = None) -> float:
        """ρ of block ``i``; ``ce_keep_rate`` replaces it in CE blocks (official ``ce_keep_rate``)."""
        ratio = self.blocks[i].keep_ratio
        return ratio if ce_keep_rate is None or ratio >= 1 else ce_keep_rate

    def forward(self, z: torch.Tensor | None, x: torch.Tensor, ce_template_mask: torch.Tensor | None = None,
                ce_keep_rate: float | None = None, z_tokens: torch.Tensor | None = None,
                keep_block_tokens: bool = False) -> BackboneOutput:
        """``z``/``x``: normalised template/search images; pass ``z_tokens`` instead of ``z`` to reuse them.

        ``ce_keep_rate`` overrides every CE block's ρ at run time (official ``ce_keep_rate``).
        """
        if z_tokens is None:
            z_tokens = self.embed_template(z)
        x_tok = self.embed_search(x)
        if z_tokens.shape[0] != x_tok.shape[0]:
            z_tokens = z_tokens.expand(x_tok.shape[0], -1, -1)
        b, nz = x_tok.shape[0], z_tokens.shape[1]
        tokens = torch.cat([z_tokens, x_tok], dim=1)
        global_index = torch.arange(self.num_search, device=x.device).unsqueeze(0).repeat(b, 1)
        out = BackboneOutput(tokens=tokens)
        for i, blk in enumerate(self.blocks):
            ratio = self.block_keep_ratio(i, ce_keep_rate)
            do_ce = i in self.ce_loc and ratio < 1
            h, attn_t = blk.attn(blk.norm1(tokens), need_attn=do_ce, num_template=nz)
            tokens = tokens + h
            if do_ce:
                scores = rank_scores(attn_t, ce_template_mask, self.score_rule)
                tokens, kept, removed = eliminate(tokens, scores, nz, ratio, global_index)
                out.ce.append(CEStage(i, scores, kept, removed))
                global_index = kept
            tokens = tokens + blk.mlp(blk.norm2(tokens))
            if keep_block_tokens:
                out.block_tokens.append(tokens)
        tokens = self.norm(tokens)
        z_out, s_out = tokens[:, :nz], tokens[:, nz:]
        if global_index.shape[1] < self.num_search:
            # scatter kept tokens back to their original positions; eliminated ones stay zero
            c = s_out.shape[-1]
            full = s_out.new_zeros(b, self.num_search, c)
            full.scatter_(1, global_index.unsqueeze(-1).expand(-1, -1, c), s_out)
            s_out = full
        out.tokens = torch.cat([z_out, s_out], dim=1)
        return out
