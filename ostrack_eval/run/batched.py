"""Running jobs through :class:`~ostrack_eval.trackers.batched.BatchedRunner` (``run --batch B``).

B sequences advance in lockstep, one forward pass per step; jobs are pulled lazily, so with several
workers each takes the next longest job whenever one of its slots frees up. Each repetition of a
``--runs`` job is a sequence of its own in the batch. Results and events are those of
:func:`~ostrack_eval.run.execute.process_job`: a job is reported done when all its repetitions are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from ostrack_eval.datasets.sanity import init_box_problem
from ostrack_eval.run.plan import Job
from ostrack_eval.run.store import ResultStore
from ostrack_eval.run.track import non_finite_box
from ostrack_eval.trackers.api import SequenceInfo, sequence_info

Emit = Callable[[tuple], None]


@dataclass(frozen=True)
class _Pass:
    """One tracking pass over a job's sequence (one repetition): what the batched tracker consumes."""

    job: Job
    rep: int | None

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def frames(self):
        return self.job.sequence.frames

    @property
    def init_box(self) -> np.ndarray:
        return self.job.sequence.init_box

    @property
    def info(self) -> SequenceInfo:
        return sequence_info(self.job.sequence)


@dataclass
class _Progress:
    reps: list  # repetitions still to store, in the order the store needs them ([None]: single run)
    finished: dict = field(default_factory=dict)  # rep -> result, waiting for an earlier repetition
    frames: int = 0
    seconds: float = 0.0
    failed: bool = False


@dataclass
class _Book:
    """Which jobs are in flight and how far each has got."""

    emit: Emit
    worker: int
    jobs: dict[str, _Progress] = field(default_factory=dict)

    def passes(self, jobs: Iterable[Job]) -> Iterator[_Pass]:
        for job in jobs:
            reps = list(job.reps) if job.reps is not None else [None]
            progress = self.jobs[job.name] = _Progress(list(reps))
            self.emit(("start", self.worker, job.name))
            problem = init_box_problem(job.sequence.init_box)
            if problem is not None:  # as track_sequence refuses it one sequence at a time
                progress.failed = True
                self.emit(("failed", self.worker, job.name, problem))
                continue
            for rep in reps:
                if progress.failed:  # one repetition failed the job: the rest need not be tracked
                    break
                yield _Pass(job, rep)

    def frames(self, passes: list[_Pass]) -> None:
        counts: dict[str, int] = {}
        for p in passes:
            counts[p.name] = counts.get(p.name, 0) + 1
        self.emit(("frames", self.worker, len(passes), counts))

    def unfinished(self) -> list[str]:
        return [name for name, p in self.jobs.items() if p.reps and not p.failed]


def process_batched(tracker, store: ResultStore, bench: str, jobs: Iterable[Job], emit: Emit,
                    should_stop: Callable[[], bool], batch: int, worker: int = 0) -> None:
    """Track ``jobs`` (an iterable, consumed as slots free up) ``batch`` at a time and store the results.

    ``tracker`` is a :class:`~ostrack_eval.trackers.batched.BatchedRunner`. A result that cannot be
    written raises :class:`~ostrack_eval.run.store.ResultWriteError`, which ends the run.
    """
    book = _Book(emit, worker)
    for result in tracker.run(book.passes(jobs), max_batch=batch, on_frames=book.frames,
                              should_stop=should_stop):
        item: _Pass = result.sequence
        progress = book.jobs[item.name]
        if progress.failed:
            continue  # another repetition of this job already failed it
        error = result.error
        if error is None:
            error = non_finite_box(result.boxes)
        if error is not None:
            progress.failed = True
            emit(("failed", worker, item.name, error))
            continue
        # a repetition's time column can only follow the earlier ones': store them in order
        progress.finished[item.rep] = result
        while progress.reps and progress.reps[0] in progress.finished:
            rep = progress.reps.pop(0)
            done = progress.finished.pop(rep)
            if rep is None:
                store.write(bench, item.name, done.boxes, done.times)
            else:
                store.write_repetition(bench, item.name, rep, done.boxes, done.times)
            progress.frames += len(done.times)
            progress.seconds += float(done.times.sum())
        if not progress.reps:
            emit(("done", worker, item.name, progress.frames, progress.seconds))
    for name in book.unfinished():
        emit(("stopped", worker, name))
