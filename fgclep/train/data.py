"""Training data: the records of a split, their reports, a deterministic per-epoch order.

The order of epoch ``e`` is ``DistributedSampler(shuffle=True, seed=seed, drop_last=True)``
after ``set_epoch(e)``: a pure function of (seed, epoch, rank, world size). Batches are
consecutive slices of it and an incomplete last batch is dropped (a contrastive batch needs its
partners), so optimizer step ``s`` always sees the same records, which makes resume exact.
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DistributedSampler

logger = logging.getLogger(__name__)


def cache_reports(ds) -> list[str]:
    """Report texts of every record of an :class:`fgclep.data.ECGCache` (original or enhanced,
    as opened), without reading any signal; any other dataset is read item by item."""
    reports = getattr(ds, "reports", None)
    if isinstance(reports, (list, tuple)):
        return list(reports)
    return [ds[i]["report"] for i in range(len(ds))]


class TrainData:
    """Records of one split of a cache, batched for one process.

    Parameters
    ----------
    ds : ECGCache
        From :func:`fgclep.data.open_cache`.
    split : str or None
        Value of the index's ``split`` column to keep; None keeps all records.
    batch_size, grad_accum_steps : int
        Micro-batch size per process and micro-batches per optimizer step.
    seed, rank, world_size : int
        Data-order seed and this process's place in the group.
    """

    def __init__(self, ds, split: Optional[str], batch_size: int, grad_accum_steps: int,
                 seed: int, rank: int = 0, world_size: int = 1):
        self.ds = ds
        if split is None:
            self.records = np.arange(len(ds), dtype=np.int64)
        else:
            if "split" not in ds.index.columns:
                raise ValueError(f"train: cache {ds.path} has no split column; use split=None")
            self.records = np.flatnonzero(ds.index["split"].to_numpy() == split).astype(np.int64)
        all_reports = cache_reports(ds)
        self.reports = [all_reports[i] for i in self.records]
        self.batch_size, self.accum = batch_size, grad_accum_steps
        self.seed, self.rank, self.world_size = seed, rank, world_size
        per_rank = len(self.records) // world_size
        self.steps_per_epoch = per_rank // (batch_size * grad_accum_steps)
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"train: split {split!r} of {ds.path} has {len(self.records)} records, fewer than "
                f"one optimizer step needs ({world_size} processes x batch_size {batch_size} x "
                f"grad_accum_steps {grad_accum_steps})"
            )

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Positions (into ``self.records``) this rank visits in ``epoch``."""
        sampler = DistributedSampler(range(len(self.records)), num_replicas=self.world_size,
                                     rank=self.rank, shuffle=True, seed=self.seed, drop_last=True)
        sampler.set_epoch(epoch)
        return np.fromiter(iter(sampler), dtype=np.int64)

    def micro_batch(self, order: np.ndarray, step_in_epoch: int, micro: int) -> np.ndarray:
        """Positions of micro-batch ``micro`` of optimizer step ``step_in_epoch``."""
        start = (step_in_epoch * self.accum + micro) * self.batch_size
        return order[start: start + self.batch_size]

    def signals(self, positions: Sequence[int]) -> torch.Tensor:
        """float32 ``(B, 12, 5000)`` signals of the records at ``positions``."""
        return torch.from_numpy(self.ds.signals(self.records[np.asarray(positions)]))

    def texts(self, positions: Sequence[int]) -> list[str]:
        return [self.reports[int(p)] for p in positions]
