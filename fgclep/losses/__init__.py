"""Soft (similarity-weighted) sigmoid loss of FG-CLEP with torch, chunked and Triton backends.

Public API: :func:`soft_sigmoid_loss`, :class:`SoftSigmoidLoss` and, for DDP,
:class:`DistributedSoftSigmoidLoss` / :func:`distributed_soft_sigmoid_loss`.
"""
from __future__ import annotations

from fgclep.losses.distributed import DistributedSoftSigmoidLoss, distributed_soft_sigmoid_loss
from fgclep.losses.soft_sigmoid import (
    BACKENDS,
    DEFAULT_THRESHOLD,
    TARGETS,
    SoftSigmoidLoss,
    soft_sigmoid_loss,
)

__all__ = [
    "soft_sigmoid_loss",
    "SoftSigmoidLoss",
    "DistributedSoftSigmoidLoss",
    "distributed_soft_sigmoid_loss",
    "BACKENDS",
    "TARGETS",
    "DEFAULT_THRESHOLD",
]
