"""The benchmark tasks as data: ``fgclep/data/task_defs/<task>.json``.

Each task names its dataset, its classes in MERL's test-CSV order (DESIGN.md section 3), how
labels are derived from a cache index's ``labels`` column, and how it is split:

- PTB-XL tasks: ``labels`` holds SCP codes; a class is positive when one of the record's codes
  maps to it through ``scp_statements.csv`` (shipped as ``ptbxl_scp_statements.json``). Only
  records with at least one positive class belong to a task (MERL's sizes). Splits come from the
  cache (``strat_fold`` 1-8 train, 9 val, 10 test).
- CPSC2018 / CSN: ``labels`` holds benchmark abbreviations; seeded multi-label stratified splits
  (72/8/20 like MERL) over records sorted by id, never by directory order.
- synthetic: :data:`fgclep.data.synthetic.ABNORMALITIES` plus ``"normal"``, the cache's split.

``split_indices(..., splits_dir=DIR)`` uses MERL's split CSVs instead, read by column name.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fgclep.data.splits import SPLITS, read_split_dir, record_key, stratified_split

__all__ = ["Task", "list_tasks", "get_task", "task_summary"]

_TASKS = ("ptbxl_super", "ptbxl_sub", "ptbxl_form", "ptbxl_rhythm", "cpsc2018", "csn",
          "synthetic")


@lru_cache(maxsize=None)
def _load_json(name: str) -> dict[str, Any]:
    text = resources.files("fgclep.data").joinpath("task_defs", name).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _scp_map(field_name: str) -> dict[str, str]:
    """SCP code -> task class for one PTB-XL aggregation (class names without '_')."""
    statements = _load_json("ptbxl_scp_statements.json")["statements"]
    out = {}
    for code, st in statements.items():
        if field_name in ("form", "rhythm"):
            if st[field_name]:
                out[code] = code.strip("_")
        elif st.get(field_name):
            out[code] = st[field_name].strip("_")
    return out


def _split_labels(value: Any) -> list[str]:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return [lab.strip() for lab in text.split(";") if lab.strip()]


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes
    ----------
    name, dataset : str
    classes : tuple of str
        Class order (MERL's). For ``csn`` it is resolved from a cache index (labels with at
        least ``min_count`` records, ``Unknown`` dropped, most frequent first): use
        :meth:`resolve` or pass the index to :meth:`label_matrix`.
    """

    name: str
    dataset: str
    classes: tuple[str, ...]
    label_kind: str
    label_field: str | None = None
    split_kind: str = "cache"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    min_count: int = 1
    drop: tuple[str, ...] = ()
    merl_sizes: dict[str, int] | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def _record_classes(self, labels: list[str]) -> set[str]:
        if self.label_kind == "ptbxl_scp":
            mapping = _scp_map(self.label_field or "")
            return {mapping[c] for c in labels if c in mapping}
        return set(labels)

    def resolve(self, index_df: Any) -> "Task":
        """Return the task with concrete classes for this index (only changes ``csn``)."""
        if self.classes:
            return self
        counts = Counter(c for v in index_df["labels"] for c in self._record_classes(
            _split_labels(v)) if c not in self.drop)
        kept = sorted((c for c, n in counts.items() if n >= self.min_count),
                      key=lambda c: (-counts[c], c))
        return replace(self, classes=tuple(kept))

    def label_matrix(self, index_df: Any) -> np.ndarray:
        """``int8 (N, C)``: 1 where record ``n`` has class ``c`` (matched by class name)."""
        task = self.resolve(index_df)
        pos = {c: j for j, c in enumerate(task.classes)}
        out = np.zeros((len(index_df), len(task.classes)), dtype=np.int8)
        for i, value in enumerate(index_df["labels"]):
            for c in task._record_classes(_split_labels(value)):
                j = pos.get(c)
                if j is not None:
                    out[i, j] = 1
        return out

    def split_indices(self, index_df: Any, splits_dir: str | Path | None = None,
                      seed: int = 0) -> dict[str, np.ndarray]:
        """Row positions of ``index_df`` per split (``train``/``val``/``test``), int64, sorted.

        Only records with at least one class of the task are included. ``splits_dir`` (MERL's
        split CSVs) overrides the task's own rule; ``seed`` drives the stratified split.
        """
        y = self.label_matrix(index_df)
        eligible = np.nonzero(y.any(axis=1))[0]
        ids = index_df["id"].astype(str).to_numpy()
        if splits_dir is not None:
            mapping = read_split_dir(splits_dir, task=self.name)
            split = np.array([mapping.get(record_key(ids[i]), "") for i in eligible], dtype=object)
        elif self.split_kind == "cache":
            if "split" not in index_df.columns:
                raise ValueError(f"Task {self.name}.split_indices: index has no split column")
            split = index_df["split"].astype(str).to_numpy()[eligible]
        else:
            order = np.argsort(ids[eligible], kind="stable")
            task = self.resolve(index_df)
            labels = [[task.classes[j] for j in np.nonzero(y[eligible[k]])[0]] for k in order]
            split = np.empty(len(eligible), dtype=object)
            split[order] = stratified_split(labels, self.fractions, seed)
        return {s: np.sort(eligible[split == s]).astype(np.int64) for s in SPLITS}


def list_tasks() -> list[str]:
    """Names of the benchmark tasks."""
    return list(_TASKS)


def get_task(name: str) -> Task:
    """Load a task definition by name (see :func:`list_tasks`)."""
    if name not in _TASKS:
        raise ValueError(f"get_task: unknown task {name!r}; choose from {list(_TASKS)}")
    d = _load_json(f"{name}.json")
    classes = d["classes"]
    if classes == "synthetic":
        from fgclep.data.synthetic import ABNORMALITIES

        classes = list(ABNORMALITIES) + ["normal"]
    split = d["split"]
    return Task(name=name, dataset=d["dataset"], classes=tuple(classes or ()),
                label_kind=d["labels"]["kind"], label_field=d["labels"].get("field"),
                split_kind=split["kind"], fractions=tuple(split.get("fractions", (0.8, 0.1, 0.1))),
                min_count=int(d.get("min_count", 1)), drop=tuple(d.get("drop", ())),
                merl_sizes=d.get("merl_sizes"), description=d.get("description", ""))


def task_summary(index_df: Any | None = None, dataset: str | None = None,
                 splits_dir: str | Path | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Per task: classes, and for an index its class counts and split sizes.

    With ``dataset`` given only that dataset's tasks are listed.
    """
    rows = []
    for name in _TASKS:
        task = get_task(name)
        if dataset is not None and task.dataset != dataset:
            continue
        row: dict[str, Any] = {"task": name, "dataset": task.dataset,
                               "n_classes": len(task.classes), "classes": list(task.classes)}
        if index_df is not None:
            task = task.resolve(index_df)
            y = task.label_matrix(index_df)
            splits = task.split_indices(index_df, splits_dir=splits_dir, seed=seed)
            row.update(n_classes=len(task.classes), classes=list(task.classes),
                       class_counts=dict(zip(task.classes, y.sum(axis=0).tolist())),
                       split_sizes={s: int(len(v)) for s, v in splits.items()})
        rows.append(row)
    return rows
