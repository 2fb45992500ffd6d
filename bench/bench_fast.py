"""Faithful vs fast OSTrack, side by side: model forward, end-to-end per frame, batched frames/s.

    python bench/bench_fast.py                       # CPU, 2 threads, fp32, ostrack256 (minutes)
    python bench/bench_fast.py --device cuda --batches 1,8,32 --dtype fp16 --compile reduce-overhead

Weights are random (timing does not depend on them) unless --checkpoint is given. The matmul floor is
the model's linear + conv MACs (the thop convention: 21.5 G for ostrack256-CE, attention matmuls
excluded) at the best rate of large square sgemms run back to back (on the CPU by both MKL, behind
``a @ b``, and oneDNN, whichever is faster here), interleaved with the forward
timings (a shared machine's speed drifts; every candidate takes its best round). Small GEMMs run below
that peak, so the fast path is also set against its own linear and conv calls replayed alone on the same
shapes ("its GEMMs"): what is left is the overhead of everything else (attention, norms, GELU, copies,
Python). On the CPU in fp32 the fast step is also timed on the other GEMM backends this torch has (MKL
packs, oneDNN, F.linear; ``fast`` is on the one chosen for this CPU, :mod:`ostrack_eval.trackers.gemm`).
End-to-end runs track 1280×720 JPEG frames written to a temporary folder, decoding included,
each frame searched around the previous frame's true box. Batched per-frame time is the step time
divided by the sequences in the step (as BatchedOSTrack reports it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from ostrack_eval.run.memory import retain_freed_memory
from ostrack_eval.trackers.batched import BatchedOSTrack
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import get_preset
from ostrack_eval.trackers.engine import AUTOCAST, FastOptions
from ostrack_eval.trackers.fast import TemplateState
from ostrack_eval.trackers.gemm import BACKENDS, backend_available, onednn_linear
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.ostrack_tracker import OSTrackTracker
from ostrack_eval.trackers.preprocess import hann2d
from ostrack_eval.trackers.registry import DTYPES
from ostrack_eval.utils.frames import FramePipeline, read_rgb


# column names of the CPU GEMM backends
NAMES = {"mkl": "MKL packs", "onednn": "oneDNN", "aten": "F.linear"}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class CpuShare:
    """CPU time the rest of the machine took while measuring: other processes' busy time, and the time the
    hypervisor gave the machine's CPUs to other guests (steal), both in cores (Linux ``/proc/stat``)."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0.0] * 8)[:8]
        return (user + nice + system + irq + softirq) / tick, steal / tick, time.process_time(), time.perf_counter()

    def others(self) -> tuple[float, float] | None:
        """(cores busy with other processes, cores stolen by other guests), averaged since construction."""
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[3] - self.start[3]
        busy, steal, mine = (end[i] - self.start[i] for i in range(3))
        return max(0.0, busy - mine) / wall, steal / wall


class Sgemm:
    """Large square sgemms, run back to back for about as long as a forward (a short burst can catch a
    moment the shared machine runs faster than any forward could): ``rate(seconds)`` in GFLOP/s.

    ``library``: ``"aten"`` (``a @ b``: MKL on x86 CPU builds, cuBLAS on CUDA) or ``"onednn"`` (its matmul,
    CPU only). Both count: MKL's sgemm on AMD CPUs runs well below what oneDNN reaches on the same core (a Zen 5
    EPYC: 170–200 vs ~420 GFLOP/s), and a floor at the slower library's rate would not be a floor.
    """

    def __init__(self, device: torch.device, library: str = "aten"):
        self.n = 2048 if device.type == "cpu" else 8192
        self.reps = 5 if device.type == "cpu" else 20
        self.library = library
        self.mm = torch.matmul if library == "aten" else onednn_linear
        self.a, self.b = torch.randn(self.n, self.n, device=device), torch.randn(self.n, self.n, device=device)

    def __call__(self):
        for _ in range(self.reps):
            self.mm(self.a, self.b)

    def rate(self, seconds: float) -> float:
        return 2 * self.n**3 * self.reps / seconds / 1e9


