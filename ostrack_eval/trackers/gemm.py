"""The fast path's linear layers on the CPU in fp32: MKL's packed-weight sgemm or oneDNN's matmul.

Two backends, both faster here than ``F.linear`` (aten's MKL sgemm, which re-lays the weight out on every
call), and the same products up to fp32 rounding:

* ``mkl``: MKL holds each weight in its own blocked layout (``cblas_sgemm_pack``) and multiplies by it
  many times (``cblas_sgemm_compute``). A pack belongs to one weight, one row count M and one thread count
  (MKL documents the pack for the ``m, n, k`` and threads it was made with), so packs are made on first use
  of each and a few are kept per weight, least recently used dropped: tracking one sequence needs one per
  layer, batched tracking one per batch size in use (small batches only: see :data:`PACK_MAX_ROWS`). A pack
  takes about the weight's memory (7 MB for a ViT-B qkv layer).
* ``onednn``: oneDNN's JIT matmul (``mkldnn::_linear_pointwise``) on the weight as it is; nothing is kept.

Which is faster depends on the CPU. MKL picks its best kernels on Intel's own CPUs; oneDNN generates its
code for the ISA it finds. Measured (``bench/bench_fast.py``; 2 threads; ViT-B shapes, M = 89–320 rows):

* Intel Xeon, AVX-512: MKL packs 10–20 % faster than ``F.linear``, near a large square sgemm's rate.
* AMD EPYC (Zen 1), AVX2: oneDNN 65–71 GFLOP/s against MKL packs' 49–65 (M = 89: 65 vs 49), a 2048² sgemm
  70; the ostrack256-CE fast step 663 vs 719 ms.
* AMD EPYC (Zen 3), AVX2: the two within noise of each other (2048² sgemm: MKL 124–142 GFLOP/s, oneDNN
  128–134; the fast step 371–410 ms on oneDNN, 372–403 on MKL packs).
* AMD EPYC (Zen 5), AVX-512: oneDNN 308–408 GFLOP/s against MKL packs' 113–168 and ``F.linear``'s 118–185;
  a 2048² sgemm 420 on oneDNN, 170–190 on MKL; the fast step 124–166 ms on oneDNN, 251–307 on MKL packs.

So ``auto`` (:func:`default_backend`) takes MKL on Intel CPUs and oneDNN on the others.

Weights can be used as they are (``layout="plain"``) or through a named rearrangement made once per
weight version (:data:`LAYOUTS`: a convolution's weight as a GEMM's). Under ``torch.compile`` each call is
one opaque custom op (``ostrack_eval::packed_linear``) that does the same lookup when the compiled code
runs, so Inductor fuses everything around the GEMMs and the GEMMs keep their backend and packs.

Used only where it applies: CPU, float32, no autocast, no autograd; everywhere else
:meth:`GemmCache.linear` is ``F.linear`` on the rearranged weight. Under inference autocast (``--dtype``,
any device) it keeps a bf16/fp16 copy of each linear weight instead, so the weights are not cast again on
every step; the values are autocast's own.
"""

from __future__ import annotations

import collections
import functools
import itertools
import platform
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F

_MKL = torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear")
_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
BACKENDS = ("auto", "mkl", "onednn", "aten")
# above this many rows sgemm's own packing is amortised (measured: +20 % at 320 rows, +7 % at 640, +2 % at
# 2560; the fast step at batch 8 ran as fast unpacked): no pack, no memory for one
PACK_MAX_ROWS = 2048
# smaller weights are left to F.linear: the pack lookup costs more than it saves (ostrack-tiny, 64 wide:
# 5.5 ms per step packed, 5.1 plain); ViT-B's smallest weight has 590k elements
PACK_MIN_ELEMENTS = 1 << 18


def mkl_packing_available() -> bool:
    return _MKL


def onednn_available() -> bool:
    return _ONEDNN


def backend_available(name: str) -> bool:
    return {"mkl": _MKL, "onednn": _ONEDNN, "aten": True}[name]


@functools.cache
def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, …; ``/proc/cpuinfo`` on Linux, else the
    platform's processor description); empty when unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    text = platform.processor()
    return "GenuineIntel" if "GenuineIntel" in text else text


