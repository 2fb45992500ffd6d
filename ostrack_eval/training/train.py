"""The training loop of ``ostrack-tiny``: seeded, deterministic on CPU, CE active as in the official code.

Official settings kept: AdamW (weight decay 1e-4), gradient clipping at norm 0.1, a ×0.1 learning-rate
drop at 80 % of training (epoch 240 of 300), candidate elimination active in training with the official
actor's keep-rate schedule (ρ = 1 until CE_START, then a cosine down to ρ over CE_WARM) and the centre
template token ranking the search tokens. Changed for a from-scratch CPU run: no MAE pre-training (so one
learning rate for backbone and head, a short linear warm-up, and CE starting later, see ``TrainConfig``),
no drop-path, a step budget instead of epochs, batch 16 instead of 32.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.training.losses import tracking_loss
from ostrack_eval.training.pairs import Batch, PairConfig, PairSampler, TrainSequence, collate
from ostrack_eval.utils.atomic import atomic_open

SequenceSource = Callable[[int], TrainSequence]


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 4000
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 0.1
    warmup_steps: int = 100
    lr_drop_at: float = 0.8
    # CE keep-rate schedule, as fractions of the run. The official 20/300 and 80/300 epochs start from an MAE
    # backbone whose attention already ranks tokens; from scratch the ranking is noise that early, so
    # elimination starts later (ρ = 1 for the first 15 %, cosine down to ρ by 50 %).
    ce_start: float = 0.15
    ce_warm: float = 0.35
    pool_size: int = 32  # generated sequences held in memory at once
    refresh_every: int = 8  # one pool sequence is replaced by a fresh one every this many steps


# Score-map prior of CenterNet/RetinaNet: the centre branch starts at sigmoid = 0.1 instead of 0.5, which
# keeps the first focal-loss values (summed over every cell, divided by one positive) from dwarfing the rest.
_SCORE_PRIOR = 0.1


def init_weights(model: OSTrack) -> None:
    """The official initialisation (ViT linears and position embeddings trunc-normal 0.02, head xavier),
    plus the CenterNet score prior on the centre branch's last bias (the official model starts from MAE)."""
    for m in model.backbone.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for p in (model.backbone.pos_embed_z, model.backbone.pos_embed_x, model.backbone.pos_embed,
              model.backbone.cls_token):
        nn.init.trunc_normal_(p, std=0.02)
    for p in model.box_head.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    nn.init.constant_(model.box_head.conv5_ctr.bias, -math.log((1 - _SCORE_PRIOR) / _SCORE_PRIOR))


def new_model(cfg: OSTrackConfig, seed: int) -> OSTrack:
    torch.manual_seed(seed)
    model = OSTrack(cfg)
    init_weights(model)
    return model


def keep_rate_at(step: int, total: int, cfg: TrainConfig, base_keep: float) -> float:
    """The official ``adjust_keep_rate`` with epochs replaced by fractions of the step budget."""
    start = cfg.ce_start * total
    warm = cfg.ce_warm * total
    if step < start:
        return 1.0
    if step >= start + warm:
        return base_keep
    return base_keep + (1 - base_keep) * (math.cos((step - start) / warm * math.pi) + 1) * 0.5


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    lr = cfg.lr * (0.1 if step >= cfg.lr_drop_at * total else 1.0)
    if step < cfg.warmup_steps:
        lr *= (step + 1) / cfg.warmup_steps
    return lr


class PairStream:
    """Batches of pairs from a rolling pool of generated sequences, all draws from one seeded generator."""

    def __init__(self, source: SequenceSource, pair_cfg: PairConfig, cfg: TrainConfig):
        self.source = source
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.sampler = PairSampler(pair_cfg, self.rng)
        self.pool = [source(i) for i in range(cfg.pool_size)]
        self.next_index = cfg.pool_size
        self.batches = 0

    def _refresh(self) -> None:
        slot = int(self.rng.integers(len(self.pool)))
        self.pool[slot] = self.source(self.next_index)
        self.next_index += 1

    def next_batch(self) -> Batch:
        if self.batches and self.batches % self.cfg.refresh_every == 0:
            self._refresh()
        self.batches += 1
        pairs = []
        while len(pairs) < self.cfg.batch_size:
            pair = self.sampler.sample(self.pool[int(self.rng.integers(len(self.pool)))])
            if pair is not None:
                pairs.append(pair)
        return collate(pairs)


