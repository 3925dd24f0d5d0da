"""Dataset sources for the preprocessing job.

A *source* turns a dataset folder into a deterministic list of small picklable *items* (one per
input record) and loads an item into an :class:`~fgclep.data.ECGRecord`. Problems found while
listing (a CSV row naming a missing file) are returned as ``(source, reason)`` skips; problems
found while loading are raised as ``ValueError`` and land in ``skipped.csv`` too.

Split policy: a record whose ``meta["split"]`` is set keeps it (PTB-XL's ``strat_fold``);
otherwise the cache assigns a seeded stratified split with the source's ``split_fractions``.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from fgclep.data.record import ECGRecord

__all__ = ["Source", "SyntheticSource", "DATASETS", "make_source", "jsonable"]

Item = dict[str, Any]
Skip = tuple[str, str]


@dataclass
class Source(ABC):
    """Base class: subclasses implement :meth:`list_items` and :meth:`load`."""

    root: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Fractions (train, val, test) for the seeded stratified split when records carry none.
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    # Sampling rate every record of the dataset must have (None: any plausible rate).
    expected_rate: float | None = None
    # Cache file for records' meta["ground_truth"] (JSON lines with the record id), if any.
    ground_truth_file: str | None = None

    @abstractmethod
    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        """Inputs of the dataset (up to ``limit``) and the ones skipped while listing."""

    def load(self, item: Item) -> ECGRecord:
        """Read one listed input; raises ValueError/OSError naming the file on bad input.

        Sources that make records in batches (the synthetic corpus) override
        :meth:`load_many` instead and have no single-record read.
        """
        raise TypeError(f"{type(self).__name__} makes records in batches: use load_many")

    def load_many(self, items: list[Item]) -> Iterator[tuple[Item, ECGRecord | Exception]]:
        """Load items one by one; a ValueError/OSError becomes the item's result."""
        for item in items:
            try:
                yield item, self.load(item)
            except (ValueError, OSError) as exc:
                yield item, exc

    def describe(self, item: Item) -> str:
        """Text naming the item in ``skipped.csv`` (its path)."""
        return str(item.get("source", item))


def _require_root(root: Path | None, dataset: str) -> Path:
    if root is None:
        raise ValueError(f"preprocess: dataset {dataset!r} needs --root DIR")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"preprocess: root {root} is not a directory")
    return root


def jsonable(value: Any) -> Any:
    """NumPy scalars/arrays (and containers of them) as plain JSON-ready Python objects."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


@dataclass
class SyntheticSource(Source):
    """The embedded synthetic corpus (``fgclep.data.synthetic.generate``), generated per shard.

    ``options["n_records"]`` (default 1000) records; each shard is generated with its own seed
    derived from ``(seed, first record number)`` so shards are independent and resumable.
    The true parameters of each record go to ``synthetic_params.jsonl``.
    """

    ground_truth_file: str | None = "synthetic_params.jsonl"

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        n = int(limit if limit is not None else self.options.get("n_records", 1000))
        return [{"n": i, "source": f"synthetic:{i}"} for i in range(n)], []

    def load_many(self, items: list[Item]) -> Iterator[tuple[Item, ECGRecord | Exception]]:
        from fgclep.data import synthetic

        if not items:
            return
        first = int(items[0]["n"])
        seed = int(np.random.SeedSequence([int(self.options.get("seed", 0)), first])
                   .generate_state(1)[0])
        corpus = synthetic.generate(len(items), seed=seed)
        for k, item in enumerate(items):
            labels = list(corpus.labels[k]) or ["normal"]
            params = {key: jsonable(v) for key, v in dict(corpus.params[k]).items()}
            rec = ECGRecord(signal=corpus.signals[k], sampling_rate=corpus.sampling_rate,
                            lead_names=tuple(corpus.lead_names), report=corpus.reports[k],
                            labels=labels, record_id=f"synthetic-{item['n']:07d}",
                            source=item["source"], meta={"ground_truth": params})
            yield item, rec


# dataset name -> "module:class" (imported lazily so a worker loads only what it needs)
DATASETS: dict[str, str] = {
    "ptbxl": "fgclep.data.readers.ptbxl:PtbxlSource",
    "mimic-iv-ecg": "fgclep.data.readers.mimic:MimicSource",
    "cpsc2018": "fgclep.data.readers.challenge:CpscSource",
    "csn": "fgclep.data.readers.challenge:CsnSource",
    "ludb": "fgclep.data.readers.ludb:LudbSource",
    "wfdb": "fgclep.data.readers.folder:FolderSource",
    "synthetic": "fgclep.data.sources:SyntheticSource",
}


def make_source(dataset: str, root: str | os.PathLike | None = None,
                **options: Any) -> Source:
    """Build the source for ``dataset`` (one of :data:`DATASETS`)."""
    if dataset not in DATASETS:
        raise ValueError(f"preprocess: dataset must be one of {sorted(DATASETS)}, "
                         f"got {dataset!r}")
    module_name, cls_name = DATASETS[dataset].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if dataset != "synthetic":
        root = _require_root(Path(root) if root is not None else None, dataset)
    return cls(root=Path(root) if root is not None else None, options=dict(options))
