"""fp32 GEMMs on MKL's packed-weight sgemm, for the fast path's eager CPU steps.

MKL can hold a weight matrix in its own blocked layout (``cblas_sgemm_pack``) and multiply by it many times
(``cblas_sgemm_compute``) instead of re-laying it out on every call, as ``F.linear`` does. On this
project's 2-core AVX-512 test machine that made the fast path's GEMMs (M = 49–2560 rows, K, N = 768–6912)
run at 265–330 GFLOP/s against 200–260 for ``F.linear`` on the same shapes (``bench/bench_fast.py``).
The products are the same sgemm's: equal to ``F.linear`` or within fp32 rounding (another K blocking).

A pack belongs to one weight, one row count M and one thread count (MKL documents the pack for the
``m, n, k`` and threads it was made with), so packs are made on first use of each and a few are kept per
weight, least recently used dropped: tracking one sequence needs one per layer; batched tracking one per
batch size in use. A pack takes about the weight's memory (7 MB for a ViT-B qkv layer).

Used only where it applies: CPU, float32, no autocast, no autograd, not under ``torch.compile`` (which
would trace Python-side caching); everywhere else :meth:`GemmCache.linear` is ``F.linear``.
"""

from __future__ import annotations

import collections
import weakref
from typing import Callable

import torch
import torch.nn.functional as F

_MKL = torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear")


def mkl_packing_available() -> bool:
    return _MKL


class GemmCache:
    """Packed weights of one model, created on first use; ``enabled=False`` makes every call ``F.linear``."""

    def __init__(self, per_weight: int = 3, enabled: bool = True):
        self.per_weight = per_weight
        self.enabled = enabled
        # id(weight) -> (weakref to it, packs by (storage, version, rows, threads)); the weakref tells a
        # new tensor that got a dead one's id apart from it
        self._packs: dict[int, tuple[weakref.ref, collections.OrderedDict]] = {}
        self._derived: dict[tuple, tuple[tuple, tuple, torch.Tensor]] = {}

    def active(self, x: torch.Tensor) -> bool:
        """Whether ``x`` would go through packed GEMMs (the fast path then also lays convolutions out as GEMMs)."""
        return (self.enabled and _MKL and x.device.type == "cpu" and x.dtype == torch.float32
                and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
                and not torch.compiler.is_compiling())

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``F.linear(x, weight, bias)`` for any leading dims."""
        if not self.active(x) or weight.dtype != torch.float32 or x.numel() == 0:
            return F.linear(x, weight, bias)
        k = x.shape[-1]
        rows = x.numel() // k
        pack = self._pack(weight, rows)
        out = torch.ops.mkl._mkl_linear(x.reshape(rows, k).contiguous(), pack, weight, bias, rows)
        return out.view(*x.shape[:-1], weight.shape[0])

    def derived(self, name: str, sources: tuple[torch.Tensor, ...], make: Callable[[], torch.Tensor]) -> torch.Tensor:
        """A tensor computed from parameters (a reordered or concatenated weight), remade when they change."""
        stamp = tuple((s.data_ptr(), s._version) for s in sources)
        key = (name, tuple(id(s) for s in sources))
        hit = self._derived.get(key)
        if hit is not None and hit[1] == stamp and all(r() is s for r, s in zip(hit[0], sources)):
            return hit[2]
        if hit is not None:
            self._packs.pop(id(hit[2]), None)
        tensor = make().contiguous()
        self._derived[key] = (tuple(weakref.ref(s) for s in sources), stamp, tensor)
        return tensor

    def _pack(self, weight: torch.Tensor, rows: int) -> torch.Tensor:
        # the parameter's storage and version: a moved or reloaded weight is packed again
        key = (weight.data_ptr(), weight._version, rows, torch.get_num_threads())
        entry = self._packs.get(id(weight))
        if entry is None or entry[0]() is not weight:
            entry = self._packs[id(weight)] = (weakref.ref(weight), collections.OrderedDict())
        packs = entry[1]
        pack = packs.get(key)
        if pack is None:
            pack = packs[key] = torch.ops.mkl._mkl_reorder_linear_weight(weight.contiguous(), rows)
            while len(packs) > self.per_weight:
                packs.popitem(last=False)
        else:
            packs.move_to_end(key)
        return pack

    def clear(self) -> None:
        self._packs.clear()
        self._derived.clear()

    def __len__(self) -> int:
        return sum(len(p) for _, p in self._packs.values())

    # packs are opaque MKL buffers: a copied or pickled model starts with an empty cache
    def __deepcopy__(self, memo) -> "GemmCache":
        return GemmCache(self.per_weight, self.enabled)

    def __getstate__(self) -> dict:
        return {"per_weight": self.per_weight, "enabled": self.enabled}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)