def matmul_macs(fn) -> tuple[float, float]:
    """(linear + conv MACs, attention bmm MACs) of one call, in G."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    counts = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
    dense = sum(v for k, v in counts.items() if k in ("aten.addmm", "aten.mm", "aten.convolution"))
    return dense / 2e9, counts.get("aten.bmm", 0) / 2e9


class _DenseRecorder(TorchDispatchMode):
    """Records the linear and conv calls of one forward, with their operands, to replay them alone."""

    DENSE = (torch.ops.aten.addmm.default, torch.ops.aten.mm.default, torch.ops.aten.convolution.default,
             torch.ops.mkl._mkl_linear.default, torch.ops.mkldnn._linear_pointwise.default)

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.DENSE:
            self.calls.append((func, args, kwargs))
        return func(*args, **kwargs)


def dense_replay(fn):
    """A function running just the matmuls and convolutions ``fn`` runs, on the same shapes: the floor of
    ``fn``'s own dense work at the rates this machine reaches on those shapes."""
    rec = _DenseRecorder()
    with torch.no_grad(), rec:
        fn()

    def replay():
        for func, args, kwargs in rec.calls:
            func(*args, **kwargs)
    return replay


def timed(fn, device: torch.device, iters: int) -> list[float]:
    out = []
    for _ in range(iters):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def interleaved(fns: dict, device: torch.device, iters: int) -> dict[str, list[float]]:
    """Alternate the candidates so that machine-speed drift hits them alike; one warm-up call each."""
    times = {k: [] for k in fns}
    with torch.no_grad():
        for fn in fns.values():
            fn()
        for _ in range(iters):
            for k, fn in fns.items():
                times[k] += timed(fn, device, 1)
    return times


