"""Ground truth + every tracker's results + a convention -> scores on the sequences all trackers have.

As in pytracking (``skip_missing_seq``), a sequence is scored for all trackers or for none, so the
trackers of one table are always compared on the same sequences. By default an incomplete result set
is refused with one line saying what is missing; ``skip_missing=True`` scores the common subset and
says so in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import VISIBILITY_TAGS, Convention, bench_tag
from ostrack_eval.metrics.frames import FrameMeasures, ResultError, frame_measures
from ostrack_eval.metrics.scores import BenchScores, score_sequences
from ostrack_eval.reports.results import Completeness, TrackerResults
from ostrack_eval.utils.text import plural


@dataclass
class TrackerEval:
    results: TrackerResults
    scores: BenchScores | None  # None when the ground truth is withheld (server-only benchmark)
    fps: float | None

    @property
    def label(self) -> str:
        return self.results.label

    def value(self, metric: str, subset: np.ndarray | None = None) -> float | None:
        """A score in percent, from our evaluation or (server-only benchmarks) ``server_scores.json``."""
        if self.scores is not None:
            if metric not in self.scores.num:
                return None
            return self.scores.score(metric, subset)
        if subset is None and self.results.server_scores is not None:
            value = self.results.server_scores.get(metric)
            return None if value is None else float(value)
        return None


@dataclass
class BenchEval:
    bench: str
    convention: Convention
    listed: int  # sequences asked for
    sequences: list[str]  # sequences scored (complete for every tracker)
    trackers: list[TrackerEval]
    attributes: list[dict] = field(default_factory=list)  # Sequence.attributes of each scored sequence
    notes: list[str] = field(default_factory=list)
    server_only: bool = False
    # the scored sequences' annotations, by name (per-frame views: IoU over time, where a track is lost)
    truth: dict[str, Sequence] = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.convention.metrics

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        """Scores the reference tool prints besides its convention's (pytracking's OP50/OP75)."""
        for t in self.trackers:
            if t.scores is not None:
                return tuple(m for m in t.scores.metrics if m not in self.convention.metrics)
        return ()

    def tracker(self, label: str) -> TrackerEval:
        for t in self.trackers:
            if t.label == label:
                return t
        raise KeyError(label)


def _measure_kwargs(seq: Sequence, convention: Convention, tag: str) -> dict:
    if convention.family == "got10k":
        # the toolkit's validity is cover > 0; adapters that only expose target_visible (cover > 0 and
        # not absent) give the same frames on GOT-10k val, where absent frames have cover 0
        cover = seq.attributes.get("cover")
        if cover is None and seq.target_visible is not None:
            cover = np.asarray(seq.target_visible, dtype=np.int64)
        return {"cover": cover, "resolution": seq.attributes.get("resolution")}
    if convention.family == "pytracking":
        return {"tag": tag, "visible": seq.target_visible if tag in VISIBILITY_TAGS else None}
    return {}


def zero_fills(convention: Convention) -> bool:
    """Whether a missing result is scored rather than left out: the TrackingNet server scores a missing
    file as all-zero boxes."""
    return convention.family == "trackingnet"


def incomplete(bench: str, convention: Convention, completeness: list[Completeness], listed: int,
               skip_missing: bool) -> set[str]:
    """The sequences some tracker cannot be scored on; with any and no ``skip_missing``, the one-line
    refusal (raised as :class:`UserError`) naming the first incomplete tracker's problems."""
    bad: set[str] = set()
    for comp in completeness:
        bad |= set(comp.unusable) | (set() if zero_fills(convention) else set(comp.missing))
    if bad and not skip_missing:
        troubled = [c for c in completeness if c.unusable or (c.missing and not zero_fills(convention))]
        more = f"; {plural(len(troubled) - 1, 'more tracker')} incomplete" if len(troubled) > 1 else ""
        raise UserError(f"{troubled[0].summary()}{more} — pass --skip-missing to score the "
                        f"{plural(listed - len(bad), f'{bench} sequence')} every tracker has")
    return bad


