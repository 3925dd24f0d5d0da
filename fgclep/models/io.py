"""Saving and loading models as ``model.safetensors`` + ``config.json`` (no pickle).

``load_model`` never unpickles: weights come from safetensors and the architecture from a JSON
config checked field by field, so loading a file from an untrusted source cannot run code. When
the text tower is fully frozen its (unchanged, pretrained) weights are not written; the config
names the text encoder and loading takes it from there.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Union

import torch
from safetensors.torch import load_file, save_file

from fgclep.models.config import DualEncoderConfig
from fgclep.models.dual_encoder import DualEncoder

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
_FORMAT = "fgclep.DualEncoder/1"
_TEXT_BACKBONE = "text.model."


def _saved_state(model: DualEncoder) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    if model.text_frozen:
        state = {k: v for k, v in state.items() if not k.startswith(_TEXT_BACKBONE)}
    # safetensors refuses shared or non-contiguous storage; clone to be safe.
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_model(model: DualEncoder, directory: Union[str, os.PathLike]) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``directory`` (created; atomic).

    Parameters
    ----------
    model : DualEncoder
        The model (a DDP wrapper is unwrapped).
    directory : str or os.PathLike
        Target directory; an existing one is replaced as a whole.

    Returns
    -------
    pathlib.Path
        ``directory``.
    """
    model = getattr(model, "module", model)
    if not isinstance(model, DualEncoder):
        raise TypeError(f"save_model: model must be a DualEncoder, got {type(model).__name__}")
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}-tmp-"))
    try:
        save_file(_saved_state(model), str(tmp / WEIGHTS_NAME), metadata={"format": _FORMAT})
        cfg = {"format": _FORMAT, "model": model.config.to_dict()}
        (tmp / CONFIG_NAME).write_text(json.dumps(cfg, indent=2) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return directory


def read_model_config(directory: Union[str, os.PathLike]) -> DualEncoderConfig:
    """Read and validate ``directory/config.json`` (ValueError naming the file on bad content)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"load_model: {path} not found (expected a directory written by save_model)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"load_model: {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != _FORMAT or "model" not in data:
        raise ValueError(f"load_model: {path} is not an fgclep model config (format {_FORMAT!r})")
    return DualEncoderConfig.from_dict(data["model"], source=str(path))


def load_model(directory: Union[str, os.PathLike], device: str = "cpu") -> DualEncoder:
    """Rebuild a :class:`DualEncoder` from a directory written by :func:`save_model`.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``config.json`` and ``model.safetensors``.
    device : str
        Torch device for the returned model.

    Returns
    -------
    DualEncoder
        In eval mode.

    Raises
    ------
    ValueError
        When the weights file lacks tensors the architecture needs, has extra ones, or a shape
        differs; the message names the file and the keys.
    """
    directory = Path(directory)
    cfg = read_model_config(directory)
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise FileNotFoundError(f"load_model: {weights} not found")
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as exc:
        raise ValueError(f"load_model: cannot read {weights}: {exc}") from exc
    model = DualEncoder(cfg)
    expected = _saved_state(model)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(
            f"load_model: {weights} does not match the architecture in {directory / CONFIG_NAME}: "
            f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''} ({len(missing)}), "
            f"unexpected keys {extra[:5]}{' ...' if len(extra) > 5 else ''} ({len(extra)})"
        )
    bad = [k for k in expected if expected[k].shape != state[k].shape]
    if bad:
        k = bad[0]
        raise ValueError(
            f"load_model: {weights}: tensor {k!r} has shape {tuple(state[k].shape)}, the "
            f"architecture needs {tuple(expected[k].shape)} ({len(bad)} mismatched tensors)"
        )
    model.load_state_dict(state, strict=False)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"load_model: device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    return model.to(dev).eval()
