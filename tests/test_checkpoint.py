"""Checkpoint loading: official layout, official training checkpoints, and untrusted pickles."""

import json
import os
import pickle
import re
import sys
import types

import numpy as np
import pytest
import torch

from conftest import REF, SMALL_CKPT, SMALL_YAML
from ostrack_eval.errors import UserError
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import get_preset, load_config
from ostrack_eval.trackers.factory import config_for_spec
from ostrack_eval.trackers.ostrack_tracker import build_ostrack_tracker
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.registry import TrackerSpec

MANIFESTS = {
    ("ostrack256", False): "vitb_256_mae_ce_32x4_ep300",
    ("ostrack256", True): "vitb_256_mae_32x4_ep300",
    ("ostrack384", False): "vitb_384_mae_ce_32x4_ep300",
    ("ostrack384", True): "vitb_384_mae_32x4_ep300",
}


def _manifest(name):
    m = json.loads((REF / f"manifest_{name}.json").read_text())
    keys = {k: v for k, v in m.items() if isinstance(v, dict) and "shape" in v}
    if not keys:
        keys = next(v for v in m.values() if isinstance(v, dict) and len(v) > 100)
    return m, keys


@pytest.mark.parametrize("preset,no_ce", list(MANIFESTS))
def test_full_models_match_official_manifests(preset, no_ce):
    m, keys = _manifest(MANIFESTS[(preset, no_ce)])
    model = build_model(config_for_spec(TrackerSpec(preset, no_ce=no_ce)))
    sd = model.state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == {k: v["shape"] for k, v in keys.items()}
    assert sum(p.numel() for p in model.parameters()) == m["n_parameters"]


@pytest.mark.parametrize("preset", ["ostrack256", "ostrack384"])
def test_full_size_official_layout_loads_strictly(preset, tmp_path):
    _, keys = _manifest(MANIFESTS[(preset, False)])
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.randn(v["shape"], generator=g) * 0.02 if v["dtype"] == "float32"
              else torch.zeros(v["shape"], dtype=torch.int64)) for k, v in keys.items()}
    path = tmp_path / "OSTrack_ep0300.pth.tar"
    torch.save({"net": sd, "epoch": 300}, path)
    tracker = build_ostrack_tracker(TrackerSpec(preset, checkpoint=str(path)), "cpu")
    loaded = tracker.model.state_dict()
    probe = "backbone.blocks.11.mlp.fc2.weight"
    assert torch.equal(loaded[probe], sd[probe])


def _fake_module(name: str, sys_modules: list[str]) -> types.ModuleType:
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    sys_modules.append(name)
    return mod


def _class_of(mod: types.ModuleType, name: str, base=object, body=None) -> type:
    cls = type(name, (base,), dict(body or {}))
    cls.__module__, cls.__qualname__ = mod.__name__, name
    setattr(mod, name, cls)
    return cls


def _official_style_checkpoint(path, extra=None):
    """A checkpoint as the official trainer writes it: pickled objects of classes that do not exist here.

    Like the real ones: a ``Settings`` holding a CUDA ``torch.device``, an ``EnvironmentSettings`` and an
    ``easydict.EasyDict`` config (a dict subclass, pickled item by item); ``stats`` of ``AverageMeter`` s
    holding numpy floats and arrays; sets and tuples.
    """
    created: list[str] = []
    already = set(sys.modules)
    try:
        for n in ("lib", "lib.train", "lib.train.admin"):
            if n not in sys.modules:
                _fake_module(n, created)
        settings_mod = _fake_module("lib.train.admin.settings", created)
        local_mod = _fake_module("lib.train.admin.local", created)
        stats_mod = _fake_module("lib.train.admin.stats", created)
        easydict_mod = _fake_module("easydict", created) if "easydict" not in already else None
        EasyDict = _class_of(easydict_mod, "EasyDict", dict) if easydict_mod else None
        Env = _class_of(local_mod, "EnvironmentSettings")
        Settings = _class_of(settings_mod, "Settings")
        Meter = _class_of(stats_mod, "AverageMeter")
        env = Env()
        env.workspace_dir = "/somewhere"
        settings = Settings()
        settings.env, settings.script_name = env, "ostrack"
        settings.device = torch.device("cuda:0")
        settings.tags = {"ce", "mae"}
        if EasyDict is not None:
            cfg = EasyDict(MODEL=EasyDict(BACKBONE={"TYPE": "vit_base_patch16_224_ce"}), TRAIN={"LR": 4e-4})
            cfg.extra_attribute = (1, 2)
            settings.cfg = cfg
        meter = Meter()
        meter.avg, meter.history = np.float64(0.5), np.arange(4, dtype=np.float32)
        state = {"epoch": 300, "actor_type": "OSTrackActor", "net_type": "OSTrack",
                 "net": torch.load(SMALL_CKPT, weights_only=True)["net"], "net_info": None,
                 "constructor": None, "optimizer": {"state": {0: {"step": torch.tensor(3.0)}},
                                                    "param_groups": [{"lr": 4e-5, "params": [0]}]},
                 "stats": {"train": {"Loss/total": meter}}, "settings": settings}
        if extra:
            state.update(extra)
        torch.save(state, path)
    finally:
        for n in created:
            sys.modules.pop(n, None)


