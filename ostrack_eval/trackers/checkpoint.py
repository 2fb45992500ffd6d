"""Loading OSTrack checkpoints safely.

Official training checkpoints pickle objects of the official training code (``settings``, ``stats``: its
own classes, an ``easydict.EasyDict`` config, numpy scalars). A checkpoint is untrusted input, so nothing
in it may run. Everything goes through torch's own ``weights_only`` unpickler, which only ever calls the
globals it is told are safe. The file's pickle is first scanned (without running it) for the globals it
names beyond torch's safe set; each one is either refused (anything that could run code) or replaced by an
inert placeholder class that only stores what the pickle hands it.
"""

from __future__ import annotations

import collections
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

try:
    from numpy._core import multiarray as np_multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as np_multiarray
from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing


class _Inert:
    """Placeholder of a class that does not exist here: it runs nothing and keeps nothing usable.

    An instance pickled as a plain object or as a dict subclass (``easydict.EasyDict``) comes back as an
    empty ``OrderedDict``: the one container torch's unpickler lets take both attributes (BUILD) and items
    (SETITEMS). Called with arguments, it stores them.
    """

    def __new__(cls, *args, **kwargs):
        if not args and not kwargs:
            return collections.OrderedDict()
        inst = object.__new__(cls)
        inst.__dict__["_args"] = args
        return inst

    def __setstate__(self, state):
        self.__dict__["_state"] = state


def _placeholder(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return type(name, (_Inert,), {"__module__": f"ostrack_eval.untrusted.{module}"})


# Modules whose globals can do harm when called: a pickle naming them is refused, not placeholdered,
# because it is an attack (or a format we must not guess at), and the user should hear so.
_DANGEROUS_MODULES = frozenset((
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "shutil", "socket", "importlib",
    "runpy", "pickle", "marshal", "types", "codecs", "io", "ctypes", "functools", "operator", "torch", "numpy",
    "pty", "platform", "webbrowser", "code", "pdb", "timeit", "pydoc", "multiprocessing", "threading", "signal",
    "tempfile", "glob", "pathlib", "urllib", "http", "ftplib", "smtplib", "telnetlib", "asyncio", "inspect",
    "copyreg", "contextlib", "zipimport", "pkgutil", "site", "ensurepip", "venv", "distutils", "setuptools",
    "pip", "imp", "commands", "popen2", "cProfile", "profile", "trace", "bdb", "doctest", "unittest", "gc",
))
# numpy scalars and arrays (official ``stats`` hold numpy floats): the constructors torch's documentation
# lists as safe for weights_only loading, under numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) names.
_NUMPY_DATA = re.compile(r"numpy(?:\._core|\.core)?(?:\.multiarray)?\.(scalar|_reconstruct|dtype|ndarray)$")
_NUMPY_OBJECTS = {"scalar": np_multiarray.scalar, "_reconstruct": np_multiarray._reconstruct,
                  "dtype": np.dtype, "ndarray": np.ndarray}
# BUILD checks the exact type of what it fills: every numpy dtype class
_NUMPY_DTYPES = sorted({type(np.dtype(code)) for code in np.typecodes["All"]}, key=repr)
# A global spelled like a function (lower-case or private name) in a module we do not know is a callable,
# not a data class: official checkpoints pickle only classes (``Settings``, ``AverageMeter``, ``EasyDict``).
_CLASS_NAME = re.compile(r"[A-Z]\w*$")


class UnsafeCheckpointError(UserError):
    pass


def _placeholders_for(path: Path) -> list:
    """A placeholder per global the pickle names beyond torch's safe set; refuses any that could run code."""
    try:
        names = get_unsafe_globals_in_checkpoint(path)
    except Exception as exc:  # noqa: BLE001 - any failure to scan is a malformed file, reported in one line
        raise UserError(f"{path}: not a readable torch zip checkpoint ({_first_line(exc)})") from None
    out: list = []
    for qualified in names:
        module, _, name = qualified.rpartition(".")
        numpy_data = _NUMPY_DATA.match(qualified)
        if numpy_data:
            out.append((_NUMPY_OBJECTS[numpy_data.group(1)], qualified))
            continue
        if module.split(".")[0] in _DANGEROUS_MODULES:
            raise UnsafeCheckpointError(
                f"{path}: refusing to load: the pickle asks for {qualified}, which could run code")
        if not _CLASS_NAME.match(name):
            raise UnsafeCheckpointError(
                f"{path}: refusing to load: the pickle calls {qualified}, a function, not a data class")
        out.append((_placeholder(qualified), qualified))
    return out + _NUMPY_DTYPES


_REFUSED_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # torch's weights-only refusal wraps the cause in advice to load with weights_only=False: the one
    # thing not to do with an untrusted file, so that advice is never relayed
    cause = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
    if cause:
        return cause.group(1)
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and "weights_only" not in line and "arbitrary code" not in line]
    return lines[0] if lines else type(exc).__name__


def _refused_global(exc: BaseException, path: Path) -> UnsafeCheckpointError | None:
    """The refusal naming the global torch's unpickler blocked (legacy, non-zip files are not pre-scanned)."""
    found = _REFUSED_GLOBAL.search(str(exc))
    if found is None:
        return None
    qualified = found.group(1)
    why = ("which could run code" if qualified.split(".")[0] in _DANGEROUS_MODULES
           else "which is not a type a checkpoint may hold")
    return UnsafeCheckpointError(f"{path}: refusing to load: the pickle asks for {qualified}, {why}")


def _load_object(path: Path) -> object:
    # the globals are listed from data.pkl alone, so the tensors are read once, by the one load below
    placeholders = _placeholders_for(path) if zipfile.is_zipfile(path) else []
    try:
        with safe_globals(placeholders), warnings.catch_warnings():
            # torch warns about a pickle protocol it may not support; what it then refuses is our one line
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, the user gets one line
        raise _refused_global(exc, path) or UserError(
            f"{path}: not a readable torch checkpoint ({_first_line(exc)})") from None


def _extract_state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and "net" in obj:
        obj = obj["net"]
    elif isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, (dict, collections.OrderedDict)):
        raise UserError(f"{path}: no state_dict found (expected {{'net': state_dict}} or a plain state_dict)")
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise UserError(f"{path}: the checkpoint holds no tensors")
    # checkpoints saved from DataParallel/DistributedDataParallel prefix every key
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the network weights of an OSTrack checkpoint without executing anything from the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    return _extract_state_dict(_load_object(path), path)


def apply_state_dict(model: torch.nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """Strict load with a one-line explanation of every mismatch."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing keys: {listing(missing, 4)}")
    if unexpected:
        problems.append(f"unexpected keys: {listing(unexpected, 4)}")
    if shapes:
        problems.append(f"shape mismatches (checkpoint vs model): {listing(shapes, 3)}")
    if problems:
        raise UserError(f"{source}: checkpoint does not fit this tracker config — " + "; ".join(problems))
    model.load_state_dict(sd, strict=True)
