"""The OSTrack test-time tracking loop (``lib/test/tracker/ostrack.py`` of the official code)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.api import SequenceInfo, TrackerContext
from ostrack_eval.trackers.ce import mean_scores
from ostrack_eval.trackers.config import OSTrackConfig
from ostrack_eval.trackers.engine import SequenceState, TrackingEngine, template_inputs
from ostrack_eval.trackers.factory import build_ostrack_model, checkpoint_path, config_for_spec
from ostrack_eval.trackers.model import OSTrack
from ostrack_eval.trackers.preprocess import clip_box, hann2d, map_box_back, normalize_patch, sample_target
from ostrack_eval.trackers.spec import FastOptions, TrackerSpec, is_config_path


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def build_ostrack_tracker(spec: TrackerSpec, device=None) -> "OSTrackTracker":
    """The OSTrack tracker of a preset or YAML ``spec`` on ``device``."""
    return OSTrackTracker.from_context(TrackerContext(spec, device, spec.dtype))


@dataclass
class FrameDebug:
    """What happened in the last ``track`` call (for tests, visualisation and debugging)."""

    resize_factor: float = 0.0
    search_patch: np.ndarray | None = None
    out: dict = field(default_factory=dict)
    response: torch.Tensor | None = None
    pred_box_crop: list[float] | None = None
    box_before_clip: list[float] | None = None


class OSTrackTracker:
    """``initialize(frame, box)`` / ``track(frame) -> box`` with the official inference pipeline.

    With ``fast=True`` each frame goes through :class:`~ostrack_eval.trackers.engine.TrackingEngine` (a batch
    of one): template embedded once per sequence, the fast network of :mod:`ostrack_eval.trackers.fast`,
    and ``options`` (autocast, ``torch.compile``, device crops); geometry and decoding are unchanged.
    ``start``/``step`` are the batched form (:mod:`ostrack_eval.trackers.api`): B sequences in lockstep.

    A variant subclasses it and overrides one part: :meth:`ce_scores` (how candidate elimination ranks
    the search tokens) or :meth:`adapt_config` (e.g. the keep schedule); ``preset`` names the model it starts
    from (a preset name or a YAML path; the ``preset`` option overrides it).
    """

    takes_checkpoint = True
    takes_ce_options = True  # --no-ce, --keep-ratio, --ce-template
    preset: str | None = None

    def __init__(self, model: OSTrack, cfg: OSTrackConfig, device=None, fast: bool = False,
                 options: FastOptions | None = None):
        self.cfg = cfg
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.model.fast = fast
        self.fast = fast
        if options is not None and not fast:
            raise ValueError("fast-path options need fast=True")
        if type(self).ce_scores is not OSTrackTracker.ce_scores:
            self.model.backbone.score_rule = self.ce_scores
        self.engine = TrackingEngine(self.model, cfg, self.device, fast=True, options=options) if fast else None
        self.window = hann2d(cfg.feat_sz_s, centered=True).to(self.device)
        self.debug = FrameDebug()
        self.keep_debug = False
        self._batch_engine: TrackingEngine | None = None
        self._members: list[SequenceState] = []
        self._stacked = None

    @classmethod
    def _model_spec(cls, context: TrackerContext, preset: str | None) -> TrackerSpec:
        spec = context.spec
        base = preset or cls.preset
        if base is not None:
            spec = replace(spec, tracker=str(base))
        elif cls is not OSTrackTracker:
            raise UserError(f"{cls.__name__}: set its class attribute 'preset' (a preset name or a YAML path) "
                            "or pass --tracker-opt preset=NAME")
        if is_config_path(spec.tracker) and not Path(spec.tracker).is_file():
            raise UserError(f"{spec.tracker}: tracker config not found")
        return spec

    @classmethod
    def describe(cls, context: TrackerContext, preset: str | None = None) -> tuple[dict, Path]:
        """What :meth:`from_context` will load: the resolved config (for ``run.json``) and the checkpoint."""
        spec = cls._model_spec(context, preset)
        return cls.adapt_config(config_for_spec(spec)).to_dict(), checkpoint_path(spec)

    @classmethod
    def from_context(cls, context: TrackerContext, preset: str | None = None) -> "OSTrackTracker":
        """The factory the runner calls: the model of ``context.spec`` (its preset or YAML, variant flags,
        checkpoint, fast path), or, for a subclass run as a plug-in, of ``preset`` / ``cls.preset``."""
        spec = cls._model_spec(context, preset)
        model, cfg = build_ostrack_model(spec, cls.adapt_config(config_for_spec(spec)))
        return cls(model, cfg, context.device, fast=spec.fast, options=spec.fast_options())

    @classmethod
    def adapt_config(cls, cfg: OSTrackConfig) -> OSTrackConfig:
        """The model config this tracker runs (after the preset and the variant flags); override to change
        it, e.g. ``dataclasses.replace(cfg, ce_keep_ratio=(0.8, 0.7, 0.6))``."""
        return cfg

    def ce_scores(self, probs: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """How candidate elimination ranks the search tokens: ``probs`` ``(B, heads, rows, Ns)`` are the
        attention probabilities from the ranking template rows to the search tokens, ``valid`` ``(B, rows)``
        weighs rows 1/0 (``None``: all count); returns ``(B, Ns)``, the highest kept. The official rule is
        the mean over rows, then heads (:func:`~ostrack_eval.trackers.ce.mean_scores`)."""
        return mean_scores(probs, valid)

    @torch.no_grad()
    def initialize(self, image: np.ndarray, box, info: SequenceInfo | None = None) -> None:
        box = [float(v) for v in box]
        if self.fast:
            self._seq = self.engine.start(image, box)
            self.z_patch, self.template, self.mask_z = self._seq.z_patch, self._seq.template, self._seq.mask
            self._templates = self.engine.batch_templates([self._seq])
        else:
            self.z_patch, self.template, self.mask_z = template_inputs(image, box, self.cfg, self.device)
        self.state = box

    @torch.no_grad()
    def track(self, image: np.ndarray) -> np.ndarray:
        if self.fast:
            return self._track_fast(image)
        H, W = image.shape[:2]
        x_patch, resize_factor, _ = sample_target(image, self.state, self.cfg.search_factor, self.cfg.search_size)
        search = normalize_patch(x_patch, self.device)
        out = self.model(self.template, search, ce_template_mask=self.mask_z)
        before = self.decode(out["score_map"], out["size_map"], out["offset_map"], resize_factor)
        self.state = clip_box(before, H, W, margin=10)
        if self.keep_debug:
            self.debug = FrameDebug(resize_factor, x_patch, out, self._response, self._pred_box, before)
        return np.asarray(self.state, dtype=np.float64)

    def decode(self, score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
               resize_factor: float) -> list[float]:
        """Hann-weighted argmax decode → frame ``x, y, w, h`` before clipping (relative to ``self.state``)."""
        response = self.window * score_map
        pred = self.model.box_head.cal_bbox(response, size_map, offset_map).view(-1, 4)
        # float32 tensor arithmetic before .tolist(), as in the official code
        pred_box = (pred.mean(dim=0) * self.cfg.search_size / resize_factor).tolist()
        self._response, self._pred_box = response, pred_box
        return map_box_back(self.state, pred_box, resize_factor, self.cfg.search_size)

    def _track_fast(self, image: np.ndarray) -> np.ndarray:
        self._seq.box = list(self.state)  # lets callers set ``state`` (teacher forcing) as on the faithful path
        self.engine.keep_debug = self.keep_debug
        box = self.engine.step([image], [self._seq], self._templates)[0]
        self.state = self._seq.box
        if self.keep_debug:
            last = self.engine.last
            self.debug = FrameDebug(last.resize_factors[0], np.asarray(last.patches[0]), {}, last.response,
                                    last.pred_boxes[0], last.boxes_before_clip[0])
        return box

    # the batched form: B sequences in lockstep, one forward pass per step
    def _engine_for_batches(self) -> TrackingEngine:
        if self._batch_engine is None:
            self._batch_engine = self.engine if self.fast else TrackingEngine(self.model, self.cfg, self.device,
                                                                              fast=False)
        return self._batch_engine

    @torch.no_grad()
    def start(self, image: np.ndarray, box, info: SequenceInfo | None = None) -> SequenceState:
        """Initialise one sequence of a batch; its state goes to :meth:`step`."""
        return self._engine_for_batches().start(image, box)

    @torch.no_grad()
    def step(self, images: list[np.ndarray], states: list[SequenceState]) -> list[np.ndarray]:
        """One frame of each sequence of ``states``; the stacked templates are reused while they are the same."""
        engine = self._engine_for_batches()
        # holding the states keeps their ids from being reused, so identity means the same sequences
        if len(states) != len(self._members) or any(a is not b for a, b in zip(states, self._members)):
            self._members = list(states)
            self._stacked = engine.batch_templates(states)
        return engine.step(images, states, self._stacked)
