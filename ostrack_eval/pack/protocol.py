"""The GOT-10k test protocol: test-set results must come from a model trained on GOT-10k train only.

OSTrack's GOT-10k numbers use separate checkpoints (configs ``*_got10k_ep100.yaml``, botaoye/OSTrack#54);
the presets' full-data models break the protocol. ``run.json`` only names the model, so this is a
heuristic and yields a warning, never an error.
"""

from __future__ import annotations

import json
from ostrack_eval.utils import readfile
from pathlib import Path

# Keys of run.json (ostrack_eval.run.metadata) whose string values identify the model. The per-bench
# history and the user's run name are skipped: the bench itself is "got10k" and a name proves nothing.
_MODEL_KEY_PARTS = ("tracker", "config", "checkpoint", "ckpt", "yaml", "model", "experiment")
_SKIPPED_KEYS = frozenset({"benches", "sessions", "name", "run_name"})
_GOT10K_MARKERS = ("got10k", "got-10k")


def _model_strings(node: object, under_model_key: bool = False) -> list[str]:
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if str(key).lower() in _SKIPPED_KEYS:
                continue
            is_model_key = any(part in str(key).lower() for part in _MODEL_KEY_PARTS)
            out += _model_strings(value, under_model_key or is_model_key)
        return out
    if isinstance(node, list):
        return [s for item in node for s in _model_strings(item, under_model_key)]
    if isinstance(node, str) and under_model_key:
        return [node]
    return []


def got10k_protocol_warning(run_json: Path) -> str | None:
    """A warning when ``run.json`` names a model that does not look GOT-10k-only; ``None`` otherwise.

    Results without a ``run.json`` (made by pytracking/OSTrack) cannot be judged and pass silently.
    """
    if not run_json.is_file():
        return None
    try:
        info = json.loads(readfile.read_text(run_json))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{run_json}: cannot read it to check the GOT-10k protocol ({exc})"
    if isinstance(info, dict) and "checkpoint" in info and info["checkpoint"] is None:
        return None  # no trained weights (e.g. the identity baseline): no training data to judge
    names = _model_strings(info)
    if any(marker in s.lower() for s in names for marker in _GOT10K_MARKERS):
        return None
    model = next((s for s in names if s), "an unnamed model")
    return (f"{run_json}: the model ({model}) does not look GOT-10k-only; the GOT-10k test protocol requires "
            f"training on GOT-10k train only (OSTrack configs *_got10k_ep100.yaml)")