def default_backend(vendor: str | None = None) -> str:
    """``auto``'s choice: MKL packs on Intel CPUs, oneDNN elsewhere (see the module notes); the other when
    one is missing from this torch build; ``aten`` (plain ``F.linear``) when both are."""
    vendor = cpu_vendor() if vendor is None else vendor
    order = ("mkl", "onednn") if vendor == "GenuineIntel" else ("onednn", "mkl")
    return next((b for b in order if backend_available(b)), "aten")


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` on oneDNN's matmul (CPU, float32; see :func:`onednn_available`)."""
    # some strided weights send oneDNN to its reference kernel (a 320×64 view of a q/k/v row block:
    # 185 ms a call instead of 0.35); parameters and layouts are contiguous, so this costs nothing
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight.contiguous(), bias, "none", [], "")


def _conv_as_gemm(weights: list[torch.Tensor]) -> torch.Tensor:
    """Convolution weights ``(N, C, kh, kw)`` stacked along N as one ``(ΣN, kh·kw·C)`` GEMM weight, columns
    in (ky, kx, c) order: what rows of neighbourhoods gathered from channel-last maps multiply."""
    return torch.cat([w.permute(0, 2, 3, 1).reshape(w.shape[0], -1) for w in weights])


def _taps_as_gemm(weights: list[torch.Tensor]) -> torch.Tensor:
    """A convolution weight ``(N, C, kh, kw)`` as ``(kh·kw·N, C)``, rows in (ky, kx, n) order: one token's
    products with every tap, for adding into the cells each tap feeds."""
    (w,) = weights
    return w.permute(2, 3, 0, 1).reshape(-1, w.shape[1])


def _patches_as_gemm(weights: list[torch.Tensor]) -> torch.Tensor:
    """A patch-embedding convolution weight ``(N, C, k, k)`` as ``(N, C·k·k)``: columns in (c, ky, kx) order."""
    (w,) = weights
    return w.reshape(w.shape[0], -1)


LAYOUTS = {"plain": lambda weights: weights[0], "conv": _conv_as_gemm, "patches": _patches_as_gemm,
           "taps": _taps_as_gemm,
           "bf16": lambda weights: weights[0].to(torch.bfloat16), "fp16": lambda weights: weights[0].to(torch.float16)}
_CAST_LAYOUTS = {torch.bfloat16: "bf16", torch.float16: "fp16"}
_LOW_DTYPES = {name: dtype for dtype, name in _CAST_LAYOUTS.items()}

_HANDLES = itertools.count()
_CACHES: "weakref.WeakValueDictionary[int, GemmCache]" = weakref.WeakValueDictionary()


class GemmCache:
    """The CPU GEMMs of one model (packed weights, rearranged weights: made on first use).

    ``backend``: one of :data:`BACKENDS` (``auto``: :func:`default_backend`; ``aten``: every call
    ``F.linear``, as ``enabled=False``). A backend this torch build lacks is an error.
    """

    def __init__(self, per_weight: int = 3, enabled: bool = True, min_elements: int = PACK_MIN_ELEMENTS,
                 backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"GEMM backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self._requested = backend  # what a copy or an unpickled cache resolves again, on its own machine
        self.backend = default_backend() if backend == "auto" else backend
        if not backend_available(self.backend):
            raise ValueError(f"this torch build has no {self.backend} GEMMs")
        self.per_weight = per_weight
        self.enabled = enabled
        self.min_elements = min_elements
        # id(weight) -> (weakref to it, packs by (storage, version, rows, threads)); the weakref tells a
        # new tensor that got a dead one's id apart from it
        self._packs: dict[int, tuple[weakref.ref, collections.OrderedDict]] = {}
        self._layouts: dict[tuple, tuple[tuple, tuple, torch.Tensor]] = {}
        # compiled code finds this cache by its handle (an int the graph can hold)
        self._handle = next(_HANDLES)
        _CACHES[self._handle] = self

    def handles(self, x: torch.Tensor, *weights: torch.Tensor) -> bool:
        """Whether ``x`` times these weights goes through this cache's backend (the fast path then also
        lays convolutions out as GEMMs on it)."""
        # called per layer per step: cheapest tests first, no generators
        if not (self.enabled and self.backend != "aten" and x.dtype == torch.float32 and x.device.type == "cpu"):
            return False
        size = 0
        for w in weights:
            if w.dtype != torch.float32:
                return False
            size += w.numel()
        return size >= self.min_elements and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")

    def linear(self, x: torch.Tensor, weights: torch.Tensor | tuple[torch.Tensor, ...],
               bias: torch.Tensor | None = None, layout: str = "plain") -> torch.Tensor:
        """``F.linear(x, LAYOUTS[layout](weights), bias)`` for any leading dims."""
        if isinstance(weights, torch.Tensor):
            if layout == "plain" and not self.handles(x, weights):
                low = self._autocast_dtype(x, weights)
                if low is None:
                    return F.linear(x, weights, bias)
                return F.linear(x.to(_LOW_DTYPES[low]), self._layout([weights], low),
                                None if bias is None else self._layout([bias], low))
            weights = [weights]
        else:
            weights = list(weights)
        if not self.handles(x, *weights):
            return F.linear(x, LAYOUTS[layout](weights), bias)
        if torch.compiler.is_compiling():
            return torch.ops.ostrack_eval.packed_linear(x, weights, bias, layout, self._handle)
        return self._linear(x, weights, bias, layout)

    def _autocast_dtype(self, x: torch.Tensor, weight: torch.Tensor) -> str | None:
        """Under inference autocast (eager), the layout name of the autocast dtype: autocast would cast the
        fp32 weight again on every step (its cast cache lives one ``autocast`` context); a copy cast once
        per weight version has the same values."""
        if not self.enabled or weight.dtype != torch.float32 or torch.compiler.is_compiling():
            return None
        device = x.device.type
        if torch.is_grad_enabled() or not torch.is_autocast_enabled(device):
            return None  # training needs autocast's own casts: gradients flow through them
        return _CAST_LAYOUTS.get(torch.get_autocast_dtype(device))

    def _linear(self, x: torch.Tensor, weights: list[torch.Tensor], bias: torch.Tensor | None,
                layout: str) -> torch.Tensor:
        weight = weights[0] if layout == "plain" else self._layout(weights, layout)
        k = x.shape[-1]
        rows = x.numel() // k
        if rows == 0 or (self.backend == "mkl" and rows > PACK_MAX_ROWS):
            return F.linear(x, weight, bias)
        gemm = self._onednn if self.backend == "onednn" else self._mkl
        return gemm(x.reshape(rows, k), weight, bias).view(*x.shape[:-1], weight.shape[0])

    def _mkl(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        rows = x.shape[0]
        return torch.ops.mkl._mkl_linear(x.contiguous(), self._pack(weight, rows), weight, bias, rows)

    @staticmethod
    def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return onednn_linear(x, weight, bias)

    def _layout(self, sources: list[torch.Tensor], layout: str) -> torch.Tensor:
        """The rearranged weight, remade when a source changes (storage, in-place version, identity)."""
        stamp = tuple((s.data_ptr(), s._version) for s in sources)
        key = (layout, tuple(id(s) for s in sources))
        hit = self._layouts.get(key)
        if hit is not None and hit[1] == stamp and all(r() is s for r, s in zip(hit[0], sources)):
            return hit[2]
        if hit is not None:
            self._packs.pop(id(hit[2]), None)
        tensor = LAYOUTS[layout](sources).contiguous()
        self._layouts[key] = (tuple(weakref.ref(s) for s in sources), stamp, tensor)
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
        self._layouts.clear()

    def __len__(self) -> int:
        """MKL packs held."""
        return sum(len(p) for _, p in self._packs.values())

    # packs are opaque MKL buffers: a copied or pickled model starts with an empty cache
    def __deepcopy__(self, memo) -> "GemmCache":
        return GemmCache(**self.__getstate__())

    def __getstate__(self) -> dict:
        return {"per_weight": self.per_weight, "enabled": self.enabled, "min_elements": self.min_elements,
                "backend": self._requested}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)


@torch.library.custom_op("ostrack_eval::packed_linear", mutates_args=())
def _packed_linear_op(x: torch.Tensor, weights: list[torch.Tensor], bias: torch.Tensor | None, layout: str,
                      handle: int) -> torch.Tensor:
    cache = _CACHES.get(handle)
    if cache is None:  # the model is gone but its compiled step is still called
        return F.linear(x, LAYOUTS[layout](weights), bias)
    return cache._linear(x, weights, bias, layout)


@_packed_linear_op.register_fake
def _(x, weights, bias, layout, handle):
    return x.new_empty(*x.shape[:-1], LAYOUTS[layout](weights).shape[0])
