"""Official-YAML defaults (as the official ``lib/config/ostrack/config.py`` has them) and per-layer keep ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import REF, SMALL_CKPT, SMALL_YAML
from ostrack_eval.errors import UserError
from ostrack_eval.trackers.ce import template_mask
from ostrack_eval.trackers.checkpoint import apply_state_dict, load_state_dict
from ostrack_eval.trackers.config import load_config
from ostrack_eval.trackers.factory import config_for_spec
from ostrack_eval.trackers.model import build_model
from ostrack_eval.trackers.spec import TrackerSpec, parse_keep_ratio

INPUTS = np.load(REF / "small_inputs.npz")

CE_YAML = """\
MODEL:
  BACKBONE:
    TYPE: vit_base_patch16_224_ce
    STRIDE: 16
    CE_LOC: [3, 6, 9]
    CE_KEEP_RATIO: [0.7, 0.7, 0.7]
TEST:
  SEARCH_FACTOR: 4.0
  SEARCH_SIZE: 256
  TEMPLATE_FACTOR: 2.0
  TEMPLATE_SIZE: 128
"""


def test_official_yaml_without_template_range_ranks_with_every_template_token(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(CE_YAML)
    cfg = load_config(path)
    assert cfg.ce_template_range == "ALL"  # the official default, not the presets' CTR_POINT
    assert cfg.ce_loc == (3, 6, 9) and cfg.ce_keep_ratio == (0.7, 0.7, 0.7)
    path.write_text(CE_YAML.replace("    STRIDE: 16\n", "    STRIDE: 16\n    CE_TEMPLATE_RANGE: CTR_POINT\n"))
    assert load_config(path).ce_template_range == "CTR_POINT"
    # every template row ranks: no template mask at all
    assert template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, 1) is None


def test_official_yaml_missing_keys_take_the_official_defaults(tmp_path):
    path = tmp_path / "bare.yaml"
    path.write_text("MODEL:\n  HEAD:\n    TYPE: CENTER\n")
    cfg = load_config(path)
    # the official default backbone is the plain ViT; test crops 128 / 2.0 and 320 / 5.0; 256 head channels
    assert cfg.ce_loc == () and not cfg.ce_enabled
    assert (cfg.template_size, cfg.template_factor, cfg.search_size, cfg.search_factor) == (128, 2.0, 320, 5.0)
    assert cfg.head_channels == 256 and cfg.patch_size == 16 and cfg.ce_template_range == "ALL"
    # a YAML giving only DATA sizes crops at the size its model was built for
    path.write_text("MODEL:\n  BACKBONE:\n    TYPE: vit_base_patch16_224\nDATA:\n  SEARCH:\n    SIZE: 256\n"
                    "    FACTOR: 4.0\n")
    assert (load_config(path).search_size, load_config(path).search_factor) == (256, 4.0)


def test_keep_ratio_flag_takes_one_value_or_one_per_layer():
    assert parse_keep_ratio("0.5") == 0.5
    assert parse_keep_ratio("0.7,0.6,0.5") == (0.7, 0.6, 0.5)
    with pytest.raises(UserError):
        parse_keep_ratio("0.7,abc")
    spec = TrackerSpec("ostrack256", keep_ratio=(0.7, 0.6, 0.5))
    assert spec.run_name() == "ostrack256-keep0.7_0.6_0.5"
    assert config_for_spec(spec).ce_keep_ratio == (0.7, 0.6, 0.5)
    assert spec.as_dict()["keep_ratio"] == [0.7, 0.6, 0.5]
    # run.json stores the list; rebuilding the spec from it gives the same spec
    assert TrackerSpec(**{**spec.as_dict(), "options": {}}) == spec
    assert TrackerSpec("ostrack256", keep_ratio=[0.5]) == TrackerSpec("ostrack256", keep_ratio=0.5)
    with pytest.raises(UserError, match="2 values for 3 CE layers"):
        config_for_spec(TrackerSpec("ostrack256", keep_ratio=(0.7, 0.6)))
    with pytest.raises(UserError, match=r"\(0, 1\], got 0.7,1.5,0.5$"):  # as the flag was written
        TrackerSpec("ostrack256", keep_ratio=(0.7, 1.5, 0.5))
    with pytest.raises(UserError, match="contradict"):
        TrackerSpec("ostrack256", no_ce=True, keep_ratio=(1.0, 0.5, 1.0))


def _small_forward(keep_ratio, fast: bool = False):
    cfg = load_config(SMALL_YAML).with_variant(keep_ratio=keep_ratio)
    model = build_model(cfg)
    apply_state_dict(model, load_state_dict(SMALL_CKPT), "small")
    model.fast = fast
    z = torch.from_numpy(INPUTS["template"]).float()
    x = torch.from_numpy(INPUTS["search"]).float()
    mask = template_mask(cfg.ce_template_range, cfg.template_size, cfg.patch_size, z.shape[0])
    with torch.no_grad():
        return model(z, x, ce_template_mask=mask), cfg


def test_equal_per_layer_ratios_give_exactly_the_scalar_results():
    scalar, cfg_s = _small_forward(0.6)
    per_layer, cfg_l = _small_forward((0.6, 0.6, 0.6))
    assert cfg_s == cfg_l
    for key in ("score_map", "size_map", "offset_map", "backbone_feat"):
        assert torch.equal(scalar[key], per_layer[key])


@pytest.mark.parametrize("fast", [False, True])
def test_different_per_layer_ratios_keep_ceil_rho_of_the_tokens_entering_each_layer(fast):
    ratios = (0.8, 0.5, 0.3)
    out, cfg = _small_forward(ratios, fast)
    n = cfg.num_search_tokens
    assert [st.layer for st in out["ce"]] == list(cfg.ce_loc)
    for stage, rho in zip(out["ce"], ratios):
        assert stage.scores.shape[1] == n  # tokens entering this layer
        kept = math.ceil(rho * n)  # the official candidate_elimination's lens_keep
        assert stage.kept_index.shape[1] == kept
        assert stage.removed_index.shape[1] == n - kept
        n = kept
    # eliminated tokens are zero in the output map: exactly the survivors of the last layer remain
    search = out["backbone_feat"][:, cfg.num_template_tokens:]
    assert int((search.abs().sum(-1) > 0).sum(1).max()) == n
    assert n == math.ceil(0.3 * math.ceil(0.5 * math.ceil(0.8 * cfg.num_search_tokens)))


def test_cli_keep_ratio_per_layer_names_the_run(capsys):
    from ostrack_eval.cli.main import build_parser
    from ostrack_eval.cli.run_cmd import spec_from_args

    args = build_parser().parse_args(["run", "--bench", "demo", "--tracker", "ostrack256",
                                      "--keep-ratio", "0.7,0.6,0.5"])
    spec = spec_from_args(args)
    assert spec.keep_ratio == (0.7, 0.6, 0.5) and spec.run_name() == "ostrack256-keep0.7_0.6_0.5"
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", "--bench", "demo", "--tracker", "ostrack256", "--keep-ratio", "0.7,x"])
    assert exc.value.code == 2 and "comma-separated numbers" in capsys.readouterr().err
