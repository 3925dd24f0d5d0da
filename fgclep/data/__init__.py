"""Datasets, the preprocessing cache and the benchmark tasks.

``ECGRecord`` and ``read_wfdb`` are light; ``open_cache``, ``readers``, ``tasks``,
``preprocess`` and ``download`` are imported on first use so that ``import fgclep.data`` stays
cheap (the synthetic generator lives in ``fgclep.data.synthetic``).
"""
from __future__ import annotations

import importlib
from typing import Any

from fgclep.data.record import ECGRecord
from fgclep.data.readers.wfdb import read_wfdb

__all__ = ["ECGRecord", "read_wfdb", "open_cache", "ECGCache", "readers", "tasks",
           "preprocess", "download"]

_LAZY = {
    "open_cache": ("fgclep.data.cache", "open_cache"),
    "ECGCache": ("fgclep.data.cache", "ECGCache"),
    "readers": ("fgclep.data.readers", None),
    "tasks": ("fgclep.data.tasks", None),
    "preprocess": ("fgclep.data.preprocess", None),
    "download": ("fgclep.data.download", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'fgclep.data' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value
