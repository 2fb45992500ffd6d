"""``ostrack-eval run``: track every (selected, unfinished) sequence of a benchmark and store the results.

Resumable by construction: a sequence is skipped when its files are complete, every file is written
atomically, and a lock per ``<run>/<bench>`` (or shard) keeps concurrent runs from writing the same
sequences.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ostrack_eval.datasets.base import Benchmark, Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.run.devices import cpu_threads_per_worker, worker_devices
from ostrack_eval.run.execute import build_for_run, run_inline, run_workers
from ostrack_eval.run.lock import BenchLock
from ostrack_eval.run.metadata import RunRecord, describe_tracker, now, software_versions
from ostrack_eval.run.monitor import RunMonitor, stderr_log
from ostrack_eval.run.plan import Job, longest_first, select_sequences
from ostrack_eval.run.ray_executor import RaySettings, run_ray
from ostrack_eval.run.store import ResultStore
from ostrack_eval.trackers.registry import has_batched_form
from ostrack_eval.trackers.spec import TrackerSpec

MAX_LISTED = 20  # failures printed in the summary; run.json has them all
MAX_RUNS = 100  # --runs: GOT-10k's protocol is 3; a typo of 10**9 must not try to plan 10**9 repetitions


@dataclass
class RunOptions:
    results: Path = Path("results")
    device: str | None = None
    sequences: list[str] | None = None
    workers: int = 1
    shard: tuple[int, int] | None = None
    runs: int | None = None  # GOT-10k repetitions: None = single-run layout
    batch: int = 1  # sequences tracked in lockstep per worker (OSTrack trackers only)
    ray: RaySettings | None = None  # run on Ray actors instead of local worker processes
    fail_fast: bool = False
    progress: bool | None = None  # None: show a bar when stderr is a terminal
    log: Callable[[str], None] = stderr_log


@dataclass
class RunSummary:
    bench: str
    run_dir: Path
    selected: int
    already_done: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    frames: int = 0
    track_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_run

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def fps(self) -> float | None:
        return self.frames / self.track_seconds if self.track_seconds > 0 else None

    def lines(self) -> list[str]:
        head = (f"{self.bench}: {len(self.already_done) + len(self.completed)}/{self.selected} sequences complete "
                f"in {self.run_dir / self.bench} ({len(self.completed)} run now, {len(self.already_done)} "
                "already done")
        if self.fps is not None:
            head += f"; {self.frames} frames at {self.fps:.1f} fps, decoding excluded"
        out = [head + ")"]
        if self.failed:
            out.append(f"{len(self.failed)} sequence(s) failed:")
            out += [f"  {seq}: {cause}" for seq, cause in list(self.failed.items())[:MAX_LISTED]]
            if len(self.failed) > MAX_LISTED:
                out.append(f"  … and {len(self.failed) - MAX_LISTED} more (all listed in "
                           f"{self.run_dir / 'run.json'})")
        if self.not_run:
            out.append(f"{len(self.not_run)} sequence(s) not run (stopped early): "
                       + ", ".join(self.not_run[:10]) + (" …" if len(self.not_run) > 10 else ""))
        return out


def run_benchmark(benchmark: Benchmark, spec: TrackerSpec, options: RunOptions) -> RunSummary:
    """Run ``spec`` over ``benchmark`` into ``<results>/<run name>/<bench>``; see the module docstring."""
    if options.runs is not None and not 1 <= options.runs <= MAX_RUNS:
        raise UserError(f"--runs must be between 1 and {MAX_RUNS}, got {options.runs}")
    _check_batch(spec, options.batch)
    if options.ray is None:
        devices = worker_devices(options.device, options.workers)
    else:
        options.ray.check(options.device)
    listed = benchmark.sequence_names()
    names = select_sequences(listed, options.sequences, options.shard)
    identity = describe_tracker(spec)
    if options.batch > 1 and has_batched_form(spec) is False:
        options.log(f"ostrack-eval: {spec.tracker} has no batched form (start/step): --batch {options.batch} "
                    "tracks one sequence at a time")
    store = ResultStore(options.results, spec.run_name())
    bench = benchmark.name
    summary = RunSummary(bench, store.run_dir, len(names))
    sequences = _load_sequences(benchmark, names, summary, options.log)
    # the driver of a Ray run only proves the checkpoint loads (as for several workers): actors build their own
    tracker = build_for_run(spec, devices[0], options.batch, len(devices)) if options.ray is None else \
        build_for_run(spec, "cpu", 1, workers=2)
    _make_run_dir(store)

    with BenchLock(store.run_dir, bench, options.shard):
        _check_layout(store, bench, listed, options.runs)
        record = RunRecord(store)
        session = _session_start(options, len(names))
        had_record = store.run_json.is_file()
        record.begin(identity, bench, session)
        for path in store.temp_files(bench, names):
            path.unlink(missing_ok=True)
        jobs = []
        for seq in sequences:
            job = _pending(store, bench, seq, options)
            if job is None:
                summary.already_done.append(seq.name)
            else:
                jobs.append(job)
        jobs = longest_first(jobs)
        if not had_record and summary.already_done:
            options.log(f"ostrack-eval: {store.run_dir / bench}: {len(summary.already_done)} existing results "
                        "without a run.json were kept; they are assumed to come from this tracker configuration")
        status = "failed"
        monitor = RunMonitor(bench, jobs, options.fail_fast, options.progress, options.log)
        try:
            if jobs and options.ray is not None:
                run_ray(jobs, spec, store, bench, monitor, options.batch, options.device, options.ray,
                        benchmark.root)
            elif jobs:
                _execute(jobs, spec, devices[:len(jobs)], store, bench, monitor, options.batch, tracker)
            if monitor.fatal is None:
                status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            monitor.close()
            _collect(summary, monitor, jobs)
            session.update(_session_end(summary, monitor, status))
            unrecorded = _finish_record(record, bench, session)
        if monitor.fatal is not None:
            if unrecorded is not None:  # a full disk refuses run.json too; the first failure is the one to report
                options.log(f"ostrack-eval: {unrecorded}")
            message, is_user_error = monitor.fatal
            raise (UserError if is_user_error else RuntimeError)(message)
        if unrecorded is not None:
            raise UserError(unrecorded)
    return summary


def _check_batch(spec: TrackerSpec, batch: int) -> None:
    # a tracker without the batched form (start/step) tracks one sequence at a time instead
    if batch < 1:
        raise UserError(f"--batch must be at least 1, got {batch}")


def _check_layout(store: ResultStore, bench: str, names: list[str], runs: int | None) -> None:
    """Refuse to write one result layout beside the other.

    Readers take ``<seq>.txt`` when it exists, so repetitions written next to a single-run result would
    be silently ignored, and a single run written next to repetitions would silently hide them.
    """
    for name in names:
        files = store.sequence_files(bench, name)
        if files is None or files.repeated == (runs is not None):
            continue
        found = files.boxes[0].relative_to(store.bench_dir(bench)).as_posix()
        if runs is not None:
            raise UserError(f"{store.bench_dir(bench)}: holds single-run results ({found}), so --runs {runs} "
                            "cannot add repetitions here; use --name to write them to another run folder")
        raise UserError(f"{store.bench_dir(bench)}: holds --runs repetitions ({found}), so a single run cannot "
                        "be added here; run with --runs again, or use --name to write to another run folder")


def _finish_record(record: RunRecord, bench: str, session: dict) -> str | None:
    """Close ``session`` in run.json; why it could not be, if so (the result files are already safe)."""
    try:
        record.finish(bench, session)
    except UserError as exc:
        return str(exc)
    return None


def _load_sequences(benchmark: Benchmark, names: list[str], summary: RunSummary,
                    log: Callable[[str], None]) -> list[Sequence]:
    """Load the selected sequences; unloadable ones count as failed, and none loadable is bad input."""
    loaded, unloadable = [], {}
    for name in names:
        try:
            loaded.append(benchmark.load(name))
        except Exception as exc:  # one unreadable sequence must not stop the other 279
            unloadable[name] = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    if not unloadable:
        return loaded
    first, cause = next(iter(unloadable.items()))
    if not loaded:  # wrong --root or an empty download: say so once, exit 2
        raise UserError(f"{benchmark.name}: none of the {len(names)} selected sequences can be loaded "
                        f"(first: {first}: {cause})")
    summary.failed.update({name: f"cannot load: {cause}" for name, cause in unloadable.items()})
    # one line, not one per sequence: a partly downloaded benchmark fails hundreds
    log(f"ostrack-eval: {benchmark.name}: {len(unloadable)} of {len(names)} sequences cannot be loaded and count "
        f"as failed (first: {first}: {cause}); run only some with --sequences")
    return loaded


def _pending(store: ResultStore, bench: str, seq: Sequence, options: RunOptions) -> Job | None:
    if options.runs is None:
        reason = store.missing_reason(bench, seq.name, seq.num_frames)
        if reason is None:
            return None
        if store.box_path(bench, seq.name).is_file() and store.time_path(bench, seq.name).is_file():
            options.log(f"ostrack-eval: redoing {bench}/{seq.name}: {reason}")  # damaged, not just unfinished
        return Job(seq)
    done = set(store.done_repetitions(bench, seq.name, seq.num_frames, options.runs))
    reps = [r for r in range(1, options.runs + 1) if r not in done]
    return Job(seq, reps) if reps else None


def _make_run_dir(store: ResultStore) -> None:
    """``<results>/<run name>``, or one line on why it cannot be made (read-only disk, a file in the way)."""
    for folder in (store.results, store.run_dir):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder}: exists and is not a folder (--results must name a folder)")
    try:
        store.run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{store.run_dir}: cannot create the run folder ({exc.strerror or exc})") from None


def _execute(jobs: list[Job], spec: TrackerSpec, devices: list[str | None], store: ResultStore, bench: str,
             monitor: RunMonitor, batch: int, tracker=None) -> None:
    if len(devices) == 1:
        run_inline(jobs, spec, devices[0], store, bench, monitor, batch, tracker)
        return
    threads = cpu_threads_per_worker(len(devices)) if all(d == "cpu" for d in devices) else None
    run_workers(jobs, spec, devices, threads, store, bench, monitor, batch)


def _collect(summary: RunSummary, monitor: RunMonitor, jobs: list[Job]) -> None:
    summary.completed = list(monitor.completed)
    summary.failed.update(monitor.failed)
    summary.frames, summary.track_seconds = monitor.frames, monitor.track_seconds
    finished = set(summary.completed) | set(summary.failed)
    summary.not_run = [j.name for j in jobs if j.name not in finished]


def _session_start(options: RunOptions, selected: int) -> dict:
    return {
        "id": f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}",
        "started": now(), "finished": None, "status": "running",
        "host": socket.gethostname(), "pid": os.getpid(), "command": sys.argv,
        "device": options.device, "workers": options.workers,
        "shard": None if options.shard is None else f"{options.shard[0]}/{options.shard[1]}",
        "runs": options.runs, "batch": options.batch, "sequences_selected": selected,
        "executor": options.ray.describe() if options.ray is not None else "local",
        "software": software_versions(),
    }


def _session_end(summary: RunSummary, monitor: RunMonitor, status: str) -> dict:
    return {
        "finished": now(), "status": status,
        "devices": [monitor.devices[k] for k in sorted(monitor.devices)],
        "sequences_already_done": len(summary.already_done), "sequences_run": len(summary.completed),
        "sequences_failed": dict(summary.failed), "sequences_not_run": len(summary.not_run),
        "frames": summary.frames, "track_seconds": round(summary.track_seconds, 6),
        "fps": None if summary.fps is None else round(summary.fps, 3),
    }