def test_official_training_checkpoint_loads_without_its_code(tmp_path):
    path = tmp_path / "OSTrack_ep0300.pth.tar"
    _official_style_checkpoint(path)
    assert "lib.train.admin.settings" not in sys.modules
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # the official file is not weights-only loadable
    sd = load_state_dict(path)
    ref = torch.load(SMALL_CKPT, weights_only=True)["net"]
    assert sd.keys() == ref.keys()
    assert all(torch.equal(sd[k], ref[k]) for k in ref)
    model = build_model(load_config(SMALL_YAML))
    apply_state_dict(model, sd, str(path))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvilEval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("payload", [_Evil, _EvilEval])
def test_checkpoint_that_would_run_code_is_refused(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth.tar"
    _official_style_checkpoint(path, extra={"settings": payload(str(marker))})
    with pytest.raises(UserError, match="refusing"):
        load_state_dict(path)
    assert not marker.exists()


class _CallsOnLoad:
    """Its pickle calls ``fn("argument")`` when loaded."""

    def __init__(self, fn):
        self.fn = fn

    def __reduce__(self):
        return (self.fn, ("argument",))


def _training_code_hook(*args):  # pragma: no cover - must never run
    raise AssertionError("called")


@pytest.mark.parametrize("module,name,why", [
    ("trainlib.helpers", "run_hook", "a function, not a data class"),  # a module that does not exist here
    ("pydoc", "pipepager", "could run code"),  # a real module whose function would run a pager command
])
def test_unknown_functions_are_refused_not_called(tmp_path, module, name, why):
    created: list[str] = []
    try:
        if module == "pydoc":
            import pydoc
            fn = pydoc.pipepager
        else:
            _fake_module(module.split(".")[0], created)
            mod = _fake_module(module, created)
            fn = _training_code_hook
            fn.__module__, fn.__qualname__ = module, name
            setattr(mod, name, fn)
        path = tmp_path / "ckpt.pth.tar"
        _official_style_checkpoint(path, extra={"settings": _CallsOnLoad(fn)})
    finally:
        for n in created:
            sys.modules.pop(n, None)
    with pytest.raises(UserError, match=rf"^{re.escape(str(path))}: refusing to load: .*{name}.*{why}"):
        load_state_dict(path)


def test_a_damaged_checkpoint_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "cut.pth.tar"
    _official_style_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError) as err:
        load_state_dict(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_plain_state_dict_and_mismatch_message(tmp_path):
    sd = torch.load(SMALL_CKPT, weights_only=True)["net"]
    plain = tmp_path / "plain.pth"
    torch.save(sd, plain)
    assert load_state_dict(plain).keys() == sd.keys()
    model = build_model(get_preset("ostrack256"))
    with pytest.raises(UserError) as err:
        apply_state_dict(model, sd, "small_ce.pth.tar")
    msg = str(err.value)
    assert "\n" not in msg and "shape mismatches" in msg and "backbone.cls_token" in msg
    broken = dict(sd)
    broken.pop("box_head.conv5_ctr.bias")
    broken["extra.weight"] = torch.zeros(1)
    small = build_model(load_config(SMALL_YAML))
    with pytest.raises(UserError, match=r"missing keys: box_head.conv5_ctr.bias; unexpected keys: extra.weight"):
        apply_state_dict(small, broken, "x")


def test_missing_and_garbage_checkpoints(tmp_path):
    with pytest.raises(UserError, match="checkpoint not found"):
        build_ostrack_tracker(TrackerSpec("ostrack256", checkpoint=str(tmp_path / "nope.pth.tar")))
    junk = tmp_path / "junk.pth.tar"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match=r"junk.pth.tar: not a readable torch checkpoint") as err:
        load_state_dict(junk)
    # torch's own message advises weights_only=False, which must not reach the user of an untrusted file
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)
