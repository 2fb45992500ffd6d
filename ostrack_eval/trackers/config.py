"""OSTrack model + test-time configuration, the two presets, and loading from YAML.

Two YAML dialects are read: our own flat one (``trackers/*.yaml``) and the official experiment YAMLs
(``experiments/ostrack/vitb_256_mae_ce_32x4_ep300.yaml``), recognised by their top-level ``MODEL`` key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ostrack_eval.errors import UserError
from ostrack_eval.utils import readfile

TEMPLATE_RANGES = ("CTR_POINT", "ALL", "CTR_REC", "GT_BOX")
_CLI_TO_RANGE = {"ctr_point": "CTR_POINT", "all": "ALL", "ctr_rec": "CTR_REC", "gt_box": "GT_BOX"}


@dataclass(frozen=True)
class OSTrackConfig:
    name: str = "ostrack256"
    # backbone (ViT-B/16 by default)
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    qkv_bias: bool = True
    pretrain_img_size: int = 224  # size of the (unused at test time) ``pos_embed`` kept for key compatibility
    # candidate elimination; an empty ``ce_loc`` is the plain ViT backbone
    ce_loc: tuple[int, ...] = (3, 6, 9)
    ce_keep_ratio: tuple[float, ...] = (0.7, 0.7, 0.7)
    ce_template_range: str = "CTR_POINT"
    # head
    head_channels: int = 256
    # test-time cropping
    template_size: int = 128
    template_factor: float = 2.0
    search_size: int = 256
    search_factor: float = 4.0
    checkpoint_name: str = field(default="", compare=False)

    def __post_init__(self):
        if self.ce_template_range not in TEMPLATE_RANGES:
            raise UserError(f"CE template range must be one of {TEMPLATE_RANGES}, got {self.ce_template_range!r}")
        if len(self.ce_loc) != len(self.ce_keep_ratio):
            raise UserError("ce_loc and ce_keep_ratio must have the same length")
        if self.embed_dim % self.num_heads:
            raise UserError("embed_dim must be divisible by num_heads")
        for size in (self.template_size, self.search_size):
            if size % self.patch_size:
                raise UserError(f"crop size {size} is not a multiple of the patch size {self.patch_size}")

    @property
    def feat_sz_t(self) -> int:
        return self.template_size // self.patch_size

    @property
    def feat_sz_s(self) -> int:
        return self.search_size // self.patch_size

    @property
    def num_template_tokens(self) -> int:
        return self.feat_sz_t**2

    @property
    def num_search_tokens(self) -> int:
        return self.feat_sz_s**2

    @property
    def ce_enabled(self) -> bool:
        return bool(self.ce_loc) and any(r < 1.0 for r in self.ce_keep_ratio)

    def with_variant(self, no_ce: bool = False, keep_ratio: float | tuple[float, ...] | None = None,
                     ce_template: str | None = None) -> "OSTrackConfig":
        """Apply the CLI variant flags (``--no-ce``, ``--keep-ratio``, ``--ce-template``).

        ``keep_ratio`` is one ρ for every CE layer or a tuple of one per CE layer (the official
        ``CE_KEEP_RATIO`` list).
        """
        cfg = self
        if no_ce:
            cfg = replace(cfg, ce_loc=(), ce_keep_ratio=())
        if keep_ratio is not None:
            loc = cfg.ce_loc or (3, 6, 9)
            if isinstance(keep_ratio, (tuple, list)):
                if len(keep_ratio) != len(loc):
                    raise UserError(f"--keep-ratio: {len(keep_ratio)} values for {len(loc)} CE layers "
                                    f"(blocks {', '.join(map(str, loc))}); give one value or one per CE layer")
                ratios = tuple(float(r) for r in keep_ratio)
            else:
                ratios = tuple(float(keep_ratio) for _ in loc)
            cfg = replace(cfg, ce_loc=loc, ce_keep_ratio=ratios)
        if ce_template is not None:
            cfg = replace(cfg, ce_template_range=_CLI_TO_RANGE[ce_template])
        return cfg

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["ce_loc"] = list(self.ce_loc)
        d["ce_keep_ratio"] = list(self.ce_keep_ratio)
        return d


PRESETS: dict[str, OSTrackConfig] = {
    "ostrack256": OSTrackConfig(name="ostrack256", template_size=128, template_factor=2.0, search_size=256,
                                search_factor=4.0, checkpoint_name="vitb_256_mae_ce_32x4_ep300"),
    "ostrack384": OSTrackConfig(name="ostrack384", template_size=192, template_factor=2.0, search_size=384,
                                search_factor=5.0, checkpoint_name="vitb_384_mae_ce_32x4_ep300"),
    # The demo tracker: the same architecture scaled down (trained by ``ostrack-eval train-tiny``); the unused
    # ``pos_embed`` is kept at its minimum size so the packaged checkpoint stays small.
    "ostrack-tiny": OSTrackConfig(name="ostrack-tiny", embed_dim=64, depth=4, num_heads=4, head_channels=32,
                                  ce_loc=(1, 2, 3), ce_keep_ratio=(0.7, 0.7, 0.7), pretrain_img_size=16,
                                  template_size=112, template_factor=2.0, search_size=224, search_factor=4.0,
                                  checkpoint_name="ostrack_tiny"),
}

_VIT_TYPES = {
    # official BACKBONE.TYPE -> (embed_dim, depth, num_heads)
    "vit_base_patch16_224": (768, 12, 12),
    "vit_base_patch16_224_ce": (768, 12, 12),
    "vit_large_patch16_224": (1024, 24, 16),
    "vit_large_patch16_224_ce": (1024, 24, 16),
}


def get_preset(name: str) -> OSTrackConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown OSTrack preset {name!r}; known: {', '.join(PRESETS)}") from None


# What ``lib/config/ostrack/config.py`` of the official code sets when an experiment YAML leaves a key out.
OFFICIAL_DEFAULTS = {
    "BACKBONE.TYPE": "vit_base_patch16_224",  # the plain ViT: a CE backbone must be asked for
    "BACKBONE.STRIDE": 16,
    "BACKBONE.CE_LOC": [],
    "BACKBONE.CE_KEEP_RATIO": [],
    "BACKBONE.CE_TEMPLATE_RANGE": "ALL",
    "HEAD.TYPE": "CENTER",
    "HEAD.NUM_CHANNELS": 256,
    "TEMPLATE.SIZE": 128, "TEMPLATE.FACTOR": 2.0,  # DATA.* and TEST.* alike
    "SEARCH.SIZE": 320, "SEARCH.FACTOR": 5.0,
}


def _from_official(doc: dict, name: str) -> OSTrackConfig:
    d = OFFICIAL_DEFAULTS
    model = doc.get("MODEL") or {}
    backbone = model.get("BACKBONE") or {}
    head = model.get("HEAD") or {}
    btype = backbone.get("TYPE", d["BACKBONE.TYPE"])
    if btype not in _VIT_TYPES:
        raise UserError(f"backbone type {btype!r} is not supported (known: {', '.join(_VIT_TYPES)})")
    if head.get("TYPE", d["HEAD.TYPE"]) != "CENTER":
        raise UserError("only the CENTER head of OSTrack is supported")
    dim, depth, heads = _VIT_TYPES[btype]
    test = doc.get("TEST") or {}
    data = doc.get("DATA") or {}

    def crop(part: str, key: str):
        # the tracker crops at TEST.*; a YAML without it gets the size the model was built for (DATA.*), which
        # the official tracker would need too, else the official default
        return test.get(f"{part}_{key}", (data.get(part) or {}).get(key, d[f"{part}.{key}"]))

    ce_loc = tuple(backbone.get("CE_LOC") or d["BACKBONE.CE_LOC"]) if btype.endswith("_ce") else ()
    keep = tuple(float(r) for r in (backbone.get("CE_KEEP_RATIO") or d["BACKBONE.CE_KEEP_RATIO"])) if ce_loc else ()
    return OSTrackConfig(
        name=name, embed_dim=dim, depth=depth, num_heads=heads,
        patch_size=int(backbone.get("STRIDE", d["BACKBONE.STRIDE"])),
        ce_loc=ce_loc, ce_keep_ratio=keep,
        ce_template_range=backbone.get("CE_TEMPLATE_RANGE", d["BACKBONE.CE_TEMPLATE_RANGE"]),
        head_channels=int(head.get("NUM_CHANNELS", d["HEAD.NUM_CHANNELS"])),
        template_size=int(crop("TEMPLATE", "SIZE")), template_factor=float(crop("TEMPLATE", "FACTOR")),
        search_size=int(crop("SEARCH", "SIZE")), search_factor=float(crop("SEARCH", "FACTOR")),
        checkpoint_name=name,
    )


def _from_ours(doc: dict, name: str) -> OSTrackConfig:
    base = get_preset(doc["base"]) if "base" in doc else OSTrackConfig()
    fields = {f.name for f in dataclasses.fields(OSTrackConfig)}
    values = {}
    for section in ("model", "test"):
        for key, value in (doc.get(section) or {}).items():
            if key not in fields:
                raise UserError(f"unknown key {section}.{key} in tracker config")
            values[key] = tuple(value) if isinstance(value, list) else value
    return replace(base, name=doc.get("name", name), checkpoint_name=doc.get("name", name), **values)


def load_config(path: str | Path) -> OSTrackConfig:
    """Read an OSTrack YAML (ours or the official experiment format)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(readfile.read_text(path))
    except FileNotFoundError:
        raise UserError(f"{path}: tracker config not found") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    name = path.name.split(".")[0]
    try:
        return _from_official(doc, name) if "MODEL" in doc else _from_ours(doc, name)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None
