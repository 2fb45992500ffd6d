"""``run.json``: what produced the results of a run folder, merged across benches, shards and resumes.

The tracker part (resolved model config, checkpoint hash, fast mode) is the run's identity: results made
with a different one must not land in the same folder, so a mismatch is refused. Everything else is a
history of sessions per bench (who ran what, where, with which versions, when).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ostrack_eval.errors import UserError
from ostrack_eval.run.lock import FileLock
from ostrack_eval.run.store import ResultStore
from ostrack_eval.trackers.spec import TrackerSpec, file_sha256
from ostrack_eval.utils.atomic import atomic_write_text, is_temp_file
from ostrack_eval.utils import readfile

FORMAT = 1


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass(frozen=True)
class TrackerIdentity:
    spec: TrackerSpec
    config: dict | None  # resolved OSTrack config (CE locations, keep ratios, template range, sizes)
    checkpoint: Path | None
    checkpoint_sha256: str | None
    plugin: dict | None = None  # where a plug-in's code came from (name, version or file hash)

    def fingerprint(self) -> dict:
        """What must match for two sessions' results to belong in one folder (compiling, batching and
        workers change how fast, not what, so they are not part of it)."""
        fp = {"config": self.config if self.config is not None else {"tracker": self.spec.tracker},
              "fast": self.spec.fast, "checkpoint_sha256": self.checkpoint_sha256}
        # only when not the default, so folders written before these options existed still match
        if self.spec.dtype != "fp32":
            fp["dtype"] = self.spec.dtype
        if self.spec.device_crop:
            fp["device_crop"] = True
        if self.plugin is not None:  # a changed plug-in (version, file content) is another tracker
            fp["plugin"] = _plugin_fingerprint(self.plugin)
        if self.spec.options:
            fp["options"] = self.spec.option_dict
        return fp

    def as_dict(self) -> dict:
        ckpt = None if self.checkpoint is None else {"path": str(self.checkpoint.resolve()),
                                                     "sha256": self.checkpoint_sha256}
        out = {"tracker": self.spec.as_dict(), "tracker_config": self.config, "checkpoint": ckpt}
        if self.plugin is not None:
            out["plugin"] = self.plugin
        return {**out, "fingerprint": self.fingerprint()}


def _plugin_fingerprint(plugin: dict) -> dict:
    """What identifies a plug-in's code: where the same file lies (``a.py`` or ``./a.py``) does not matter."""
    fp = {k: v for k, v in plugin.items() if k not in ("path", "name")}
    if plugin.get("kind") == "file":
        where, _, attr = plugin["target"].rpartition(":")
        fp["target"] = f"{Path(where).name}:{attr}"
    return fp


def describe_tracker(spec: TrackerSpec) -> TrackerIdentity:
    """Resolve the tracker, config and checkpoint ``spec`` will use (fails early if any is missing).

    A factory with a ``describe(context, **options) -> (config dict, checkpoint path)`` classmethod (the
    OSTrack trackers) says what it will load; a plug-in's source (distribution and version, or file and
    hash) is recorded.
    """
    from ostrack_eval.trackers.api import TrackerContext
    from ostrack_eval.trackers.plugins import check_spec_flags
    from ostrack_eval.trackers.registry import resolve

    factory, source = resolve(spec)
    check_spec_flags(factory, spec, spec.tracker)
    config, ckpt = None, None
    describe = getattr(factory, "describe", None)
    if describe is not None:
        try:
            config, ckpt = describe(TrackerContext(spec), **spec.option_dict)
        except TypeError as exc:  # an option the tracker does not take
            raise UserError(f"tracker {spec.tracker!r}: {exc}") from None
    elif spec.checkpoint:
        ckpt = Path(spec.checkpoint)
        if not ckpt.is_file():
            raise UserError(f"{ckpt}: checkpoint not found")
    plugin = None if source.kind == "builtin" else source.as_dict()
    return TrackerIdentity(spec, config, ckpt, file_sha256(ckpt) if ckpt is not None else None, plugin)


