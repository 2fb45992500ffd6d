"""Finding a tracker's factory (entry point, ``module:Class``, ``file.py:Class``), building it, and holding it to
the contract of :mod:`ostrack_eval.trackers.api` while it runs.

Every tracker, built-in or not, comes through here: :func:`load_factory` resolves a target string to the
factory and where it came from (:class:`PluginSource`, recorded in ``run.json``), :func:`create` calls it
with a :class:`~ostrack_eval.trackers.api.TrackerContext`, :func:`wrap` puts the instance behind
:class:`RunnableTracker`, which names the tracker, sequence and frame in every failure.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ostrack_eval.errors import UserError
from ostrack_eval.trackers.api import SequenceInfo, TrackerContext, TrackerFault, check_box, read_output
from ostrack_eval.trackers.spec import file_sha256

ENTRY_POINT_GROUP = "ostrack_eval.trackers"


@dataclass(frozen=True)
class PluginSource:
    """Where a tracker's code came from: what ``run.json`` records so a changed plug-in is noticed."""

    name: str  # what --tracker said
    target: str  # module:attr
    kind: str  # builtin | entry_point | module | file
    distribution: str | None = None
    version: str | None = None
    path: str | None = None  # the module's file (module and file plug-ins)
    sha256: str | None = None  # of that file

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def describe(exc: BaseException) -> str:
    """``Type: message`` of a plug-in's exception, even one whose ``__str__`` raises in turn."""
    try:
        text = str(exc)
    except Exception:  # the plug-in's own exception class is broken too
        text = "(its message cannot be printed)"
    return f"{type(exc).__name__}: {text}"


def entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plug-ins by name (nothing is imported)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _attr(obj, path: str, label: str):
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UserError(f"tracker {label!r}: {getattr(obj, '__name__', obj)!s} has no attribute "
                            f"{part!r}") from None
    return obj


def _import_module(module: str, label: str):
    try:
        return importlib.import_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a plug-in's import may raise anything (SystemExit too): its fault
        raise UserError(f"tracker {label!r}: cannot import {module} ({describe(exc)})") from None


def _module_name_for(path: Path) -> str:
    # unique per file, stable across processes (workers re-import it by path)
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"ostrack_eval_plugin_{path.stem.replace('-', '_')}_{digest}"


def _import_file(path: Path, label: str):
    if not path.is_file():
        raise UserError(f"tracker {label!r}: {path}: no such file")
    name = _module_name_for(path.resolve())
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"tracker {label!r}: {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up by module name
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        del sys.modules[name]
        raise UserError(f"tracker {label!r}: cannot import {path} ({describe(exc)})") from None
    return module


def _file_source(module) -> tuple[str | None, str | None]:
    path = getattr(module, "__file__", None)
    if not path or not Path(path).is_file():
        return None, None
    return str(Path(path).resolve()), file_sha256(path)


def _distribution(module_name: str) -> tuple[str | None, str | None]:
    top = module_name.split(".")[0]
    dists = importlib.metadata.packages_distributions().get(top) or []
    for dist in dists:
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None, None


def load_target(target: str, label: str, kind: str) -> tuple[Callable, PluginSource]:
    """Import ``module:attr`` (``path/to/file.py:Class`` for a file) and say where it came from."""
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise UserError(f"tracker {label!r}: expected module:Class or path/to/file.py:Class")
    if where.endswith(".py"):
        module = _import_file(Path(where), label)
        path, sha = _file_source(module)
        return _attr(module, attr, label), PluginSource(label, target, "file", path=path, sha256=sha)
    module = _import_module(where, label)
    factory = _attr(module, attr, label)
    if kind == "builtin":
        return factory, PluginSource(label, target, kind)
    dist, version = _distribution(where)
    path, sha = _file_source(module)
    return factory, PluginSource(label, target, kind, dist, version, path, sha)


def load_entry_point(ep: importlib.metadata.EntryPoint) -> tuple[Callable, PluginSource]:
    try:
        factory = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise UserError(f"tracker {ep.name!r} (entry point {ep.value}): cannot import it "
                        f"({describe(exc)})") from None
    dist = getattr(ep, "dist", None)
    source = PluginSource(ep.name, ep.value, "entry_point", dist.name if dist is not None else None,
                          dist.version if dist is not None else None)
    return factory, source


def takes_checkpoint(factory) -> bool:
    return bool(getattr(factory, "takes_checkpoint", False))


def takes_ce_options(factory) -> bool:
    return bool(getattr(factory, "takes_ce_options", False))


def check_spec_flags(factory, spec, label: str) -> None:
    """Refuse the flags ``factory`` would silently ignore: a checkpoint it does not load, or OSTrack's
    candidate-elimination variants (``--no-ce``, ``--keep-ratio``, ``--ce-template``) for a tracker without CE,
    either of which would make a run look like something it is not."""
    if spec.checkpoint and not takes_checkpoint(factory):
        raise UserError(f"tracker {label!r} takes no checkpoint (--checkpoint {spec.checkpoint})")
    given = [flag for flag, on in (("--no-ce", spec.no_ce), ("--keep-ratio", spec.keep_ratio is not None),
                                   ("--ce-template", spec.ce_template is not None)) if on]
    if given and not takes_ce_options(factory):
        raise UserError(f"tracker {label!r} has no candidate elimination to change ({', '.join(given)}: "
                        "OSTrack trackers only)")


