"""Running jobs on a Ray cluster (``run --executor ray``): one actor per GPU (or per ``--cpus-per-actor`` CPUs).

Each actor (:mod:`ostrack_eval.run.ray_actor`) builds its tracker once and tracks the jobs the driver hands
it with the local runner's own code (one at a time, or ``--batch`` in lockstep). The driver keeps
the longest-first queue and tops each actor up as its jobs finish, so faster actors take more work. Boxes
and times travel back to the driver, which alone writes the results store (atomic files under its lock):
the workers need to see the dataset, not the results folder.

Faults: an actor that dies (its process killed, its node lost) has its unfinished jobs put back in the queue
and a new actor started in its place; results already stored are kept, so nothing is tracked or written
twice. A job whose actors die ``MAX_ATTEMPTS`` times while tracking it fails, so a sequence that crashes
its process cannot loop forever. Ray is imported only when this executor runs (an optional extra).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.run.devices import cpu_threads_per_worker
from ostrack_eval.run.monitor import RunMonitor
from ostrack_eval.run.plan import Job, longest_first
from ostrack_eval.run.ray_actor import TrackerActor
from ostrack_eval.run.store import ResultStore, ResultWriteError
from ostrack_eval.trackers.registry import TrackerSpec

INSTALL_HINT = "pip install 'ostrack-eval[ray]' (or: pip install 'ray[default]')"
LOCAL_OBJECT_STORE_BYTES = 96 * 2**20  # only boxes and frame paths travel through Ray: keep it small
MAX_ATTEMPTS = 3  # actor deaths a sequence may see while being tracked before it counts as failed
POLL_S = 0.5  # how long an actor holds a poll open when it has nothing to report
START_TIMEOUT_S = 300.0  # no actor ready for this long, with work waiting: the cluster cannot run one
STOP_GRACE_S = 10.0  # after a stop, how long actors get to say goodbye before they are killed
_DEVICES = (None, "cpu", "cuda")


@dataclass(frozen=True)
class RaySettings:
    """``--executor ray``: where the cluster is and how its actors are sized."""

    address: str | None = None  # None: start a local Ray instance (or join $RAY_ADDRESS); "auto"; HOST:PORT
    actors: int | None = None  # None: as many as the cluster holds (one per GPU, else per cpus_per_actor)
    cpus_per_actor: int = 1  # CPU-only actors: CPUs each reserves, and its torch threads

    def check(self, device: str | None) -> None:
        """Refuse bad settings before anything is written (Ray not installed included)."""
        if self.actors is not None and self.actors < 1:
            raise UserError(f"--workers must be at least 1, got {self.actors}")
        if self.cpus_per_actor < 1:
            raise UserError(f"--cpus-per-actor must be at least 1, got {self.cpus_per_actor}")
        if device not in _DEVICES:
            raise UserError(f"--device {device}: with --executor ray every actor gets a device of its own: "
                            "use --device cuda (one GPU per actor) or --device cpu")
        import_ray()
        _check_reachable(self.address)

    def describe(self) -> dict:
        return {"executor": "ray", "address": self.address or os.environ.get("RAY_ADDRESS") or "local",
                "actors": self.actors, "cpus_per_actor": self.cpus_per_actor}


def _check_reachable(address: str | None) -> None:
    """Ray waits minutes for a head that is not there: say so at once when nothing listens at HOST:PORT."""
    host, _, port = (address or "").rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", $RAY_ADDRESS, ray:// client addresses: Ray resolves those itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UserError(f"--ray-address {address}: no Ray head answers there ({exc.strerror or exc}); start "
                        "one with `ray start --head` or give its address") from None


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass
class _Assignment:
    job: Job
    reps: list[int] | None  # repetitions not yet stored (None: single run)
    stored_frames: int = 0  # frames of the results already stored
    stored_seconds: float = 0.0
    complete: bool = False  # every result stored (the actor may die before it says "done")
    started: bool = False


@dataclass
class _Slot:
    """The driver's view of one actor."""

    wid: int
    handle: object
    ref: object  # the outstanding start() or poll() call
    ready: bool = False
    closed: bool = False  # told that no more work will come
    node: str = "?"
    serial: int = 0
    assigned: dict[str, _Assignment] = field(default_factory=dict)


@dataclass(frozen=True)
class _ActorShape:
    count: int
    device: str
    threads: int | None
    resources: dict


