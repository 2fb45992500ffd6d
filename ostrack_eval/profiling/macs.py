"""Parameter and multiply-accumulate (MAC) counts of one OSTrack forward (batch 1, template + search).

Two conventions:

* **paper** — the module-level count the OSTrack paper reports (Tables 3/A4), made with thop: forward
  hooks on Conv/Linear/norm modules with thop's default rules. Operations outside those modules — the
  attention matmuls ``q·kᵀ`` and ``attn·v``, softmax, GELU, additions — count zero.
* **full** — every matmul and convolution as ``torch.utils.flop_counter.FlopCounterMode`` sees them
  (MACs = FLOPs / 2), so the attention matmuls are in.

Counting runs the real forward, so it sees the shapes candidate elimination actually leaves. The
number of kept tokens is ``ceil(ρ·n)`` whatever the template mask and the weights, so counts are
taken on the ``meta`` device (shapes only, no memory, no arithmetic) with every template row ranking
(``ALL``, as the official profiling script calls the model); tests check this against real forwards.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.factory import config_for_spec
from ostrack_eval.trackers.model import OSTrack, build_model
from ostrack_eval.trackers.registry import TrackerSpec

# (module, positional inputs, output) -> MACs of that call
Rule = Callable[[nn.Module, tuple, torch.Tensor], int]


def _conv_macs(m: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # thop >= 0.1: output elements × input channels per group × kernel area; the bias add is not counted
    return output.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)


def _linear_macs(m: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * m.in_features


def _norm_macs(m: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # thop's count_normalization: 2 per element (centre, scale), doubled by an affine transform
    ops = 2 * inputs[0].numel()
    affine = getattr(m, "affine", False) or getattr(m, "elementwise_affine", False)
    return 2 * ops if affine else ops


def _softmax_macs(m: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # thop's count_softmax: exp + add + div per feature (only for nn.Softmax modules; OSTrack calls
    # the functional softmax, which thop cannot see)
    x = inputs[0]
    features = x.shape[m.dim]
    return (x.numel() // features) * (3 * features - 1)


# Part of thop's default rule table (``thop.profile.register_hooks``), keyed by exact type as thop looks
# them up; every other type counts zero here. The OSTrack models hold only Conv2d, Linear, BatchNorm2d and
# LayerNorm of these, plus ReLU and GELU, which thop counts zero too. The 1-d/3-d and Softmax rules are
# thop's, kept so that a user-modified model is counted the way thop would count it (thop's pooling,
# transposed-conv, InstanceNorm, upsampling and RNN rules are not reproduced).
PAPER_RULES: dict[type[nn.Module], Rule] = {
    nn.Conv1d: _conv_macs,
    nn.Conv2d: _conv_macs,
    nn.Conv3d: _conv_macs,
    nn.Linear: _linear_macs,
    nn.BatchNorm1d: _norm_macs,
    nn.BatchNorm2d: _norm_macs,
    nn.BatchNorm3d: _norm_macs,
    nn.LayerNorm: _norm_macs,
    nn.Softmax: _softmax_macs,
}


def module_macs(model: nn.Module, *args, rules: dict[type[nn.Module], Rule] = PAPER_RULES, **kwargs) -> int:
    """MACs of ``model(*args, **kwargs)`` summed over forward hooks on the modules ``rules`` knows."""
    total = 0

    def hook(module: nn.Module, inputs: tuple, output) -> None:
        nonlocal total
        total += rules[type(module)](module, inputs, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m) in rules]
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def flop_counter_macs(model: nn.Module, *args, **kwargs) -> int:
    """MACs of ``model(*args, **kwargs)`` as torch's FLOP counter sees them (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*args, **kwargs)
    return counter.get_total_flops() // 2


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_inputs(cfg: OSTrackConfig, device: str | torch.device = "meta") -> tuple[torch.Tensor, torch.Tensor]:
    """A batch-1 (template, search) pair of the config's crop sizes."""
    z = torch.zeros(1, 3, cfg.template_size, cfg.template_size, device=device)
    x = torch.zeros(1, 3, cfg.search_size, cfg.search_size, device=device)
    return z, x


def meta_model(cfg: OSTrackConfig) -> OSTrack:
    """The network with shape-only parameters: building and running it costs no memory or arithmetic."""
    with torch.device("meta"):
        return build_model(cfg)


@dataclass(frozen=True)
class ModelCounts:
    params: int
    macs_paper: int
    macs_full: int

    @property
    def macs_paper_g(self) -> float:
        return self.macs_paper / 1e9

    @property
    def macs_full_g(self) -> float:
        return self.macs_full / 1e9


@functools.lru_cache(maxsize=64)
def model_counts(cfg: OSTrackConfig) -> ModelCounts:
    """Parameters and both MAC counts of one batch-1 forward of ``cfg`` (deterministic, so cached)."""
    model = meta_model(cfg)
    z, x = example_inputs(cfg)
    # the faithful attention path: the fast one adds the explicit CE ranking rows on top of the fused kernel
    model.fast = False
    return ModelCounts(params=count_parameters(model), macs_paper=module_macs(model, z, x),
                       macs_full=flop_counter_macs(model, z, x))


def paper_macs(spec: TrackerSpec) -> float:
    """GMACs of one forward in the paper's (thop) convention, e.g. 21.5 for ``ostrack256``."""
    return model_counts(config_for_spec(spec)).macs_paper_g


def full_macs(spec: TrackerSpec) -> float:
    """GMACs of one forward including the attention matmuls (torch FLOP counter / 2)."""
    return model_counts(config_for_spec(spec)).macs_full_g
