"""The picklable :class:`TrackerSpec` (what to build, rebuilt as is in worker processes) and its option checks.

Imports nothing of the trackers themselves: naming a tracker, checking its flags and naming its results
folder must not load a model.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ostrack_eval.errors import UserError
from ostrack_eval.utils import readfile

CE_TEMPLATES = ("ctr_point", "all", "ctr_rec", "gt_box")
DTYPES = ("fp32", "bf16", "fp16")
# torch.compile modes (Inductor), plus "cudagraphs": dynamo capture replayed as CUDA graphs, no Inductor
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs", "cudagraphs")


def check_fast_options(dtype: str, compile_mode: str | None) -> None:
    if dtype not in DTYPES:
        raise UserError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if compile_mode is not None and compile_mode not in COMPILE_MODES:
        raise UserError(f"--compile must be one of {', '.join(COMPILE_MODES)}, got {compile_mode!r}")


@dataclass(frozen=True)
class FastOptions:
    """Switches of the fast path. The defaults are its exact-maths form: fp32, eager, crops by cv2.

    ``dtype``: run the network under autocast (``bf16``/``fp16``; on CUDA mainly). ``compile``: a
    ``torch.compile`` mode (the whole step is one graph, ``fullgraph=True``); ``reduce-overhead`` and
    ``cudagraphs`` replay CUDA graphs on a GPU (one per batch size).
    ``device_crop``: crop and resize on the model's device (:func:`crops.crop_torch`) instead of cv2.
    """

    dtype: str = "fp32"
    compile: str | None = None
    device_crop: bool = False

    def __post_init__(self):
        check_fast_options(self.dtype, self.compile)


def parse_keep_ratio(text: str) -> float | tuple[float, ...]:
    """``--keep-ratio``: one ρ for every CE layer (``0.7``) or one per CE layer (``0.7,0.6,0.5``)."""
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise UserError(f"expected a number or comma-separated numbers (one per CE layer), got {text!r}") from None
    return values[0] if len(values) == 1 else values


def format_keep_ratio(ratio: float | tuple[float, ...], sep: str = "_") -> str:
    """As the run name shows it: ``0.5``, or ``0.7_0.6_0.5`` per layer (``sep=","``: as the flag takes it)."""
    return sep.join(f"{r:g}" for r in ratio) if isinstance(ratio, tuple) else f"{ratio:g}"


def parse_option(text: str) -> dict:
    """``--tracker-opt``: ``key=value`` (the value read as a YAML scalar: ``3``, ``0.5``, ``true``, ``abc``) or
    the path of a YAML file holding a mapping of options."""
    if "=" in text:
        key, _, value = text.partition("=")
        key = key.strip()
        if not key.isidentifier():
            raise UserError(f"--tracker-opt {text!r}: the key must be a Python identifier")
        try:
            parsed = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            parsed = value
        if isinstance(parsed, (dict, list)):  # a scalar was asked for; keep what was typed
            parsed = value
        return {key: parsed}
    path = Path(text)
    if not path.is_file():
        raise UserError(f"--tracker-opt {text!r}: expected key=value or a YAML file of options")
    try:
        doc = yaml.safe_load(readfile.read_text(path))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(isinstance(k, str) and k.isidentifier() for k in doc):
        raise UserError(f"{path}: tracker options must be a mapping of names to values")
    return doc


def _freeze(value):
    """Options as hashable, picklable values (lists become tuples, mappings sorted item tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value):
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
                                        for v in value) and value:
        return {k: _thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class TrackerSpec:
    """Everything needed to rebuild a tracker in another process.

    ``tracker`` is a registered name (``ostrack256``, ``identity``, an entry point of the
    ``ostrack_eval.trackers`` group), the path of a tracker YAML (ours, or an official OSTrack experiment
    YAML), or a plug-in class as ``package.module:Class`` / ``path/to/file.py:Class``. ``options`` are the
    plug-in's ``--tracker-opt`` values. ``keep_ratio`` is one ρ or one per CE layer. ``dtype``, ``compile``
    and ``device_crop`` are the fast path's switches (:class:`FastOptions`).
    """

    tracker: str
    checkpoint: str | None = None
    no_ce: bool = False
    keep_ratio: float | tuple[float, ...] | None = None
    ce_template: str | None = None
    name: str | None = None
    fast: bool = False
    dtype: str = "fp32"
    compile: str | None = None
    device_crop: bool = False
    options: tuple = ()

    def __post_init__(self):
        if isinstance(self.keep_ratio, (list, tuple)):  # run.json stores a per-layer ratio as a list
            ratios = tuple(float(r) for r in self.keep_ratio)
            object.__setattr__(self, "keep_ratio", ratios[0] if len(ratios) == 1 else ratios)
        if isinstance(self.options, dict):
            object.__setattr__(self, "options", _freeze(self.options))
        ratios = self.keep_ratios or ()
        for r in ratios:
            if not (0.0 < r <= 1.0) or math.isnan(r):
                raise UserError(f"--keep-ratio must be in (0, 1], got {format_keep_ratio(self.keep_ratio, ',')}")
        if self.ce_template is not None and self.ce_template not in CE_TEMPLATES:
            raise UserError(f"--ce-template must be one of {', '.join(CE_TEMPLATES)}, got {self.ce_template!r}")
        if self.no_ce and any(r < 1.0 for r in ratios):
            raise UserError("--no-ce and --keep-ratio < 1 contradict each other")
        check_fast_options(self.dtype, self.compile)
        if not self.fast and (self.dtype != "fp32" or self.compile or self.device_crop):
            raise UserError("--dtype, --compile and --device-crop are fast-path options: add --fast")

    @property
    def keep_ratios(self) -> tuple[float, ...] | None:
        if self.keep_ratio is None:
            return None
        return self.keep_ratio if isinstance(self.keep_ratio, tuple) else (float(self.keep_ratio),)

    @property
    def option_dict(self) -> dict:
        return _thaw(self.options) if self.options else {}

    @property
    def base_name(self) -> str:
        """The tracker part of the run name: a registered name as is, a YAML's stem, a plug-in's class."""
        if is_plugin_path(self.tracker):
            return self.tracker.rpartition(":")[2]
        if is_config_path(self.tracker):
            return Path(self.tracker).name.split(".")[0]
        return self.tracker

    def run_name(self) -> str:
        """Results folder name: preset plus variant suffixes (``ostrack256-noce``, ``-keep0.5``, ``-all``)."""
        if self.name:
            return self.name
        parts = [self.base_name]
        if self.no_ce:
            parts.append("noce")
        if self.keep_ratio is not None:
            parts.append(f"keep{format_keep_ratio(self.keep_ratio)}")
        if self.ce_template is not None and self.ce_template != "ctr_point":
            parts.append(self.ce_template)
        if self.fast:
            parts.append("fast")
        if self.dtype != "fp32":  # half precision changes the boxes; compiling does not
            parts.append(self.dtype)
        if self.device_crop:  # device resampling differs from OpenCV's by a grey level here and there
            parts.append("devcrop")
        return "-".join(parts)

    def fast_options(self) -> FastOptions | None:
        """The :class:`FastOptions` of a fast-path spec, else ``None``."""
        if not self.fast:
            return None
        return FastOptions(self.dtype, self.compile, self.device_crop)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["keep_ratio"] = list(self.keep_ratio) if isinstance(self.keep_ratio, tuple) else self.keep_ratio
        d["options"] = self.option_dict
        return d


def is_config_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def is_plugin_path(name: str) -> bool:
    """``module:Class`` or ``file.py:Class`` (a Windows drive letter is not a module)."""
    head, sep, tail = name.rpartition(":")
    return bool(sep and head and tail and len(head) > 1)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
