"""Train/val/test splits: seeded multi-label stratification and MERL's split CSVs.

Known defect of the reference code avoided here: MERL reads split CSV columns by position, while
the PTB-XL sub-class train CSV orders its columns differently from val/test. Everything here is
read by column *name*, and records are keyed by their file name (never by directory order).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["SPLITS", "stratified_split", "read_split_dir", "record_key"]

SPLITS = ("train", "val", "test")
# Columns that identify a record in MERL's split CSVs (PTB-XL: ecg_id/filename_hr;
# ICBEB (CPSC2018): ecg_id; Chapman (CSN): ecg_path), in order of preference.
ID_COLUMNS = ("ecg_id", "filename_hr", "filename_lr", "ecg_path", "filename", "Recording",
              "record", "id")
_SPLIT_IN_NAME = re.compile(r"(?:^|[_\-.])(train|val|valid|validation|test)(?:[_\-.]|$)",
                            re.IGNORECASE)


def record_key(value: object) -> str:
    """Normalise a record identifier: ``"records500/00000/00001_hr"`` -> ``"00001_hr"``,
    ``"/WFDB/JS00001.mat"`` -> ``"JS00001"``, ``12.0`` -> ``"12"``."""
    text = str(value).strip()
    try:
        number = float(text)
        if number.is_integer():
            return str(int(number))
    except ValueError:
        pass
    name = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for ext in (".mat", ".hea", ".dat", ".npy"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name


def stratified_split(labels: Sequence[Sequence[str]], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0) -> np.ndarray:
    """Seeded multi-label stratified split.

    Each record is stratified by its rarest label (records without labels form one stratum);
    strata are shuffled with ``seed`` and dealt out so that every stratum's split proportions
    follow ``fractions`` within one record (a largest-deficit rule, so a class with at least
    ``1 / min(fractions)`` records has a positive in every split).

    Parameters
    ----------
    labels : sequence of sequences of str
        Labels per record, in a fixed record order (sort by record id first).
    fractions : (train, val, test)
        Non-negative, summing to 1.
    seed : int
        Shuffle seed.

    Returns
    -------
    numpy.ndarray
        Object array of ``"train"``/``"val"``/``"test"``, one per record.
    """
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.shape != (3,) or np.any(frac < 0) or not np.isclose(frac.sum(), 1.0):
        raise ValueError(f"stratified_split: fractions must be 3 non-negative numbers summing "
                         f"to 1, got {tuple(fractions)}")
    counts = Counter(label for labs in labels for label in set(labs))
    strata: dict[str, list[int]] = {}
    for i, labs in enumerate(labels):
        key = min(set(labs), key=lambda lab: (counts[lab], lab)) if len(labs) else ""
        strata.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels), dtype=object)
    for key in sorted(strata):
        members = np.asarray(strata[key])[rng.permutation(len(strata[key]))]
        assigned = np.zeros(3)
        # Deal test first, then val, then train: small strata reach the evaluation splits.
        order = (2, 1, 0)
        for n, i in enumerate(members, start=1):
            deficit = frac * n - assigned
            pick = max(order, key=lambda s: (deficit[s], -order.index(s)))
            assigned[pick] += 1
            out[i] = SPLITS[pick]
    return out


def read_split_dir(splits_dir: str | os.PathLike, task: str | None = None) -> dict[str, str]:
    """Read MERL-style split CSVs (``*train*.csv``, ``*val*.csv``, ``*test*.csv``) by column name.

    Parameters
    ----------
    splits_dir : path
        Folder with the CSVs (files may also sit in a sub-folder named after the task, as in
        MERL's ``ptbxl_super/train.csv``). Non-matching files are ignored.
    task : str, optional
        When given and the folder holds CSVs for several tasks, only files whose path contains
        the task's dataset part (e.g. ``super`` for ``ptbxl_super``) are used.

    Returns
    -------
    dict
        Record key (see :func:`record_key`) -> split name.
    """
    import pandas as pd

    root = Path(splits_dir)
    if not root.is_dir():
        raise ValueError(f"read_split_dir: {root} is not a directory")
    files = sorted(root.rglob("*.csv"))
    if task is not None:
        tokens = [t for t in re.split(r"[_\-]", task) if t]
        narrowed = [f for f in files if all(t.lower() in str(f.relative_to(root)).lower()
                                            for t in tokens[-1:])]
        files = narrowed or files
    mapping: dict[str, str] = {}
    for path in files:
        found = _SPLIT_IN_NAME.findall(path.stem) or _SPLIT_IN_NAME.findall(path.parent.name)
        if not found:
            continue
        split = {"valid": "val", "validation": "val"}.get(found[-1].lower(), found[-1].lower())
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        column = next((c for c in ID_COLUMNS if c in table.columns), None)
        if column is None:
            raise ValueError(f"read_split_dir: {path} has none of the id columns {ID_COLUMNS} "
                             f"(columns: {list(table.columns)[:10]})")
        for value in table[column]:
            key = record_key(value)
            previous = mapping.setdefault(key, split)
            if previous != split:
                raise ValueError(f"read_split_dir: record {key!r} is in both {previous} and "
                                 f"{split} ({path})")
    if not mapping:
        raise ValueError(f"read_split_dir: no train/val/test CSV files found in {root}")
    return mapping
