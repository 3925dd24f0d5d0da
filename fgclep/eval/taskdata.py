"""Labels and splits of a benchmark task on a cache, always matched by class *name*.

Two sources: the task definition (``fgclep.data.tasks.get_task(name).label_matrix(index)`` and
``.split_indices(index)``), or split CSVs in MERL's layout (an id column plus one 0/1 column per
class, in any column order — the reference code read them by position although PTB-XL's sub-class
train CSV orders ``AVB``/``RAO``/``ISC`` differently from val/test).
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from fgclep.eval.prompts import normalize_key

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")

__all__ = ["SPLITS", "TaskLabels", "resolve_task", "read_split_csv", "task_labels"]


@dataclass
class TaskLabels:
    """Per split: row indices into the cache and the (n, C) int8 label matrix in ``classes`` order."""

    classes: tuple[str, ...]
    indices: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def resolve_task(task: Any, index: pd.DataFrame | None = None) -> Any:
    """A task object from a name (via ``fgclep.data.tasks.get_task``) or the object itself.

    With ``index``, a task whose classes depend on the cache (CSN: labels with at least 10
    records) is resolved to concrete classes through ``task.resolve(index)``.
    """
    if isinstance(task, str):
        from fgclep.data.tasks import get_task

        task = get_task(task)
    if not hasattr(task, "classes"):
        raise TypeError(f"resolve_task: expected a task name or Task object, got {type(task).__name__}")
    if index is not None and hasattr(task, "resolve"):
        task = task.resolve(index)
    if index is not None and not task.classes:
        raise ValueError(f"resolve_task: task {task.name} has no classes on this cache")
    return task


def read_split_csv(path: str | Path, classes: Sequence[str], id_column: str | None = None
                   ) -> tuple[list[str], np.ndarray]:
    """Read a MERL-style split CSV by column name.

    Parameters
    ----------
    path : path
        CSV with one row per record: an id column and one 0/1 column per class.
    classes : sequence of str
        Wanted classes, in the order of the returned columns. Column names match exactly, else
        after :func:`fgclep.eval.prompts.normalize_key` (``NST_`` ↔ ``NST``).
    id_column : str, optional
        Name of the id column (default: the first column that is not a class).

    Returns
    -------
    ids : list of str
    labels : numpy.ndarray of int8, shape (n, C)
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"read_split_csv: {path} does not exist")
    df = pd.read_csv(path)
    by_norm = {}
    for col in df.columns:
        by_norm.setdefault(normalize_key(str(col)), col)
    cols, missing = [], []
    for cls in classes:
        col = cls if cls in df.columns else by_norm.get(normalize_key(cls))
        (cols.append(col) if col is not None else missing.append(cls))
    if missing:
        raise ValueError(f"read_split_csv: {path} has no column for classes {missing}")
    if id_column is None:
        others = [c for c in df.columns if c not in set(cols)]
        if not others:
            raise ValueError(f"read_split_csv: {path} has no id column besides the class columns")
        id_column = others[0]
    elif id_column not in df.columns:
        raise ValueError(f"read_split_csv: {path} has no id column {id_column!r}")
    values = df[cols].to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"read_split_csv: {path}: class columns must hold only 0/1")
    return [str(v) for v in df[id_column].tolist()], values.astype(np.int8)


def _id_lookup(index: pd.DataFrame) -> dict[str, int]:
    """Map record ids (and the file stem of each source path) to row numbers of the index."""
    lookup: dict[str, int] = {}
    for row, (rid, src) in enumerate(zip(index["id"].astype(str),
                                         index.get("source", pd.Series([""] * len(index))).astype(str))):
        lookup.setdefault(rid, row)
        if src:
            stem = Path(src).name.split(".")[0]
            lookup.setdefault(stem, row)
    return lookup


def _match_id(key: str, lookup: Mapping[str, int]) -> int | None:
    if key in lookup:
        return lookup[key]
    stem = Path(key).name.split(".")[0]
    return lookup.get(stem)


def task_labels(index: pd.DataFrame, task: Any, splits_dir: str | Path | None = None, seed: int = 0,
                split_csvs: Mapping[str, str | Path] | None = None,
                id_column: str | None = None) -> TaskLabels:
    """Labels and split indices of ``task`` on a cache index.

    Parameters
    ----------
    index : pandas.DataFrame
        The cache's ``ds.index`` (columns id, source, labels, split, ...).
    task : str or Task
        Task name or object with ``classes``, ``label_matrix``, ``split_indices``.
    splits_dir : path, optional
        Passed to ``task.split_indices`` (MERL split CSVs used for the split membership).
    seed : int
        Seed of seeded splits (CPSC, CSN).
    split_csvs : mapping split → path, optional
        When given, labels AND membership come from these CSVs, read by column name; records
        are matched to the index by id or file stem, unmatched rows are dropped with a warning.
    id_column : str, optional
        Id column of ``split_csvs``.
    """
    task = resolve_task(task, index)
    classes = tuple(task.classes)
    out = TaskLabels(classes=classes)
    if split_csvs:
        lookup = _id_lookup(index)
        for split, path in split_csvs.items():
            ids, y = read_split_csv(path, classes, id_column=id_column)
            rows = [_match_id(i, lookup) for i in ids]
            keep = np.array([r is not None for r in rows], dtype=bool)
            if not keep.all():
                warnings.warn(f"task_labels: {int((~keep).sum())} of {len(ids)} records of {path} "
                              f"are not in the cache and are left out", stacklevel=2)
            out.indices[split] = np.array([r for r in rows if r is not None], dtype=np.int64)
            out.labels[split] = y[keep]
        return out
    y_all = np.asarray(task.label_matrix(index), dtype=np.int8)
    if y_all.shape != (len(index), len(classes)):
        raise ValueError(f"task_labels: {task.name}.label_matrix returned shape {y_all.shape}, "
                         f"expected {(len(index), len(classes))}")
    splits = task.split_indices(index, splits_dir=splits_dir, seed=seed)
    for split in SPLITS:
        if split in splits:
            idx = np.asarray(splits[split], dtype=np.int64)
            out.indices[split] = idx
            out.labels[split] = y_all[idx]
    return out