def create(factory: Callable, context: TrackerContext, label: str) -> Any:
    """Build the tracker: ``factory.from_context(context, **options)`` when defined, else ``factory(context,
    **options)``. Failures to build are bad input (a wrong option, a missing file), one line."""
    options = context.spec.option_dict
    check_spec_flags(factory, context.spec, label)
    build = getattr(factory, "from_context", factory)
    try:
        tracker = build(context, **options)
    except UserError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise UserError(f"tracker {label!r}: could not be built ({describe(exc)})") from None
    check_interface(tracker, label)
    return tracker


def check_interface(obj, label: str) -> None:
    """A tracker class or instance must have ``initialize`` and ``track`` (a factory function is checked by
    what it builds)."""
    missing = [m for m in ("initialize", "track") if not callable(getattr(obj, m, None))]
    if missing:
        name = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise UserError(f"tracker {label!r}: {name} lacks the tracker interface "
                        f"(no {' or '.join(m + '()' for m in missing)} method; see the README's 'Your own tracker')")


def _initialize_style(tracker) -> str:
    """``pytracking`` for ``initialize(image, info)``, ``info`` for ``initialize(image, box, info)``, else
    ``plain`` (``initialize(image, box)``)."""
    try:
        params = list(inspect.signature(tracker.initialize).parameters.values())
    except (TypeError, ValueError):
        return "plain"
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return "info"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) == 2 and positional[1].name == "info":
        return "pytracking"
    return "info" if len(positional) >= 3 else "plain"


class RunnableTracker:
    """A tracker behind the contract: adapts the pytracking form, checks every box, and turns every failure
    into one :class:`TrackerFault` line naming the tracker, the sequence and the frame (``SystemExit`` and
    other ``BaseException`` subclasses included: only Ctrl-C passes through, so plug-in code cannot end the run)."""

    def __init__(self, tracker, label: str):
        self.tracker, self.label = tracker, label
        self.style = _initialize_style(tracker)
        self.batched = callable(getattr(tracker, "start", None)) and callable(getattr(tracker, "step", None))
        self.sequence, self.frame = "?", 0
        self.confidence: float | None = None

    @property
    def device(self):
        return getattr(self.tracker, "device", None)

    def _fault(self, what: str, sequence: str, frame: int) -> TrackerFault:
        return TrackerFault(f"{self.label} {what} (sequence {sequence}, frame {frame})")

    def _raised(self, exc: BaseException, sequence: str, frame: int) -> TrackerFault:
        return self._fault(f"raised {describe(exc)}", sequence, frame)

    def _box(self, out, sequence: str, frame: int) -> np.ndarray:
        try:
            box, confidence = read_output(out)
        except ValueError as exc:
            raise self._fault(str(exc), sequence, frame) from None
        problem = check_box(box)
        if problem is not None:
            raise self._fault(problem, sequence, frame)
        self.confidence = confidence
        return box

    def _init_call(self, method, image: np.ndarray, box: np.ndarray, info: SequenceInfo):
        if self.style == "pytracking":
            return method(image, {"init_bbox": box.tolist(), "sequence": info.name})
        if self.style == "info":
            return method(image, box, info)
        return method(image, box)

    def initialize(self, image: np.ndarray, box: np.ndarray, info: SequenceInfo) -> None:
        self.sequence, self.frame = info.name, 0
        try:
            self._init_call(self.tracker.initialize, image, box, info)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise self._raised(exc, info.name, 0) from exc

    def track(self, image: np.ndarray) -> np.ndarray:
        self.frame += 1
        try:
            out = self.tracker.track(image, {}) if self.style == "pytracking" else self.tracker.track(image)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise self._raised(exc, self.sequence, self.frame) from exc
        return self._box(out, self.sequence, self.frame)

    # the batched form (only when the tracker has it)
    def start(self, image: np.ndarray, box: np.ndarray, info: SequenceInfo):
        try:
            return self._init_call(self.tracker.start, image, box, info)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise self._raised(exc, info.name, 0) from exc

    def step(self, images: list[np.ndarray], states: list,
             where: list[tuple[str, int]]) -> list[np.ndarray | TrackerFault]:
        """One lockstep step: a box, or the fault of that sequence's box, per sequence. ``where`` names each
        state's sequence and frame for the messages; a step that raises as a whole raises for its first."""
        try:
            outs = list(self.tracker.step(images, states))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise self._raised(exc, *where[0]) from exc
        if len(outs) != len(states):
            raise self._fault(f"step returned {len(outs)} boxes for {len(states)} sequences", *where[0])
        results = []
        for out, (seq, frame) in zip(outs, where):
            try:
                results.append(self._box(out, seq, frame))
            except TrackerFault as fault:  # one bad box fails its own sequence, not the step's others
                results.append(fault)
        return results


def wrap(tracker, label: str) -> RunnableTracker:
    return tracker if isinstance(tracker, RunnableTracker) else RunnableTracker(tracker, label)
