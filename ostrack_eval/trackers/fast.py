"""The fast inference path of OSTrack: the faithful maths, minus the work no output depends on.

What it leaves out, and why the outputs stay the same up to fp32 rounding:

* template patch embedding, and the first block's q, k, v of the template rows: done once per sequence by
  the caller (the template image never changes; :meth:`TemplateState.with_first_block`). Nothing past
  them can be cached: template tokens attend to the search tokens in every block.
* attention: fused ``scaled_dot_product_attention`` (on AVX-512 CPUs in fp32 below 192 query rows, one
  q·kᵀ, softmax, ·v: faster there, see :func:`_attention`). In a CE block the ranking needs only
  ``softmax(q kᵀ)`` of the ranking template rows (one row for ``CTR_POINT``), so those rows are computed
  explicitly, the elimination is decided first, and the attention output, projection and MLP run only for
  the tokens that survive (all rows' keys and values are still used).
* last block, when the caller needs no template output (tracking): the template rows feed nothing after
  it (the head reads search tokens), so of them only keys and values are used; attention output,
  projection and MLP run for the search rows.
* elimination with one row gather of the surviving tokens, and one scatter back into the map.
* head (:func:`head_decode_fast`): the size and offset branches are read at one cell, the Hann-weighted
  argmax. Through four 3×3 convolutions that cell sees a 9×9 window of the feature map, so only that window
  is convolved, with each layer's zero padding at the map border reproduced by masking.
* GEMMs on the CPU in fp32 (eager or compiled): the linear layers run on the CPU's faster GEMM backend,
  MKL-packed weights or oneDNN's matmul (:mod:`ostrack_eval.trackers.gemm`), and the convolutions that are
  GEMMs in disguise become GEMMs on it (:func:`head_decode_tokens`): the search patch embedding (stride =
  kernel); the score branch's first 3×3 convolution as each kept token times the 9 taps, added into the
  cells they feed, so the tokens CE eliminated (zero in the map) are never multiplied; the size and offset
  branches' first convolution as one im2col GEMM over the window. On the AVX-512 machine oneDNN's
  convolution ran these at ~120 GFLOP/s, a third of the GEMMs' rate.

Rounding: fused attention and different GEMM kernels round differently from the faithful path (≈1e-6
relative). Where two search tokens' CE scores tie within that noise they can trade places in the ranking
(seen: 2e-7 apart, same tokens kept); a tie at the keep boundary could keep the other token.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F

from ostrack_eval.trackers.ce import keep_count, mean_scores
from ostrack_eval.trackers.gemm import GemmCache
from ostrack_eval.trackers.vit import BackboneOutput, Block, CEStage, VisionTransformerCE

if TYPE_CHECKING:
    from ostrack_eval.trackers.head import CenterPredictor

# four 3×3 convolutions before the 1×1 output layer: a cell depends on a (2·4+1)² window
_HEAD_RADIUS = 4
# no packing: every GEMM is F.linear
_PLAIN = GemmCache(enabled=False)


@dataclass
class TemplateState:
    """Per-sequence template inputs of the fast path, batched along dim 0.

    ``rank_rows`` are the template rows whose attention ranks the search tokens (ascending, padded with
    row 0 where pairs have different counts), ``None`` for every row (``ALL``). ``rank_valid`` marks the
    real rows (1/0) when counts differ (``GT_BOX``), else ``None``.
    """

    tokens: torch.Tensor  # (B, Nz, C) patch embedding + pos_embed_z
    rank_rows: torch.Tensor | None = None  # (B, r) int64
    rank_valid: torch.Tensor | None = None  # (B, r) float
    # (B, Nz, 3C) the first block's q, k, v of the template rows: they see only the template, unlike every
    # later value (see :func:`first_block_qkv`); None: computed with the search rows
    qkv0: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.tokens.shape[0]

    def with_first_block(self, bb: VisionTransformerCE) -> "TemplateState":
        """This state with :attr:`qkv0` computed (once per sequence, in the caller's autocast)."""
        return dataclasses.replace(self, qkv0=first_block_qkv(bb, self.tokens))

    @classmethod
    def from_mask(cls, tokens: torch.Tensor, mask: torch.Tensor | None) -> "TemplateState":
        """From the faithful ``(B, Nz)`` bool template mask (``None``: every row ranks)."""
        if mask is None:
            return cls(tokens)
        counts = mask.sum(dim=1)
        r = int(counts.max())
        # stable sort puts each pair's selected rows first, in ascending order (the faithful selection order)
        rows = torch.sort(mask.to(torch.int8), dim=1, descending=True, stable=True)[1][:, :r]
        valid = torch.arange(r, device=mask.device)[None] < counts[:, None]
        if bool(valid.all()):
            return cls(tokens, rows)
        return cls(tokens, torch.where(valid, rows, 0), valid.to(tokens.dtype))

    @classmethod
    def cat(cls, states: list["TemplateState"]) -> "TemplateState":
        tokens = torch.cat([s.tokens for s in states])
        if states[0].rank_rows is None:
            if any(s.rank_rows is not None for s in states):
                raise ValueError("cannot batch templates ranked by all rows with ones ranked by some")
            return cls(tokens, qkv0=_cat_qkv0(states))
        r = max(s.rank_rows.shape[1] for s in states)
        rows, valid = [], []
        for s in states:
            pad = r - s.rank_rows.shape[1]
            v = s.rank_valid if s.rank_valid is not None else torch.ones_like(s.rank_rows, dtype=tokens.dtype)
            rows.append(F.pad(s.rank_rows, (0, pad)))
            valid.append(F.pad(v, (0, pad)))
        valid_t = torch.cat(valid)
        qkv0 = _cat_qkv0(states)
        if bool((valid_t == 1).all()):
            return cls(tokens, torch.cat(rows), qkv0=qkv0)
        return cls(tokens, torch.cat(rows), valid_t, qkv0)


def _cat_qkv0(states: list[TemplateState]) -> torch.Tensor | None:
    if any(s.qkv0 is None for s in states):
        return None
    return torch.cat([s.qkv0 for s in states])


def first_block_qkv(bb: VisionTransformerCE, tokens: torch.Tensor) -> torch.Tensor:
    """q, k, v of the first block for the template tokens ``(B, Nz, C)``: ``qkv(norm1(tokens))``, the same
    every frame (attention mixes in the search tokens only after them)."""
    blk = bb.blocks[0]
    return bb.gemm.linear(blk.norm1(tokens), blk.attn.qkv.weight, blk.attn.qkv.bias)


class Elimination(NamedTuple):
    """What one CE block did (indices are original search positions), as :class:`vit.CEStage` records."""

    layer: int
    scores: torch.Tensor  # (B, Ns_in)
    kept_index: torch.Tensor  # (B, n_keep)
    removed_index: torch.Tensor | None


@dataclass
class FastBackboneResult:
    search: torch.Tensor  # (B, Ns, C) search tokens in their original positions, eliminated ones zero
    template: torch.Tensor | None  # (B, Nz, C) final template tokens, or None when not asked for
    stages: list[Elimination]
    kept: torch.Tensor  # (B, n, C) the search tokens CE kept, in the order of ``index``
    index: torch.Tensor | None  # (B, n) their positions in the map; None: all, in order


def _rank_scores(q: torch.Tensor, k: torch.Tensor, nz: int, tmpl: TemplateState, scale: float,
                 rule) -> torch.Tensor:
    """``rule`` (:func:`ce.mean_scores`) over the attention from the ranking template rows to the search tokens."""
    if tmpl.rank_rows is None:
        q_rows = q[:, :, :nz]
    else:
        h, d = q.shape[1], q.shape[3]
        q_rows = q.gather(2, tmpl.rank_rows[:, None, :, None].expand(-1, h, -1, d))
    probs = ((q_rows @ k.transpose(-2, -1)) * scale).softmax(dim=-1)[..., nz:]
    return rule(probs, tmpl.rank_valid)


def _flat_rows(index: torch.Tensor, rows_per_sample: int) -> torch.Tensor:
    """Per-sample row indices ``(B, ...)`` as indices into the batch's rows flattened to one dim."""
    b = index.shape[0]
    offsets = torch.arange(b, device=index.device).view(b, *[1] * (index.dim() - 1)) * rows_per_sample
    return (index + offsets).flatten()


# PyTorch's CPU flash-attention kernel works through the queries in blocks of 32 rows below 192 query rows
# (64 from 192; ``FlashAttentionKernel.cpp``). On an AVX-512 Xeon, in CE's later blocks (88–190 rows, ≤ 244
# keys), one q·kᵀ, softmax, ·v ran faster in fp32 (2 threads, 12 heads; 190×190: 1.00 vs 1.45 ms at batch 1,
# 8.0 vs 9.6 at batch 8; ostrack256-CE's blocks 7–12 together: 5.3 vs 7.3 ms at batch 1), and so on an AVX-512
# Zen 5 EPYC (190×190: 0.89 vs 1.28 ms at batch 1, 8.3 vs 9.6 at batch 8; from 244 rows at batch 8 the flash
# kernel won). On an AVX2 EPYC the flash kernel was the faster at every size (190×190: 2.5 vs 2.8–3.8 ms;
# 153×190: 2.1 vs 3.0), so there it is used throughout.
_PLAIN_ATTENTION_BELOW = 192 if torch.backends.cpu.get_cpu_capability() == "AVX512" else 0


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
    if q.device.type != "cpu" or q.dtype != torch.float32 or q.shape[-2] >= _PLAIN_ATTENTION_BELOW:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    return torch.matmul(q, k.transpose(-2, -1)).mul_(scale).softmax(dim=-1) @ v


def _block(blk: Block, t: torch.Tensor, nz: int, tmpl: TemplateState, layer: int, ratio: float | None,
           index: torch.Tensor | None, drop_template: bool, gemm: GemmCache, z_qkv: torch.Tensor | None = None,
           rule=mean_scores):
    """One transformer block; returns ``(tokens, search index, elimination or None)``.

    ``z_qkv``: the template rows' q, k, v, known already (first block); only the search rows' are computed.
    """
    attn = blk.attn
    b, n, c = t.shape
    heads = attn.num_heads
    d = c // heads
    if z_qkv is None:
        qkv = gemm.linear(blk.norm1(t), attn.qkv.weight, attn.qkv.bias)
    else:
        x_qkv = gemm.linear(blk.norm1(t[:, nz:]), attn.qkv.weight, attn.qkv.bias)
        if z_qkv.dtype != x_qkv.dtype:  # cached outside this step's autocast
            z_qkv = gemm.linear(blk.norm1(t[:, :nz]), attn.qkv.weight, attn.qkv.bias)
        qkv = torch.cat([z_qkv, x_qkv], dim=1)
    qkv = qkv.view(b, n, 3, heads, d)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # strided views, no copy
    rows = None  # token rows whose outputs are needed; None = all
    stage = None
    if ratio is not None:
        scores = _rank_scores(q, k, nz, tmpl, attn.scale, rule)
        ns = n - nz
        n_keep = keep_count(ratio, ns)
        if index is None:
            index = torch.arange(ns, device=t.device).expand(b, -1)
        if n_keep < ns:
            order = torch.sort(scores, dim=1, descending=True)[1]
            top = order[:, :n_keep]
            kept, removed = index.gather(1, top), index.gather(1, order[:, n_keep:])
            rows = top + nz
            if not drop_template:
                rows = torch.cat([torch.arange(nz, device=t.device).expand(b, -1), rows], dim=1)
            index = kept
        else:
            removed = None
        stage = Elimination(layer, scores, index, removed)
    if rows is not None:
        # whole rows by index_select on the flattened batch (a row copy each; gather indexes every element)
        m = rows.shape[1]
        flat = _flat_rows(rows, n)
        q = qkv.view(b * n, 3 * c)[:, :c].index_select(0, flat).view(b, m, heads, d).transpose(1, 2)
        t = t.reshape(b * n, c).index_select(0, flat).view(b, m, c)
    elif drop_template:
        q, t = q[:, :, nz:], t[:, nz:]
    out = _attention(q, k, v, attn.scale)
    t = t + gemm.linear(out.transpose(1, 2).reshape(b, -1, c), attn.proj.weight, attn.proj.bias)
    mlp = blk.mlp
    hidden = mlp.act(gemm.linear(blk.norm2(t), mlp.fc1.weight, mlp.fc1.bias))
    t = t + gemm.linear(hidden, mlp.fc2.weight, mlp.fc2.bias)
    return t, index, stage


def _embed_search(bb: VisionTransformerCE, x: torch.Tensor, gemm: GemmCache) -> torch.Tensor:
    """``bb.embed_search(x)``; with packed GEMMs the patch convolution as one (stride = kernel: no overlap)."""
    conv = bb.patch_embed.proj
    if not gemm.handles(x, conv.weight):
        return bb.embed_search(x)
    k = conv.kernel_size[0]
    b, ch, h, w = x.shape
    patches = x.view(b, ch, h // k, k, w // k, k).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, ch * k * k)
    return gemm.linear(patches, conv.weight, conv.bias, layout="patches") + bb.pos_embed_x


def backbone_forward_fast(bb: VisionTransformerCE, x: torch.Tensor, tmpl: TemplateState,
                          ce_keep_rate: float | None = None, template_out: bool = True,
                          gemm: GemmCache | None = None) -> FastBackboneResult:
    """The backbone on normalised search images ``x`` (B, 3, H, W) with pre-embedded template tokens.

    ``gemm``: where the linear layers' packed weights are kept (none: plain ``F.linear``).
    """
    gemm = gemm if gemm is not None else _PLAIN
    b = x.shape[0]
    z = tmpl.tokens if tmpl.tokens.shape[0] == b else tmpl.tokens.expand(b, -1, -1)
    nz = z.shape[1]
    t = torch.cat([z, _embed_search(bb, x, gemm)], dim=1)
    z_qkv = tmpl.qkv0
    if z_qkv is not None:
        z_qkv = z_qkv if z_qkv.shape[0] == b else z_qkv.expand(b, -1, -1)
    index = None
    stages = []
    depth = len(bb.blocks)
    for i, blk in enumerate(bb.blocks):
        ratio = bb.block_keep_ratio(i, ce_keep_rate)
        rank = ratio if i in bb.ce_loc and ratio < 1 else None
        drop = not template_out and i == depth - 1
        t, index, stage = _block(blk, t, nz, tmpl, i, rank, index, drop, gemm, z_qkv if i == 0 else None,
                                 bb.score_rule)
        if stage is not None:
            stages.append(stage)
    t = bb.norm(t)
    template = t[:, :nz] if template_out else None
    s = t[:, nz:] if template_out else t
    c = s.shape[-1]
    if index is None:
        search = s = s.contiguous()
    else:
        search = s.new_zeros(b, bb.num_search, c)
        search.scatter_(1, index[:, :, None].expand(-1, -1, c), s)
    return FastBackboneResult(search, template, stages, s, index)


def backbone_forward(bb: VisionTransformerCE, x: torch.Tensor, z_tokens: torch.Tensor,
                     ce_template_mask: torch.Tensor | None = None,
                     ce_keep_rate: float | None = None) -> BackboneOutput:
    """The fast path behind the faithful backbone's interface (full token output; block tokens are not kept)."""
    b = x.shape[0]
    if z_tokens.shape[0] != b:
        z_tokens = z_tokens.expand(b, -1, -1)
    state = TemplateState.from_mask(z_tokens, ce_template_mask)
    res = backbone_forward_fast(bb, x, state, ce_keep_rate, template_out=True, gemm=bb.gemm)
    stages = [CEStage(st.layer, st.scores, st.kept_index, st.removed_index) for st in res.stages]
    return BackboneOutput(tokens=torch.cat([res.template, res.search], dim=1), ce=stages)


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x.sigmoid(), min=1e-4, max=1 - 1e-4)


def _window_branch(head: "CenterPredictor", name: str, x: torch.Tensor, masks: list[torch.Tensor],
                   first: int = 1) -> torch.Tensor:
    """Layers ``first``..4 of a size/offset branch on a window, then its 1×1 output at the window's centre."""
    for j in range(first, len(masks) + 1):
        conv, bn, _ = getattr(head, f"conv{j}_{name}")
        # valid convolution on the window == padded convolution at those cells; outside the map the next
        # layer must see zeros (its padding), not relu(bn(conv(zeros)))
        x = F.relu(bn(F.conv2d(x, conv.weight, conv.bias))) * masks[j - 1]
    return getattr(head, f"conv5_{name}")(x).flatten(1)


def _argmax_cell(head: "CenterPredictor", ctr_logits: torch.Tensor, window: torch.Tensor):
    response = window * _clamped_sigmoid(ctr_logits)
    _, idx = torch.max(response.flatten(1), dim=1, keepdim=True)
    return response, torch.div(idx, head.feat_sz, rounding_mode="floor"), idx % head.feat_sz


def _window_masks(iy: torch.Tensor, ix: torch.Tensor, fs: int, dtype: torch.dtype) -> list[torch.Tensor]:
    """Per layer 1..4, which of its window output cells lie inside the map, ``(B, 1, s, s)``."""
    r = _HEAD_RADIUS
    steps = torch.arange(2 * r + 1, device=iy.device)
    masks = []
    for j in range(1, r + 1):
        off = steps[j:2 * r + 1 - j] - r  # offsets of layer j's output cells from the argmax cell
        vy = ((iy + off) >= 0) & ((iy + off) < fs)
        vx = ((ix + off) >= 0) & ((ix + off) < fs)
        masks.append((vy[:, :, None] & vx[:, None, :]).to(dtype)[:, None])
    return masks


def _box(ix, iy, size, offset, fs: int) -> torch.Tensor:
    return torch.cat([(ix.to(torch.float) + offset[:, :1]) / fs, (iy.to(torch.float) + offset[:, 1:]) / fs,
                      size], dim=1)


def head_decode_fast(head: "CenterPredictor", feat: torch.Tensor, window: torch.Tensor):
    """Score map, Hann-weighted argmax and box: ``(bbox (B, 4) normalised cx, cy, w, h, response (B, 1, F, F))``.

    Equal to ``cal_bbox(window * score_map, size_map, offset_map)`` of the full head.
    """
    fs = head.feat_sz
    x = feat
    for i in range(1, 6):
        x = getattr(head, f"conv{i}_ctr")(x)
    response, iy, ix = _argmax_cell(head, x, window)
    r = _HEAD_RADIUS
    steps = torch.arange(2 * r + 1, device=feat.device)
    rows, cols = iy + steps, ix + steps  # window rows/cols in the map padded by r
    padded = F.pad(feat, (r, r, r, r))
    bidx = torch.arange(feat.shape[0], device=feat.device)[:, None, None]
    # advanced indexing leaves channels last; oneDNN would re-lay the weights out on every call
    win = padded[bidx, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()
    masks = _window_masks(iy, ix, fs, feat.dtype)
    size = _clamped_sigmoid(_window_branch(head, "size", win, masks))
    offset = _window_branch(head, "offset", win, masks)
    return _box(ix, iy, size, offset, fs), response


def _bn_relu(bn, x: torch.Tensor) -> torch.Tensor:
    # rows × channels: batch_norm's per-channel affine over dim 1, as on the (B, C, H, W) map
    return F.relu(F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))


def _taps(n: int, fs: int, index: torch.Tensor | None, device) -> torch.Tensor:
    """Where each (token, 3×3 tap) product lands: ``(B or 1, n, 9)`` flat cells of the map padded by 1.

    Token q feeds output cell q − (ky − 1, kx − 1) through tap (ky, kx); in the padded map that is row
    qy − ky + 2, column qx − kx + 2.
    """
    q = torch.arange(n, device=device)[None] if index is None else index
    k = torch.arange(3, device=device)
    rows = (q // fs)[..., None, None] - k[:, None] + 2
    cols = (q % fs)[..., None, None] - k[None, :] + 2
    return (rows * (fs + 2) + cols).flatten(-2)


def _score_conv1(conv1, tokens: torch.Tensor, index: torch.Tensor | None, fs: int, gemm: GemmCache) -> torch.Tensor:
    """The score branch's first 3×3 convolution ``(B, F·F, C_out)`` from the search tokens ``(B, n, C)`` at
    the map positions ``index`` (``None``: all, in order): every token times all 9 taps in one GEMM, the
    products added into the cells they feed. Eliminated tokens are zero in the map, so they add nothing and
    are never multiplied (CE 0.7 at 256 px: 88 of 256 tokens, a third of the im2col GEMM's work)."""
    b, n, _ = tokens.shape
    out_c = conv1.out_channels
    prods = gemm.linear(tokens, conv1.weight, layout="taps").view(b, n * 9, out_c)
    cells = _taps(n, fs, index, tokens.device).expand(b, -1, -1).reshape(b, n * 9)
    side = fs + 2
    flat = _flat_rows(cells, side * side)
    padded = tokens.new_zeros(b * side * side, out_c).index_add_(0, flat, prods.view(-1, out_c))
    return padded.view(b, side, side, out_c)[:, 1:fs + 1, 1:fs + 1].reshape(b, fs * fs, out_c) + conv1.bias


def head_decode_tokens(head: "CenterPredictor", tokens: torch.Tensor, window: torch.Tensor,
                       gemm: GemmCache | None = None, kept: torch.Tensor | None = None,
                       index: torch.Tensor | None = None):
    """:func:`head_decode_fast` on the search tokens ``(B, F·F, C)`` (eliminated positions zero).

    ``kept`` ``(B, n, C)``: the tokens CE kept, at map positions ``index`` ``(B, n)`` (both ``None``: every
    token is kept). With packed GEMMs the first 3×3 convolution of every branch runs on GEMMs: for the
    score branch over all cells from the kept tokens (:func:`_score_conv1`), then, for size and offset
    together, one GEMM on the 3×3 neighbourhoods (im2col) of the 7×7 cells of the argmax window that
    layer 1 feeds.
    """
    b, ns, c = tokens.shape
    fs = head.feat_sz
    conv1, bn1, _ = head.conv1_ctr
    if gemm is None or not gemm.handles(tokens, conv1.weight):
        return head_decode_fast(head, tokens.transpose(1, 2).reshape(b, c, fs, fs), window)
    if kept is None:
        kept, index = tokens, None
    x = _bn_relu(bn1, _score_conv1(conv1, kept, index, fs, gemm).view(b * ns, -1))
    x = x.view(b, fs, fs, -1).permute(0, 3, 1, 2).contiguous()
    for i in range(2, 6):
        x = getattr(head, f"conv{i}_ctr")(x)
    response, iy, ix = _argmax_cell(head, x, window)
    masks = _window_masks(iy, ix, fs, tokens.dtype)
    # layer 1's 7×7 output cells; those outside the map read a clamped cell and are masked to zero after
    off = torch.arange(-(_HEAD_RADIUS - 1), _HEAD_RADIUS, device=tokens.device)
    cy, cx = (iy + off).clamp(0, fs - 1), (ix + off).clamp(0, fs - 1)
    side = fs + 2
    cells = (cy[:, :, None] * side + cx[:, None, :]).view(b, -1)  # top-left of each cell's 3×3 in the padded map
    k = torch.arange(3, device=tokens.device)
    taps = (k[:, None] * side + k[None, :]).flatten()  # (ky, kx) order, as the "conv" layout's columns
    flat = _flat_rows(cells[:, :, None] + taps, side * side)
    grid = F.pad(tokens.view(b, fs, fs, c), (0, 0, 1, 1, 1, 1)).view(b * side * side, c)  # the zero padding
    rows = grid.index_select(0, flat).view(b, cells.shape[1], 9 * c)
    size1, offset1 = head.conv1_size, head.conv1_offset
    both = gemm.linear(rows, (size1[0].weight, offset1[0].weight), torch.cat([size1[0].bias, offset1[0].bias]),
                       layout="conv").view(b * cells.shape[1], -1)
    win_side = 2 * _HEAD_RADIUS - 1
    out = {}
    for name, part, seq in (("size", both[:, :size1[0].out_channels], size1),
                            ("offset", both[:, size1[0].out_channels:], offset1)):
        win = _bn_relu(seq[1], part).view(b, win_side, win_side, -1).permute(0, 3, 1, 2).contiguous() * masks[0]
        out[name] = _window_branch(head, name, win, masks, first=2)
    return _box(ix, iy, _clamped_sigmoid(out["size"]), out["offset"], fs), response
