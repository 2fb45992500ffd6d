"""The recipe of the shipped ``ostrack-tiny`` checkpoint: its data source, budget and reproduction command."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ostrack_eval.trackers.config import get_preset
from ostrack_eval.training.pairs import TrainSequence
from ostrack_eval.training.train import TrainConfig, TrainResult, checkpoint_meta, train

TINY = "ostrack-tiny"
# Steps of the shipped checkpoint (ostrack_eval/trackers/weights/ostrack_tiny.pth.tar); ``train-tiny`` default.
TINY_TRAIN = TrainConfig(seed=0, steps=6000)


def demo_train_source(seed: int) -> Callable[[int], TrainSequence]:
    """Sequence ``i`` of the demo generator's TRAIN split (disjoint from the demo benchmark's test split)."""
    from ostrack_eval.datasets.synth import generate_sequence

    def source(index: int) -> TrainSequence:
        seq = generate_sequence(seed * 1_000_003 + index, split="train")
        return TrainSequence(list(seq.frames), np.asarray(seq.ground_truth, dtype=np.float64),
                             np.asarray(seq.visible, dtype=bool))

    return source


def reproduce_command(meta: dict) -> str:
    threads = f" --threads {meta['threads']}" if meta.get("threads", 1) != 1 else ""
    return f"ostrack-eval train-tiny --seed {meta['seed']} --steps {meta['steps']}{threads} --out ostrack-tiny.pth.tar"


def train_tiny(seed: int = 0, steps: int | None = None, minutes: float | None = None,
               log: Callable[[str], None] | None = None) -> tuple[TrainResult, dict]:
    model_cfg = get_preset(TINY)
    cfg = replace(TINY_TRAIN, seed=seed, steps=steps if steps is not None else TINY_TRAIN.steps)
    result = train(model_cfg, demo_train_source(seed), cfg, minutes=minutes, log=log, log_every=50)
    meta = checkpoint_meta(model_cfg, cfg, result, {"seed": seed, "data": "demo generator, train split"})
    return result, meta
