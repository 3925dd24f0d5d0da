"""Last step of ``fgclep preprocess``: merge shard parts, assign splits, write the index."""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fgclep.data import cache as _cache
from fgclep.data.splits import SPLITS, read_split_dir, record_key, stratified_split

__all__ = ["finalize_cache", "assign_splits"]

logger = logging.getLogger(__name__)


def assign_splits(index: "Any", fractions: tuple[float, float, float], seed: int,
                  splits_dir: str | Path | None = None) -> np.ndarray:
    """Split per index row: MERL CSVs if given, else the record's own (``meta_split``), else a
    seeded stratified split over the labels with records ordered by id (never by file order).

    Records absent from given split CSVs get ``"excluded"``.
    """
    n = len(index)
    if n == 0:
        return np.empty(0, dtype=object)
    if splits_dir is not None:
        mapping = read_split_dir(splits_dir)
        keys = [record_key(i) for i in index["id"]]
        return np.array([mapping.get(k, "excluded") for k in keys], dtype=object)
    if "meta_split" in index.columns:
        given = index["meta_split"].astype(str).to_numpy(dtype=object)
        if set(given) <= set(SPLITS):
            return given
    order = np.argsort(index["id"].astype(str).to_numpy(), kind="stable")
    labels = [str(v).split(";") if str(v) else [] for v in index["labels"].to_numpy()[order]]
    split_sorted = stratified_split(labels, fractions, seed)
    out = np.empty(n, dtype=object)
    out[order] = split_sorted
    return out


def _read_part(path: Path, required: list[str]) -> Any:
    # A damaged shard side file must stop the run, not silently drop the shard's records.
    try:
        part = _cache._read_csv(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"preprocess: cannot read {path}: {exc}; re-run with --overwrite") from None
    missing = [c for c in required if c not in part.columns]
    if missing:
        raise ValueError(f"preprocess: {path} lacks columns {missing} (damaged); "
                         "re-run with --overwrite")
    return part


def finalize_cache(out: Path, cfg: Any, source: Any, n_shards: int,
                   early_skips: list[tuple[str, str]], meta: dict[str, Any]) -> tuple[int, int]:
    """Write ``index.csv``, ``skipped.csv``, the ground-truth side file and the final meta."""
    import pandas as pd

    parts, skipped_parts, truth_lines = [], [], []
    for shard in range(n_shards):
        paths = _cache.shard_paths(out, shard)
        part = _read_part(paths["index"], [c for c in _cache.INDEX_COLUMNS if c != "split"])
        if len(part):
            parts.append(part)
        skipped_parts.append(_read_part(paths["skipped"], ["source", "reason"]))
        truth = Path(f"{paths['npy'].with_suffix('')}.truth.jsonl")
        if truth.is_file():
            truth_lines.extend(line for line in truth.read_text(encoding="utf-8").splitlines()
                               if line.strip())
    columns = [c for c in _cache.INDEX_COLUMNS if c != "split"]
    index = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    duplicated = index["id"][index["id"].duplicated()].tolist()
    if duplicated:
        warnings.warn(f"preprocess: {len(duplicated)} duplicate record ids in {out} "
                      f"(first: {duplicated[:3]}); ids should be unique", stacklevel=3)
    index["split"] = assign_splits(index, source.split_fractions, cfg.seed, cfg.splits_dir)
    extras = sorted(c for c in index.columns if c not in _cache.INDEX_COLUMNS)
    index = index[list(_cache.INDEX_COLUMNS) + extras]
    _cache._atomic_write_text(out / "index.csv", index.to_csv(index=False))
    skipped = pd.concat([pd.DataFrame(early_skips, columns=list(_cache.SKIPPED_COLUMNS))]
                        + skipped_parts, ignore_index=True)
    _cache._atomic_write_text(out / "skipped.csv", skipped.to_csv(index=False))
    if truth_lines and source.ground_truth_file:
        _cache._atomic_write_text(out / source.ground_truth_file, "\n".join(truth_lines) + "\n")
    meta = dict(meta)
    meta.update(complete=True, n_records=int(len(index)), n_skipped=int(len(skipped)),
                n_shards=int(n_shards),
                split_sizes={s: int((index["split"] == s).sum()) for s in SPLITS})
    _cache._atomic_write_text(out / "meta.json", json.dumps(meta, indent=2))
    if len(skipped):
        logger.info("%d inputs skipped; reasons in %s", len(skipped), out / "skipped.csv")
    return int(len(index)), int(len(skipped))