def train_step(model: OSTrack, optimizer: torch.optim.Optimizer, batch: Batch, keep_rate: float,
               grad_clip: float) -> dict[str, float]:
    cfg = model.cfg
    model.train()
    mask = None
    if cfg.ce_loc:
        mask = template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, batch.template.shape[0],
                             batch.template_box)
    out = model(batch.template, batch.search, ce_template_mask=mask, ce_keep_rate=keep_rate)
    loss, stats = tracking_loss(out, batch.search_box, cfg.search_size, cfg.patch_size)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return stats


def make_optimizer(model: OSTrack, cfg: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def pair_config_for(cfg: OSTrackConfig) -> PairConfig:
    return PairConfig(template_size=cfg.template_size, template_factor=cfg.template_factor,
                      search_size=cfg.search_size, search_factor=cfg.search_factor)


@dataclass
class TrainResult:
    model: OSTrack
    history: list[dict[str, float]]
    seconds: float
    steps: int


def train(model_cfg: OSTrackConfig, source: SequenceSource, cfg: TrainConfig, minutes: float | None = None,
          log: Callable[[str], None] | None = None, log_every: int = 100) -> TrainResult:
    """Train from scratch for ``cfg.steps`` steps.

    With ``minutes`` the step budget is sized to that wall-clock time from the speed of the first
    ``calibrate`` steps (the schedules do not depend on the budget that early), and the chosen number of
    steps is returned: pass it as ``steps`` to reproduce the run exactly.
    """
    model = new_model(model_cfg, cfg.seed)
    optimizer = make_optimizer(model, cfg)
    stream = PairStream(source, pair_config_for(model_cfg), cfg)
    base_keep = min(model_cfg.ce_keep_ratio) if model_cfg.ce_loc else 1.0
    calibrate = min(30, cfg.warmup_steps) if minutes is not None else 0
    # while calibrating the budget is unknown: an unbounded one gives the schedules' early values (ρ = 1,
    # warm-up learning rate), the same as every budget the calibration can pick
    total = cfg.steps if minutes is None else 2**62
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(total=cfg.steps if minutes is None else None, desc="train ostrack-tiny", unit="step", disable=None)
    step = 0
    while step < total:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, total, cfg)
        keep = keep_rate_at(step, total, cfg, base_keep)
        stats = train_step(model, optimizer, stream.next_batch(), keep, cfg.grad_clip)
        stats.update(step=step, lr=optimizer.param_groups[0]["lr"], keep_rate=keep)
        history.append(stats)
        step += 1
        bar.update(1)
        if step == calibrate:
            elapsed = time.perf_counter() - start
            # at least enough steps that CE had not started during calibration, so --steps reproduces the run
            total = max(math.ceil(calibrate / cfg.ce_start) + 1, int(minutes * 60 / (elapsed / calibrate)))
            bar.total = total
            bar.refresh()
        if log is not None and (step % log_every == 0 or step == total):
            recent = history[-log_every:]
            means = {k: float(np.mean([h[k] for h in recent])) for k in ("loss", "focal", "giou", "l1", "iou")}
            log(f"step {step}/{total} " + " ".join(f"{k} {v:.4f}" for k, v in means.items())
                + f" keep {keep:.3f} lr {stats['lr']:.2e} {time.perf_counter() - start:.0f}s")
    bar.close()
    model.eval()
    return TrainResult(model, history, time.perf_counter() - start, total)


def checkpoint_meta(model_cfg: OSTrackConfig, cfg: TrainConfig, result: TrainResult, extra: dict) -> dict:
    """Plain-type description of a run, stored beside the weights (``torch.load(weights_only=True)`` safe)."""
    last = result.history[-min(100, len(result.history)):]
    return {
        "tracker": model_cfg.name,
        "model_config": model_cfg.to_dict(),
        "train_config": asdict(replace(cfg, steps=result.steps)),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "final_loss": float(np.mean([h["loss"] for h in last])),
        "final_iou": float(np.mean([h["iou"] for h in last])),
        "torch": str(torch.__version__),
        "threads": torch.get_num_threads(),
        **extra,
    }


def save_checkpoint(path: str | Path, model: OSTrack, meta: dict) -> None:
    """Official layout ``{'net': state_dict}`` plus ``meta``; written atomically."""
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    with atomic_open(path, "wb") as fh:
        torch.save({"net": state, "meta": meta}, fh)
