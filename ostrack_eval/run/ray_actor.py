"""The worker side of ``run --executor ray``: one Ray actor that loads the tracker once and tracks what the
driver hands it (:mod:`ostrack_eval.run.ray_executor` is the driver side).

It runs the local runner's own loop (:func:`~ostrack_eval.run.execute.process_jobs`: one sequence at a time,
or ``--batch`` in lockstep) in a thread of its own; the results that loop would write are sent to the driver
instead, in order with the events, which the driver collects by polling. This module imports Ray only
inside the actor's methods, so it loads without Ray.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import traceback
from typing import Callable

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.run.execute import build_run_tracker, process_jobs
from ostrack_eval.run.memory import retain_freed_memory
from ostrack_eval.run.metadata import device_report
from ostrack_eval.run.plan import Job
from ostrack_eval.trackers.registry import TrackerSpec


class _ResultCourier:
    """Stands in for the :class:`ResultStore` inside an actor: results are sent to the driver, which writes."""

    def __init__(self, emit: Callable[[tuple], None], worker: int):
        self.emit, self.worker = emit, worker

    def write(self, bench: str, seq: str, boxes, times) -> None:
        self.emit(("result", self.worker, seq, None, np.asarray(boxes), np.asarray(times)))

    def write_repetition(self, bench: str, seq: str, rep: int, boxes, times) -> None:
        self.emit(("result", self.worker, seq, rep, np.asarray(boxes), np.asarray(times)))


def _node() -> str:
    import ray

    return f"{ray.util.get_node_ip_address()} ({socket.gethostname()})"


class TrackerActor:
    """One Ray worker: loads the tracker once (:meth:`start`), then tracks what :meth:`give` hands it in a
    thread of its own, while the driver collects events and results with :meth:`poll`."""

    def __init__(self, worker: int, spec: TrackerSpec, device: str, threads: int | None, batch: int,
                 bench: str, root: str):
        self.worker, self.spec, self.device, self.threads = worker, spec, device, threads
        self.batch, self.bench, self.root = batch, bench, root
        self._inbox: queue.Queue = queue.Queue()
        self._events: list[tuple] = []
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._gifts: dict[int, tuple[list[Job], bool]] = {}
        self._next_gift = 0
        self._gift_lock = threading.Lock()

    def start(self) -> list[tuple]:
        """Check the dataset is visible here, build the tracker and start tracking: the first events."""
        w = self.worker
        if not os.path.isdir(self.root):
            return [("fatal", w, f"Ray actor {w} on node {_node()}: cannot see the dataset root {self.root} "
                                 "(every node needs the benchmark at the same path: a shared filesystem or a "
                                 "copy on each node)", True), ("exit", w)]
        retain_freed_memory()
        try:
            tracker = build_run_tracker(self.spec, self.device, self.batch, self.threads)
            torch = sys.modules.get("torch")
            if self.threads and torch is not None and self.device == "cpu":
                torch.set_num_threads(self.threads)
        except UserError as exc:
            return [("fatal", w, f"Ray actor {w} on node {_node()}: {exc}", True), ("exit", w)]
        except Exception:
            return [("fatal", w, f"Ray actor {w} on node {_node()}: {traceback.format_exc()}", False), ("exit", w)]
        import ray

        report = device_report(getattr(tracker, "device", self.device))
        report.update(node=ray.util.get_node_ip_address(), executor="ray", pid=os.getpid())
        if ray.get_gpu_ids():
            report["ray_gpu_ids"] = [str(g) for g in ray.get_gpu_ids()]
        threading.Thread(target=self._work, args=(tracker,), name="tracking", daemon=True).start()
        return [("ready", w, report)]

    def give(self, serial: int, jobs: list[Job], close: bool) -> None:
        """Queue ``jobs``, then (``close``) the end of the work. Calls to a threaded actor may run out of
        order, so they are numbered and queued in the driver's order."""
        with self._gift_lock:
            self._gifts[serial] = (jobs, close)
            while self._next_gift in self._gifts:
                jobs, close = self._gifts.pop(self._next_gift)
                self._next_gift += 1
                for job in jobs:
                    self._inbox.put(job)
                if close:
                    self._inbox.put(None)

    def poll(self, timeout: float) -> list[tuple]:
        """The events since the last poll, waiting up to ``timeout`` seconds for one."""
        with self._ready:
            self._ready.wait_for(lambda: self._events, timeout)
            events, self._events = self._events, []
        return events

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(None)

    def _emit(self, event: tuple) -> None:
        with self._ready:
            self._events.append(event)
            self._ready.notify_all()

    def _work(self, tracker) -> None:
        w = self.worker
        try:
            process_jobs(tracker, _ResultCourier(self._emit, w), self.bench, iter(self._inbox.get, None),
                         self._emit, self._stop.is_set, self.batch, w)
        except UserError as exc:
            self._emit(("fatal", w, f"Ray actor {w} on node {_node()}: {exc}", True))
        except Exception:
            self._emit(("fatal", w, f"Ray actor {w} on node {_node()}: {traceback.format_exc()}", False))
        self._emit(("exit", w))