class _RayRun:
    def __init__(self, ray, jobs: list[Job], spec: TrackerSpec, store: ResultStore, bench: str,
                 monitor: RunMonitor, batch: int, shape: _ActorShape, root: Path):
        self.ray, self.spec, self.store, self.bench, self.monitor = ray, spec, store, bench, monitor
        self.batch, self.shape, self.root = batch, shape, str(root)
        self.pending: deque[Job] = deque(jobs)
        self.slots: dict[int, _Slot] = {}
        self.handles: list = []
        self.attempts: dict[str, int] = {}
        self.replacements_left = 3 * shape.count
        self.next_wid = 0
        self.stop_deadline: float | None = None
        self.last_ready = time.monotonic()
        # a job waiting in an actor's queue (one beyond its batch) keeps it busy while the driver tops it up
        self.capacity = batch + 1 + (batch > 1)  # a batched actor also opens its next sequence ahead
        self.actor_class = ray.remote(TrackerActor).options(max_concurrency=4, max_restarts=0,
                                                              **shape.resources)

    def run(self) -> None:
        try:
            for _ in range(self.shape.count):
                self._launch()
            while self.slots and (self.pending or any(slot.assigned for slot in self.slots.values())):
                refs = {slot.ref: slot for slot in self.slots.values()}
                done, _ = self.ray.wait(list(refs), num_returns=1, timeout=POLL_S)
                for ref in done:
                    self._receive(refs[ref], ref)
                if self.monitor.should_stop():
                    self._stop_all()
                else:
                    self._feed()
                    self._check_startup()
                if self.stop_deadline is not None and time.monotonic() > self.stop_deadline:
                    break
            if self.pending and self.stop_deadline is None:
                self.monitor.log(f"ostrack-eval: {len(self.pending)} sequence(s) not run: no Ray actor was left "
                                 "to take them")
        finally:
            for handle in self.handles:
                self.ray.kill(handle, no_restart=True)

    def _launch(self) -> None:
        wid = self.next_wid
        self.next_wid += 1
        handle = self.actor_class.remote(wid, self.spec, self.shape.device, self.shape.threads, self.batch,
                                         self.bench, self.root)
        self.handles.append(handle)
        self.slots[wid] = _Slot(wid, handle, handle.start.remote())

    def _receive(self, slot: _Slot, ref) -> None:
        try:
            events = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:  # the actor died (process killed, node lost)
            self._lost(slot, exc)
            return
        exited = False
        for event in events:
            kind = event[0]
            if kind == "result":
                self._store(slot, event)
                continue
            if kind == "ready":
                slot.ready = True
                slot.node = str(event[2].get("node", "?"))
            elif kind == "start" and event[2] in slot.assigned:
                slot.assigned[event[2]].started = True
            elif kind in ("done", "failed", "stopped"):
                slot.assigned.pop(event[2], None)
            elif kind == "exit":
                exited = True
            self.monitor.handle(event)
        if exited:  # free its GPU or CPUs now: a replacement for a dead actor may be waiting for them
            del self.slots[slot.wid]
            self.ray.kill(slot.handle, no_restart=True)
        else:
            slot.ref = slot.handle.poll.remote(POLL_S)

    def _store(self, slot: _Slot, event: tuple) -> None:
        _, wid, seq, rep, boxes, times = event
        task = slot.assigned.get(seq)
        if task is None or self.monitor.fatal is not None:
            return
        try:
            if rep is None:
                self.store.write(self.bench, seq, boxes, times)
            else:
                self.store.write_repetition(self.bench, seq, rep, boxes, times)
                task.reps.remove(rep)
        except ResultWriteError as exc:  # every later result would hit the same disk: end the run
            self.monitor.handle(("fatal", wid, str(exc), True))
            return
        task.stored_frames += len(times)
        task.stored_seconds += float(np.sum(times))
        task.complete = not task.reps

    def _lost(self, slot: _Slot, exc: Exception) -> None:
        del self.slots[slot.wid]
        reason = _first_line(exc)
        back = []
        for seq, task in slot.assigned.items():
            if task.complete:  # stored, only its "done" was lost with the actor: not to be tracked again
                self.monitor.handle(("done", slot.wid, seq, task.stored_frames, task.stored_seconds))
                continue
            self.monitor.retry(slot.wid, seq, task.stored_frames)
            if task.started:
                self.attempts[seq] = self.attempts.get(seq, 0) + 1
            if self.attempts.get(seq, 0) >= MAX_ATTEMPTS:
                self.monitor.fail(seq, f"Ray actors died {MAX_ATTEMPTS} times while tracking it (last: {reason})")
            else:
                back.append(Job(task.job.sequence, task.reps))
        if self.stop_deadline is not None:
            return
        self.monitor.log(f"ostrack-eval: Ray actor {slot.wid} on node {slot.node} died ({reason}); "
                         f"{len(back)} sequence(s) go back to the queue")
        self.pending = deque(longest_first(back + list(self.pending)))
        if not self.pending:
            return
        if self.replacements_left > 0:
            self.replacements_left -= 1
            self._launch()
        elif not self.slots:
            self.monitor.handle(("fatal", slot.wid, f"every Ray actor died, {3 * self.shape.count} replacements "
                                                    f"included (last: {reason})", False))

    def _feed(self) -> None:
        for slot in self.slots.values():
            if not slot.ready or slot.closed:
                continue
            gift = []
            while self.pending and len(slot.assigned) + len(gift) < self.capacity:
                gift.append(self.pending.popleft())
            # no work left to give: the actor ends once its own is done (a batched actor must not wait for
            # more while the sequences it holds are in flight)
            close = not self.pending
            if not gift and not close:
                continue
            for job in gift:
                slot.assigned[job.name] = _Assignment(job, list(job.reps) if job.reps is not None else None)
            slot.handle.give.remote(slot.serial, gift, close)
            slot.serial += 1
            slot.closed = close

    def _check_startup(self) -> None:
        now = time.monotonic()
        if any(slot.ready for slot in self.slots.values()) or not self.pending:
            self.last_ready = now
        elif now - self.last_ready > START_TIMEOUT_S:
            self.monitor.handle(("fatal", -1, f"no Ray actor became ready in {START_TIMEOUT_S:.0f} s: each needs "
                                              f"{self.shape.resources}, the cluster has "
                                              f"{self.ray.cluster_resources()}", True))

    def _stop_all(self) -> None:
        if self.stop_deadline is not None:
            return
        self.stop_deadline = time.monotonic() + STOP_GRACE_S
        self.pending.clear()
        for slot in self.slots.values():
            slot.handle.stop.remote()


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class _Connection:
    """Join the cluster (or start a local instance) unless this process is already connected; leave only
    what this run started."""

    def __init__(self, ray, settings: RaySettings):
        self.ray, self.settings, self.started = ray, settings, False

    def __enter__(self):
        ray, settings = self.ray, self.settings
        if ray.is_initialized():
            return self
        address = settings.address or os.environ.get("RAY_ADDRESS") or None
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}  # faults are reported as events
        try:
            if address is None:  # "local": a new instance, even where `ray start` left one running
                wanted = (settings.actors or 1) * settings.cpus_per_actor
                ray.init(address="local", num_cpus=max(cpu_threads_per_worker(1), wanted),
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False, **quiet)
            else:
                with warnings.catch_warnings():  # Ray Client warns before it raises; the raise is our one line
                    warnings.simplefilter("ignore", UserWarning)
                    ray.init(address=address, **quiet)
        except (ConnectionError, ValueError) as exc:  # no cluster there, or not an address
            raise UserError(f"--ray-address {address}: cannot connect to a Ray cluster ({_first_line(exc)})") from None
        self.started = True
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            self.ray.shutdown()


