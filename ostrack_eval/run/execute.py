"""Running jobs: in this process (one worker), or in spawned worker processes pulling from a shared queue.

Each worker builds its own tracker on its own device, takes the next (longest remaining) job, writes the
results itself (atomically) and reports events to the parent. Workers ignore Ctrl-C (the parent stops
them) and exit on their own if the parent dies, so a killed run leaves no orphans writing results.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import Callable, Iterable

from ostrack_eval.errors import UserError
from ostrack_eval.run.batched import process_batched
from ostrack_eval.run.memory import retain_freed_memory
from ostrack_eval.run.metadata import device_report
from ostrack_eval.run.monitor import RunMonitor
from ostrack_eval.run.plan import Job
from ostrack_eval.run.store import ResultStore, ResultWriteError
from ostrack_eval.run.track import SequenceFailure, Stopped, track_sequence
from ostrack_eval.trackers.plugins import RunnableTracker
from ostrack_eval.trackers.registry import TrackerSpec, load_tracker

Emit = Callable[[tuple], None]
_FRAME_REPORT_S = 0.2


class _FrameCounter:
    """Batches per-frame progress so workers send a few events per second, not one per frame."""

    def __init__(self, emit: Emit, worker: int):
        self.emit, self.worker = emit, worker
        self.count, self.last = 0, time.monotonic()

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= _FRAME_REPORT_S:
            self.flush()
            self.last = now

    def flush(self) -> None:
        if self.count:
            self.emit(("frames", self.worker, self.count))
            self.count = 0


def process_job(tracker: RunnableTracker, store: ResultStore, bench: str, job: Job, emit: Emit,
                should_stop: Callable[[], bool], worker: int = 0) -> None:
    """Track ``job``'s sequence (each pending repetition), store the results and report the outcome.

    A result that cannot be written raises :class:`ResultWriteError`: it ends the run, not just the job.
    """
    counter = _FrameCounter(emit, worker)
    emit(("start", worker, job.name))
    frames, seconds = 0, 0.0
    try:
        for rep in job.reps if job.reps is not None else [None]:
            result = track_sequence(tracker, job.sequence, counter.tick, should_stop)
            if rep is None:
                store.write(bench, job.name, result.boxes, result.times)
            else:
                store.write_repetition(bench, job.name, rep, result.boxes, result.times)
            frames += len(result.times)
            seconds += float(result.times.sum())
    except SequenceFailure as exc:
        counter.flush()
        emit(("failed", worker, job.name, str(exc)))
        return
    except Stopped:
        counter.flush()
        emit(("stopped", worker, job.name))
        return
    counter.flush()
    emit(("done", worker, job.name, frames, seconds))


def build_run_tracker(spec: TrackerSpec, device: str | None, batch: int, threads: int | None = None):
    """The tracker a worker runs: batched (``batch`` > 1) when it has the batched form; else it tracks one
    sequence at a time."""
    tracker = load_tracker(spec, device, threads)
    if batch > 1 and tracker.batched:
        from ostrack_eval.trackers.batched import BatchedRunner

        return BatchedRunner(tracker)
    return tracker


def process_jobs(tracker, store: ResultStore, bench: str, jobs: Iterable[Job], emit: Emit,
                 should_stop: Callable[[], bool], batch: int, worker: int = 0) -> None:
    """Every job of ``jobs`` (consumed lazily: with workers it is the shared queue), one sequence at a time
    or ``batch`` in lockstep."""
    if batch > 1 and not isinstance(tracker, RunnableTracker):
        process_batched(tracker, store, bench, jobs, emit, should_stop, batch, worker)
        return
    for job in jobs:
        if should_stop():
            break
        process_job(tracker, store, bench, job, emit, should_stop, worker)


def build_for_run(spec: TrackerSpec, device: str | None, batch: int, workers: int):
    """Load the tracker and its checkpoint before anything is written into the run folder.

    One worker: the tracker this process then tracks with. Several: each worker builds its own, so
    the parent only proves that the checkpoint loads and fits (plain model on the CPU) and returns ``None``.
    """
    if workers == 1:
        retain_freed_memory()  # this process tracks: no page faults on every step's tensors
        return build_run_tracker(spec, device, batch)
    build_run_tracker(replace(spec, fast=False, dtype="fp32", compile=None, device_crop=False), "cpu", 1)
    return None


def run_inline(jobs: list[Job], spec: TrackerSpec, device: str | None, store: ResultStore, bench: str,
               monitor: RunMonitor, batch: int = 1, tracker=None) -> None:
    if tracker is None:
        retain_freed_memory()  # this process tracks: no page faults on every step's tensors
        tracker = build_run_tracker(spec, device, batch)
    monitor.handle(("ready", 0, device_report(getattr(tracker, "device", device))))
    try:
        process_jobs(tracker, store, bench, jobs, monitor.handle, monitor.should_stop, batch)
    except ResultWriteError as exc:
        # not the sequence's fault: every later sequence would hit the same full or read-only disk
        monitor.handle(("fatal", 0, str(exc), True))


def run_workers(jobs: list[Job], spec: TrackerSpec, devices: list[str | None], cpu_threads: int | None,
                store: ResultStore, bench: str, monitor: RunMonitor, batch: int = 1) -> None:
    """Run ``jobs`` on ``len(devices)`` spawned workers; returns when all have exited."""
    ctx = mp.get_context("spawn")
    tasks, events, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for job in jobs:
        tasks.put(job)
    for _ in devices:
        tasks.put(None)
    procs = {wid: ctx.Process(target=worker_main, name=f"ostrack-eval-worker-{wid}", daemon=True,
                              args=(wid, spec, dev, cpu_threads, store, bench, tasks, events, stop, os.getpid(),
                                    batch))
             for wid, dev in enumerate(devices)}
    # SIGINT blocked while they start: a spawned child inherits the mask, so a Ctrl-C while it is still
    # importing (before worker_main ignores SIGINT) cannot print its traceback; ours waits until unblocked
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for proc in procs.values():
            proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    alive = set(procs)
    try:
        while alive:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                _reap(procs, alive, events, monitor)
            else:
                monitor.handle(event)
                if event[0] == "exit":
                    alive.discard(event[1])
            if monitor.should_stop():
                stop.set()
    except BaseException:
        stop.set()
        raise
    finally:
        for proc in procs.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        tasks.cancel_join_thread()  # jobs left unpicked after a stop must not block our exit
        _drain(tasks)


def _drain(tasks) -> None:
    """Take back the jobs no worker picked, so the queue's feeder thread can finish and let go of its two
    semaphores (left held at exit, multiprocessing's resource tracker warns about them after Ctrl-C)."""
    try:
        while True:
            tasks.get(timeout=0.05)
    except (queue.Empty, OSError, ValueError, EOFError):
        pass
    tasks.close()
    thread = getattr(tasks, "_thread", None)  # the feeder; close() has sent it the sentinel
    if thread is not None:
        thread.join(timeout=2)


def _reap(procs: dict, alive: set, events, monitor: RunMonitor) -> None:
    """Account for workers that died without saying goodbye (killed, segfault, out of memory)."""
    dead = [wid for wid in alive if not procs[wid].is_alive()]
    if not dead:
        return
    while True:  # events a dead worker sent before dying are still worth having
        try:
            event = events.get(timeout=0.1)
        except queue.Empty:
            break
        monitor.handle(event)
        if event[0] == "exit":
            alive.discard(event[1])
    for wid in dead:
        if wid in alive:
            alive.discard(wid)
            for seq in monitor.in_flight.pop(wid, []):
                monitor.fail(seq, f"worker process died (exit code {procs[wid].exitcode})")


def _watch_parent(parent_pid: int) -> None:
    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.2)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def worker_main(wid: int, spec: TrackerSpec, device: str | None, cpu_threads: int | None, store: ResultStore,
                bench: str, tasks, events, stop, parent_pid: int, batch: int = 1) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent_pid)
    retain_freed_memory()
    try:
        tracker = build_run_tracker(spec, device, batch, cpu_threads)
        torch = sys.modules.get("torch")
        if cpu_threads and torch is not None:  # only trackers that use torch need their threads capped
            torch.set_num_threads(cpu_threads)
        events.put(("ready", wid, device_report(getattr(tracker, "device", device))))
        # a job is taken whenever the worker (or one of its batch's slots) is free: longest first across workers
        process_jobs(tracker, store, bench, iter(tasks.get, None), events.put, stop.is_set, batch, wid)
    except UserError as exc:  # bad input, or a ResultWriteError: either way every later job would fail too
        events.put(("fatal", wid, str(exc), True))
    except Exception:
        events.put(("fatal", wid, f"worker {wid} on {device or 'default device'}: {traceback.format_exc()}", False))
    events.put(("exit", wid))
