"""Model configuration dataclasses, read from and written to JSON (open_clip style).

A model config is data: ``configs/<name>.json`` registers an architecture, ``create_model(name,
**overrides)`` turns it into a :class:`DualEncoderConfig`, and ``config.json`` beside saved
weights restores the architecture.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class ECGConfig:
    """ECG encoder architecture."""

    arch: str = "resnet1d"  # "resnet1d" (MERL's ResNet1D) or "vit" (1-D patch transformer)
    n_leads: int = 12  # input leads, in fgclep.leads.LEADS_12 order
    n_samples: int = 5000  # input length: 10 s at 500 Hz
    sampling_rate: int = 500  # Hz of the input; patches of 1 s for the ViT use it
    normalization: str = "standardize"  # first layer: "standardize" (per record & lead), "minmax" (MERL), "none"
    downsample: int = 1  # average-pool factor applied after normalisation (1 = keep 500 Hz)
    # ResNet1D
    layers: tuple = (2, 2, 2, 2)  # basic blocks per stage (ResNet-18 = 2,2,2,2)
    widths: tuple = (64, 128, 256, 512)  # channels per stage
    stem_kernel: int = 7  # kernel of the first convolution (stride 2, then max-pool)
    block_kernel: int = 3  # kernel of the convolutions inside basic blocks
    # ViT over lead x 1-second patches
    patch_seconds: float = 1.0  # patch length in seconds (10 patches per lead for 10 s)
    width: int = 192  # token width (ViT-tiny)
    depth: int = 12  # transformer layers
    heads: int = 3  # attention heads
    mlp_ratio: float = 4.0  # MLP hidden size / width
    dropout: float = 0.0  # dropout in the transformer and before the projection


@dataclass
class TextConfig:
    """Text tower: a sentence-transformers model plus a projection."""

    name_or_path: Optional[str] = None  # None = packaged all-MiniLM-L6-v2; else a local directory
    freeze_layers: int = 0  # freeze embeddings + first k layers; -1 freezes everything (precomputed embeddings then replace the tower)
    max_length: int = 128  # tokens per report (longer reports are truncated)


@dataclass
class DualEncoderConfig:
    """The dual encoder: ECG encoder, text tower, projections, temperature and bias."""

    name: str = "custom"  # registry name, recorded for provenance
    embed_dim: int = 256  # shared embedding size after the projections
    init_logit_scale: float = math.log(10.0)  # initial log-temperature: t0 = 10 (SigLIP / FG-CLEP)
    use_bias: bool = True  # learnable logit bias b, initialised at init_logit_bias
    init_logit_bias: float = 0.0  # 0 for soft (fgclep) targets; SigLIP uses -10 with identity targets
    ecg: ECGConfig = field(default_factory=ECGConfig)
    text: TextConfig = field(default_factory=TextConfig)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "DualEncoderConfig":
        """Build a config from a dict, rejecting unknown keys and wrong types by name.

        Parameters
        ----------
        data : dict
            As written by :meth:`to_dict` (nested ``ecg`` and ``text`` dicts).
        source : str
            Where the dict came from (a file name), used in error messages.
        """
        if not isinstance(data, dict):
            raise ValueError(f"{source}: model config must be a JSON object, got {type(data).__name__}")
        top = _check_keys(cls, data, source)
        ecg = _build(ECGConfig, top.pop("ecg", {}), f"{source}: ecg")
        text = _build(TextConfig, top.pop("text", {}), f"{source}: text")
        cfg = _build(cls, top, source, ecg=ecg, text=text)
        cfg.validate(source)
        return cfg

    def validate(self, source: str = "config") -> None:
        """Raise ValueError naming the field when a value is out of range."""
        e, t = self.ecg, self.text
        checks = [
            (self.embed_dim >= 1, "embed_dim", self.embed_dim),
            (e.arch in ("resnet1d", "vit"), "ecg.arch (resnet1d|vit)", e.arch),
            (e.normalization in ("standardize", "minmax", "none"),
             "ecg.normalization (standardize|minmax|none)", e.normalization),
            (e.n_leads >= 1, "ecg.n_leads", e.n_leads),
            (e.downsample >= 1 and e.n_samples % e.downsample == 0,
             "ecg.downsample (>= 1, divides n_samples)", e.downsample),
            (len(e.layers) == len(e.widths) and len(e.layers) > 0, "ecg.layers/widths lengths",
             (e.layers, e.widths)),
            (t.freeze_layers >= -1, "text.freeze_layers (>= -1)", t.freeze_layers),
            (t.max_length >= 8, "text.max_length (>= 8)", t.max_length),
        ]
        if e.arch == "vit":
            patch = e.patch_seconds * e.sampling_rate / e.downsample
            checks += [
                (patch == int(patch) and (e.n_samples // e.downsample) % int(patch) == 0,
                 "ecg.patch_seconds (whole samples, divides the signal)", e.patch_seconds),
                (e.width % e.heads == 0, "ecg.width (multiple of heads)", e.width),
            ]
        for ok, name, value in checks:
            if not ok:
                raise ValueError(f"{source}: invalid {name}: {value!r}")


def _check_keys(cls, data: dict, source: str) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{source}: unknown config keys {unknown}; allowed: {sorted(names)}")
    return dict(data)


def _build(cls, data: Any, source: str, **extra):
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
    data = _check_keys(cls, data, source)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in extra or f.name not in data:
            continue
        value = data[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, tuple):
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
                raise ValueError(f"{source}: {f.name} must be a list of ints, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{source}: {f.name} must be true/false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{source}: {f.name} must be an int, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{source}: {f.name} must be a number, got {value!r}")
            value = float(value)
        elif isinstance(default, str) or (f.name == "name_or_path"):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{source}: {f.name} must be a string, got {value!r}")
        kwargs[f.name] = value
    return cls(**kwargs, **extra)
