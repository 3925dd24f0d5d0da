"""Training: :class:`TrainConfig`, :func:`train` (one process or DDP under torchrun),
checkpoints with exact resume, and the two FG-CLEP stages (coarse, then fine on enhanced
reports)."""
from __future__ import annotations

from fgclep.train.config import TrainConfig, list_presets
from fgclep.train.loop import TrainingDivergedError, resolve_model_dir, train

__all__ = ["TrainConfig", "list_presets", "TrainingDivergedError", "resolve_model_dir", "train"]