def _actor_shape(ray, settings: RaySettings, device: str | None, jobs: int) -> _ActorShape:
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    if device == "cuda" and gpus == 0:
        raise UserError("--device cuda: the Ray cluster has no GPU")
    if device != "cpu" and gpus > 0:
        fits, actor_device, threads = gpus, "cuda", None
        need = {"num_gpus": 1, "num_cpus": 1}  # the CPU decodes frames
    else:
        k = settings.cpus_per_actor
        fits, actor_device, threads = cpus // k, "cpu", k
        need = {"num_cpus": k}
        if fits < 1:
            raise UserError(f"the Ray cluster has {cpus} CPU(s) and no GPU: not enough for one actor of "
                            f"--cpus-per-actor {k}")
    return _ActorShape(min(settings.actors or fits, jobs), actor_device, threads, need)


def run_ray(jobs: list[Job], spec: TrackerSpec, store: ResultStore, bench: str, monitor: RunMonitor,
            batch: int, device: str | None, settings: RaySettings, root: Path) -> None:
    """Run ``jobs`` on Ray actors; returns when every job is finished, failed or (after a stop) abandoned."""
    ray = import_ray()
    with _Connection(ray, settings):
        shape = _actor_shape(ray, settings, device, len(jobs))
        _RayRun(ray, jobs, spec, store, bench, monitor, batch, shape, Path(root)).run()
