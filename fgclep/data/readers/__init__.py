"""Dataset readers: each yields :class:`~fgclep.data.ECGRecord` objects (or reasons to skip).

Per-dataset modules are imported on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from fgclep.data.readers.wfdb import read_header, read_wfdb

__all__ = ["read_wfdb", "read_header", "wfdb", "ptbxl", "mimic", "challenge", "cpsc2018",
           "ludb", "folder"]

_SUBMODULES = ("ptbxl", "mimic", "challenge", "cpsc2018", "ludb", "folder")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