def write_video(folder: Path, n: int, seed: int = 0) -> tuple[list[Path], list[list[float]]]:
    """n 1280×720 JPEGs of a textured square drifting over a textured background; returns paths, boxes."""
    rng = np.random.default_rng(seed)
    background = cv2.resize(rng.integers(0, 256, (45, 80, 3), dtype=np.uint8), (1280, 720),
                            interpolation=cv2.INTER_CUBIC)
    target = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (110, 90), interpolation=cv2.INTER_NEAREST)
    paths, boxes = [], []
    for i in range(n):
        img = background.copy()
        x, y = 400 + 6 * i, 300 + int(20 * np.sin(i / 5))
        img[y:y + 90, x:x + 110] = target
        paths.append(folder / f"{i:08d}.jpg")
        boxes.append([float(x), float(y), 110.0, 90.0])
        cv2.imwrite(str(paths[-1]), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths, boxes


@dataclass
class Seq:
    name: str
    frames: list[Path]
    init_box: np.ndarray


def run_sequential(tracker: OSTrackTracker, paths: list[Path], init_box, pipeline: FramePipeline | None = None,
                   forced: list | None = None) -> float:
    """Seconds per frame over frames 1.., decoding included (cv2 in the loop, or the pipeline).

    ``forced``: the true boxes; each frame is then searched around the true box of the frame before
    (teacher forcing): random weights would otherwise let the box drift and grow, and crops of thousands
    of pixels are no real workload. Without it the sequence is tracked on its own predictions.
    """
    frames = pipeline.open(paths) if pipeline is not None else (read_rgb(p) for p in paths)
    tracker.initialize(next(frames), init_box)
    t = time.perf_counter()
    n = 0
    for image in frames:
        if forced is not None:
            tracker.state = list(forced[n])
        tracker.track(image)
        n += 1
    return (time.perf_counter() - t) / n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tracker", default="ostrack256", help="preset (ostrack256, ostrack384)")
    p.add_argument("--checkpoint", help="real weights (default: random)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--batches", default=None, help="batch sizes, e.g. 1,8 (default 1,8 on CPU, 1,8,32 on CUDA)")
    p.add_argument("--iters", type=int, default=None, help="forward repetitions (default 10 CPU / 50 CUDA)")
    p.add_argument("--frames", type=int, default=None, help="frames per end-to-end sequence (default 12 / 200)")
    p.add_argument("--sequences", type=int, default=None, help="sequences in the batched run (default 8 / 32)")
    p.add_argument("--dtype", default="fp32", choices=DTYPES, help="fast-path autocast")
    p.add_argument("--compile", default=None, help="fast-path torch.compile mode")
    p.add_argument("--device-crop", action="store_true", help="fast path crops on the model's device")
    args = p.parse_args(argv)

    device = torch.device(args.device)
    cpu = device.type == "cpu"
    retain_freed_memory()  # as `ostrack-eval run` does
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in (args.batches or ("1,8" if cpu else "1,8,32")).split(",")]
    iters = args.iters or (10 if cpu else 50)
    n_frames = args.frames or (12 if cpu else 200)
    n_seqs = args.sequences or (8 if cpu else 32)
    options = FastOptions(args.dtype, args.compile, args.device_crop)

    cfg = get_preset(args.tracker)
    torch.manual_seed(0)
    model = build_model(cfg)
    if args.checkpoint:
        apply_state_dict(model, load_state_dict(args.checkpoint), args.checkpoint)
    else:
        with torch.no_grad():
            for prm in model.parameters():
                prm.normal_(0, 0.02)
    model = model.to(device).eval()
    window = hann2d(cfg.feat_sz_s).to(device)

    print(f"# {args.tracker} ({'CE ' + str(cfg.ce_keep_ratio) if cfg.ce_enabled else 'no CE'}) on {device}, "
          f"{torch.get_num_threads()} threads, fast path: {options}")
    share = CpuShare()
    libraries = ["aten"] + (["onednn"] if cpu and backend_available("onednn") else [])
    sgemms = {f"sgemm {lib}": Sgemm(device, lib) for lib in libraries}  # keys apart from the backends' own
    z1 = torch.randn(1, 3, cfg.template_size, cfg.template_size, device=device)
    x1 = torch.randn(1, 3, cfg.search_size, cfg.search_size, device=device)
    mask1 = template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, 1, device=device) \
        if cfg.ce_loc else None
    model.fast = False
    dense, attn = matmul_macs(lambda: model(z1, x1, ce_template_mask=mask1))
    tokens1 = model.backbone.embed_template(z1)
    autocast = AUTOCAST[args.dtype]
    with torch.no_grad(), torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
        state1 = TemplateState.from_mask(tokens1, mask1).with_first_block(model.backbone)  # as the tracker
    gemm = model.backbone.gemm
    gemm.enabled = False  # the flop counter knows aten's matmuls, not MKL's or oneDNN's: same shapes
    fast_dense, _ = matmul_macs(lambda: model.track_step(x1, state1.tokens, window, state1.rank_rows,
                                                            template_qkv=state1.qkv0))
    gemm.enabled = True
    chosen = gemm.backend
    others = [k for k in BACKENDS if k not in ("auto", chosen) and backend_available(k)]
    print(f"faithful model: {dense:.2f} GMACs linear+conv (+{attn:.2f} attention); "
          f"fast step: {fast_dense:.2f} GMACs linear+conv")

    # --- model forward ---------------------------------------------------------------------------------
    fast_step = model.track_step if not args.compile else torch.compile(model.track_step, mode=args.compile)
    measured = {}
    for b in batches:
        z = z1.expand(b, -1, -1, -1).contiguous()
        x = torch.randn(b, 3, cfg.search_size, cfg.search_size, device=device)
        mask = None if mask1 is None else mask1.expand(b, -1)
        state = TemplateState.cat([state1] * b)

        def faithful():
            model.fast = False
            return model(z, x, ce_template_mask=mask)

        def fast(step=fast_step):
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                return step(x, state.tokens, window, state.rank_rows, template_qkv=state.qkv0)

        def on(backend):
            def step():
                gemm.backend = backend
                try:
                    return fast()
                finally:
                    gemm.backend = chosen
            return step

        gemm.clear()
        # recorded eagerly: dynamo does not trace under a dispatch mode, and would remember the step as skipped
        candidates = {"faithful": faithful, "fast": fast, "gemms": dense_replay(lambda: fast(model.track_step)),
                      **sgemms}
        if cpu and args.dtype == "fp32" and chosen != "aten":
            candidates.update({b: on(b) for b in others})
        n = max(2, iters if b == 1 else iters * 2 // b) if cpu else iters
        measured[b] = interleaved(candidates, device, n)

    # the floor at the best sgemm rate of all rounds and libraries (a shared machine's speed drifts; rounds
    # interleave)
    library = {"aten": "aten's mm" if cpu else "cuBLAS", "onednn": "oneDNN"}
    rates = {library[sg.library]: max(sg.rate(min(t[k])) for t in measured.values()) for k, sg in sgemms.items()}
    best = max(rates, key=rates.get)
    rate = rates[best]
    floor = 2 * dense / rate
    print(f"\nmodel forward, ms per sample (min / median); matmul floor {floor * 1e3:.1f} ms "
          f"({dense:.2f} GMACs at {rate:.0f} GFLOP/s, {best}'s {sgemms['sgemm aten'].n}² sgemm"
          + "".join(f"; {name}'s: {r:.0f}" for name, r in rates.items() if name != best) + ")")
    shown = [k for k in others if k in measured[batches[0]]]
    print(f"{'batch':>5} {'faithful':>17} {'fast':>17} {'speed-up':>9} {'fast/floor':>10} "
          + "".join(f"{NAMES[k]:>9} " for k in shown) + f"{'its GEMMs':>10} {'fast/GEMMs':>10}")
    rows = {}
    for b, t in measured.items():
        slow_min, fast_min, gemm_min = (min(t[k]) / b for k in ("faithful", "fast", "gemms"))
        rows[b] = (slow_min, fast_min, gemm_min)
        print(f"{b:>5} {slow_min * 1e3:8.1f} / {statistics.median(t['faithful']) / b * 1e3:6.1f} "
              f"{fast_min * 1e3:8.1f} / {statistics.median(t['fast']) / b * 1e3:6.1f} "
              f"{slow_min / fast_min:8.2f}x {fast_min / floor:9.2f}x "
              + "".join(f"{min(t[k]) / b * 1e3:7.1f}ms " for k in shown)
              + f"{gemm_min * 1e3:8.1f}ms {fast_min / gemm_min:9.2f}x")
    if shown:
        print(f"(fast: its GEMMs on {NAMES[chosen]}, this CPU's choice; "
              + ", ".join(f"{NAMES[k]}: the fast step on {NAMES[k]}" for k in shown) + ")")
    print("(its GEMMs: the fast step's own linear and conv calls replayed alone)")

    # --- end to end ------------------------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        paths, boxes = write_video(Path(tmp), n_frames)
        print(f"\nend to end, {n_frames} JPEG frames 1280x720, decoding included, ms per frame")
        slow_tr = OSTrackTracker(model, cfg, device)
        fast_tr = OSTrackTracker(model, cfg, device, fast=True, options=options)
        e2e = {"faithful": [], "fast": [], "fast_inline": []}
        with FramePipeline(workers=2, ahead=4) as pipe:
            for _ in range(3):  # alternate, keep the best
                slow_tr.model.fast = False
                e2e["faithful"].append(run_sequential(slow_tr, paths, boxes[0], None, boxes))
                fast_tr.model.fast = True
                e2e["fast"].append(run_sequential(fast_tr, paths, boxes[0], pipe, boxes))
                e2e["fast_inline"].append(run_sequential(fast_tr, paths, boxes[0], None, boxes))
        s, f, fi = (min(e2e[k]) for k in ("faithful", "fast", "fast_inline"))
        print(f"faithful (cv2 decode in the loop)  {s * 1e3:7.1f}   {1 / s:6.2f} frames/s")
        print(f"fast (decode pipeline)             {f * 1e3:7.1f}   {1 / f:6.2f} frames/s   {s / f:.2f}x")
        print(f"fast (cv2 decode in the loop)      {fi * 1e3:7.1f}   {1 / fi:6.2f} frames/s   {s / fi:.2f}x")

        # --- batched demo-like run ----------------------------------------------------------------------
        seqs = [Seq(f"seq{k}", paths, np.asarray(boxes[0])) for k in range(n_seqs)]
        print(f"\nwhole run, {n_seqs} sequences x {n_frames} frames, aggregate frames/s (decoding included)")
        t = time.perf_counter()
        slow_tr.model.fast = False
        for seq in seqs[: max(1, n_seqs // 4)]:  # faithful is sequential: time a quarter of the run
            run_sequential(slow_tr, seq.frames, seq.init_box)
        base_fps = max(1, n_seqs // 4) * (n_frames - 1) / (time.perf_counter() - t)
        print(f"{'faithful, one sequence at a time':34s} {base_fps:7.2f}")
        for b in batches:
            runner = BatchedOSTrack(model, cfg, device, fast=True, options=options)
            t = time.perf_counter()
            frames = sum(len(r.times) - 1 for r in runner.run(seqs, max_batch=b))
            fps = frames / (time.perf_counter() - t)
            print(f"{'fast, batched ' + str(b):34s} {fps:7.2f}   {fps / base_fps:.2f}x")

    print(f"\nacceptance ({device.type}, {args.dtype}; the issue's targets are for the CPU in fp32): "
          "forward <= 1.15x floor: "
          f"{rows[batches[0]][1] / floor:.2f}x (of its own GEMMs replayed alone: "
          f"{rows[batches[0]][1] / rows[batches[0]][2]:.2f}x); end to end >= 1.3x faithful: "
          f"{s / min(f, fi):.2f}x")
    others = share.others()
    if cpu and others is not None:
        busy, stolen = others
        print(f"other processes used {busy:.2f} cores and other guests of the host took {stolen:.2f} while "
              "measuring" + (": times and ratios are unreliable, run again on a quiet machine"
                             if busy + stolen > 0.25 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
