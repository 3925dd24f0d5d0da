"""fgclep models: ECG encoders (ResNet1D-18, ViT-tiny), the sentence-transformers text tower and
the dual encoder, registered as JSON configs (``configs/*.json``).

>>> from fgclep.models import list_models, create_model
>>> list_models()
['resnet1d18', 'resnet1d_small', 'vit_tiny']
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fgclep.models.config import DualEncoderConfig, ECGConfig, TextConfig
from fgclep.models.dual_encoder import DualEncoder
from fgclep.models.io import load_model, read_model_config, save_model
from fgclep.models.preprocess import normalize_ecg

__all__ = [
    "DualEncoder",
    "DualEncoderConfig",
    "ECGConfig",
    "TextConfig",
    "create_model",
    "get_model_config",
    "list_models",
    "load_model",
    "normalize_ecg",
    "read_model_config",
    "save_model",
]


def _config_files() -> dict[str, Any]:
    root = resources.files(__package__) / "configs"
    return {p.name[: -len(".json")]: p for p in root.iterdir() if p.name.endswith(".json")}


def list_models() -> list[str]:
    """Names of the registered model configs (``fgclep/models/configs/*.json``), sorted."""
    return sorted(_config_files())


def get_model_config(name: str, **overrides: Any) -> DualEncoderConfig:
    """Return the config registered as ``name`` with ``overrides`` applied.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    **overrides
        Top-level fields (``embed_dim=128``) or nested ones with a double underscore
        (``ecg__depth=2``, ``text__freeze_layers=-1``).
    """
    files = _config_files()
    if name not in files:
        raise ValueError(f"create_model: unknown model {name!r}; available: {sorted(files)}")
    data = json.loads(files[name].read_text())
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            if section not in ("ecg", "text"):
                raise ValueError(f"create_model: override {key!r}: section must be ecg or text")
            data.setdefault(section, {})[field] = value
        else:
            data[key] = value
    return DualEncoderConfig.from_dict(data, source=f"model {name!r}")


def create_model(name: str, **overrides: Any) -> DualEncoder:
    """Build a freshly initialised :class:`DualEncoder` from a registered config.

    Examples
    --------
    >>> m = create_model("resnet1d_small", ecg__widths=[8, 16, 32])
    >>> m.encode_ecg(__import__("torch").zeros(1, 12, 5000)).shape
    torch.Size([1, 256])
    """
    return DualEncoder(get_model_config(name, **overrides))
