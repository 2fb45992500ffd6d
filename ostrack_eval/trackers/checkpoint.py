"""Loading OSTrack checkpoints safely.

Official training checkpoints pickle objects of the official training code (``settings``, ``stats``,
``constructor``). A checkpoint is untrusted input, so nothing in it may run: we try
``torch.load(weights_only=True)`` first and, where it refuses, unpickle with a restricted unpickler
that turns unknown classes into inert placeholders and refuses every other callable.
"""

from __future__ import annotations

import collections
import io
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from ostrack_eval.errors import UserError


class _Inert:
    """Stands in for an object of a class that does not exist here; it stores state and does nothing."""

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        self._state = state

    def __reduce__(self):  # never re-pickle into something callable
        return (_Inert, ())


def _placeholder(module: str, name: str) -> type:
    return type(name, (_Inert,), {"__module__": f"ostrack_eval.untrusted.{module}"})


# What a tensor/state_dict pickle legitimately calls. Everything else is either a data-only class
# (replaced by a placeholder, whose construction runs no code) or refused.
_ALLOWED_CALLABLES = {
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("collections", "OrderedDict"),
    ("torch", "Size"),
}
_STORAGES = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
             "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "UntypedStorage"}
# modules whose callables can do harm: never placeholder them, refuse outright
_DANGEROUS_MODULES = ("os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "shutil", "socket",
                      "importlib", "runpy", "pickle", "marshal", "types", "codecs", "io", "ctypes", "functools",
                      "operator", "torch", "numpy", "pty", "platform", "webbrowser", "code", "pdb", "timeit")


class UnsafeCheckpointError(UserError):
    pass


def _make_unpickler(fh, storages: dict, zf: zipfile.ZipFile | None, prefix: str):
    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in _ALLOWED_CALLABLES:
                mod = __import__(module, fromlist=[name])
                return getattr(mod, name)
            if module == "torch" and name in _STORAGES:
                return getattr(torch, name)
            if module == "torch" and name in ("float32", "float16", "bfloat16", "float64", "int64", "int32",
                                              "uint8", "int8", "int16", "bool"):
                return getattr(torch, name)
            root = module.split(".")[0]
            if root in _DANGEROUS_MODULES or module in _DANGEROUS_MODULES:
                raise UnsafeCheckpointError(
                    f"refusing to load: the pickle asks for {module}.{name}, which could run code")
            return _placeholder(module, name)

        def persistent_load(self, pid):
            kind = pid[0]
            if kind != "storage":
                raise UnsafeCheckpointError(f"unexpected persistent id {kind!r}")
            storage_type, key = pid[1], pid[2]
            if key not in storages:
                with warnings.catch_warnings():  # TypedStorage deprecation: torch's own loader does the same
                    warnings.simplefilter("ignore", UserWarning)
                    dtype = storage_type.dtype if hasattr(storage_type, "dtype") else torch.uint8
                data = zf.read(f"{prefix}/data/{key}")
                storages[key] = torch.UntypedStorage.from_buffer(data, dtype=torch.uint8) if data else \
                    torch.UntypedStorage(0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    storages[key] = torch.storage.TypedStorage(wrap_storage=storages[key], dtype=dtype,
                                                               _internal=True)
            return storages[key]

    return RestrictedUnpickler(fh)


def _restricted_load(path: Path) -> object:
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a torch zip checkpoint and weights_only loading refused it")
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise UserError(f"{path}: no data.pkl inside the checkpoint archive")
        prefix = pkl[0].rsplit("/", 1)[0]
        storages: dict = {}
        with zf.open(pkl[0]) as fh:
            data = io.BytesIO(fh.read())
        return _make_unpickler(data, storages, zf, prefix).load()


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
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        obj = _restricted_load(path)
    except (RuntimeError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable torch checkpoint ({str(exc).splitlines()[0]})") from None
    return _extract_state_dict(obj, path)


def _summarise(keys: list[str], limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def apply_state_dict(model: torch.nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """Strict load with a one-line explanation of every mismatch."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing keys: {_summarise(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_summarise(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches (checkpoint vs model): {_summarise(shapes, 3)}")
    if problems:
        raise UserError(f"{source}: checkpoint does not fit this tracker config — " + "; ".join(problems))
    model.load_state_dict(sd, strict=True)