def git_commit() -> str | None:
    """The commit of the ostrack_eval source tree that is running, if it is a git checkout."""
    src = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def software_versions() -> dict:
    from ostrack_eval import __version__

    return {"ostrack_eval": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            "numpy": _version("numpy"), "opencv": _version("opencv-python-headless") or _version("opencv-python"),
            "torch": _version("torch")}


def device_report(device) -> dict:
    """What a worker actually ran on: device, GPU name, torch and CUDA versions (when torch is in use)."""
    info = {"device": str(device) if device is not None else "cpu", "host": socket.gethostname()}
    torch = sys.modules.get("torch")
    if torch is None:
        return info
    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        info["device"] = f"cuda:{index}"
        info["gpu"] = torch.cuda.get_device_name(index)
    else:
        info["cpu_threads"] = torch.get_num_threads()
    return info


class RunRecord:
    """Read-merge-write of ``run.json`` under a short lock, so benches and shards can update it together."""

    def __init__(self, store: ResultStore):
        self.store = store
        self.path = store.run_json
        self._lock = FileLock(store.run_dir / ".run.json.lock")

    def read(self) -> dict | None:
        if not self.path.is_file():
            return None
        try:
            data = json.loads(readfile.read_text(self.path))
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.path}: cannot read run record ({exc}); fix or move it away") from None
        if not isinstance(data, dict):
            raise UserError(f"{self.path}: not a run record (expected a JSON object)")
        return data

    def begin(self, identity: TrackerIdentity, bench: str, session: dict) -> None:
        """Check ``identity`` against the folder's record and add ``session`` to ``bench``'s history."""
        with self._lock.hold():
            self._remove_stale_temps()
            data = self.read()
            if data is None:
                data = {"format": FORMAT, "run_name": self.store.run_name, "created": now(), **identity.as_dict(),
                        "benches": {}}
            else:
                _check_same_tracker(self.path, data, identity)
            entry = data.setdefault("benches", {}).setdefault(bench, {"first_started": session["started"]})
            entry.setdefault("sessions", []).append(session)
            self._write(data)

    def finish(self, bench: str, session: dict) -> None:
        """Replace the session record started by :meth:`begin` (same ``id``) with its final state."""
        with self._lock.hold():
            data = self.read() or {}
            entry = data.setdefault("benches", {}).setdefault(bench, {"first_started": session["started"]})
            sessions = entry.setdefault("sessions", [])
            for k, old in enumerate(sessions):
                if old.get("id") == session["id"]:
                    sessions[k] = session
                    break
            else:
                sessions.append(session)
            if session.get("finished"):
                entry["last_finished"] = session["finished"]
            self._write(data)

    def _write(self, data: dict) -> None:
        try:
            atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=False) + "\n")
        except OSError as exc:  # full disk, read-only folder: say which file, not a traceback
            raise UserError(f"{self.path}: cannot write run record ({exc.strerror or exc})") from exc

    def _remove_stale_temps(self) -> None:
        # every run.json writer holds the lock, so a temp file seen while holding it is a killed writer's
        for path in self.store.run_dir.glob(".run.json.*.tmp"):
            if is_temp_file(path):
                path.unlink(missing_ok=True)


def _check_same_tracker(path: Path, data: dict, identity: TrackerIdentity) -> None:
    old = data.get("fingerprint")
    new = json.loads(json.dumps(identity.fingerprint()))  # compare as stored (tuples become lists)
    if old is None:
        raise UserError(f"{path}: has no tracker fingerprint (not written by ostrack-eval run?); "
                        "use --name to write to another folder")
    diffs = _differences(old, new)
    if diffs:
        shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        raise UserError(f"{path}: these results were made with a different tracker configuration ({shown}); "
                        "results must not be mixed: use --name to write to another folder")


def _differences(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if old != new:
        return [f"{prefix.rstrip('.')}: {_short(old)} on disk, {_short(new)} now"]
    return []


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 20 else text[:12] + "…"