def evaluate_bench(bench: str, convention: Convention, sequences: list[Sequence], trackers: list[TrackerResults],
                   *, skip_missing: bool = False, listed: int | None = None) -> BenchEval:
    """Score every tracker on the sequences all of them can be scored on.

    ``listed``: how many sequences were asked for, when ``sequences`` is already a subset of them. The
    loaded results are not changed: sequences the convention refuses are recorded in this evaluation only.
    """
    listed = len(sequences) if listed is None else listed
    tag = bench_tag(bench)
    zero_fill = zero_fills(convention)
    measures: list[dict[str, list[FrameMeasures]]] = []
    completeness: list[Completeness] = []
    notes: list[str] = []
    for tr in trackers:
        comp = replace(tr.completeness, unusable=dict(tr.completeness.unusable))
        per_seq: dict[str, list[FrameMeasures]] = {}
        for seq in sequences:
            result = tr.sequences.get(seq.name)
            if result is None and not zero_fill:
                continue
            runs = [None] if result is None else result.runs
            try:
                kwargs = _measure_kwargs(seq, convention, tag)
                per_seq[seq.name] = [frame_measures(convention, r, seq.ground_truth, **kwargs) for r in runs]
            except ResultError as exc:
                comp.unusable[seq.name] = str(exc)
        measures.append(per_seq)
        completeness.append(comp)
        if convention.truncate and tr.run_record is None and _has_fractions(tr, per_seq):
            # another toolkit's float file: pytracking's own runner would have saved it as integers, but
            # this one may never have gone through it, so say what the default did to it
            notes.append(f"{tr.label}: non-integer boxes truncated toward zero like the official runner's "
                         f"integer files; --full-precision scores them as stored")
        if zero_fill and comp.missing:
            notes.append(f"{tr.label}: {plural(len(comp.missing), 'missing sequence')} scored as all-zero "
                         f"boxes, as the TrackingNet server does")
        if comp.wrong_rows:
            notes.append(comp.summary())
        notes += [f"{tr.label}: {w}" for w in comp.warnings[:3]]

    bad = incomplete(bench, convention, completeness, listed, skip_missing)
    kept = [s for s in sequences if s.name not in bad]
    if not kept:
        raise UserError(f"{bench}: no sequence has usable results for every tracker ({completeness[0].summary()})")
    if len(kept) < listed:
        notes.append(f"scored on the {len(kept)} of {plural(listed, f'{bench} sequence')} that every tracker has")
    names = [s.name for s in kept]
    evals = []
    for tr, per_seq in zip(trackers, measures):
        scores = score_sequences(convention, names, [per_seq[n] for n in names])
        evals.append(TrackerEval(tr, scores, tr.fps(names, convention.fps_rule)))
    return BenchEval(bench, convention, listed, names, evals, [dict(s.attributes) for s in kept], notes,
                     truth={s.name: s for s in kept})


def server_only_bench(bench: str, convention: Convention, listed: int, trackers: list[TrackerResults]) -> BenchEval:
    """A benchmark whose ground truth is withheld: scores only from ``server_scores.json`` files."""
    notes = [f"{bench}: ground truth withheld; scores are the evaluation server's, read from "
             f"<results>/<run>/{bench}/server_scores.json ('–' where absent; make the zip with ostrack-eval pack)"]
    evals = [TrackerEval(tr, None, tr.fps(rule=convention.fps_rule)) for tr in trackers]
    return BenchEval(bench, convention, listed, [], evals, [], notes, server_only=True)


def _has_fractions(tr: TrackerResults, scored: dict) -> bool:
    """Whether any scored box of ``tr`` has a fractional part (NaN and inf are the metrics' business)."""
    for name in scored:
        result = tr.sequences.get(name)
        for boxes in result.runs if result is not None else []:
            finite = boxes[np.isfinite(boxes)]
            if np.any(finite != np.trunc(finite)):
                return True
    return False
