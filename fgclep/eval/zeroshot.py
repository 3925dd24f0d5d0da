"""Zero-shot classification from class prompts (CLIP-style, as in MERL and FG-CLEP).

Each class's prompts are embedded with ``model.encode_text``, L2-normalised, averaged and
re-normalised; a record's score for a class is the cosine similarity between its ECG embedding
and that class embedding. Scores are per class (no softmax across classes), which is what
per-class AUROC needs for a multi-label task. Thresholds for F1 are chosen on the validation
split, never on test.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from fgclep._paths import check_file_path
from fgclep.eval.features import extract_ecg_features
from fgclep.eval.metrics import evaluate_scores
from fgclep.eval.prompts import builtin_prompts, prompts_for_classes
from fgclep.eval.taskdata import resolve_task, task_labels

logger = logging.getLogger(__name__)

__all__ = ["class_embeddings", "zeroshot_scores", "zeroshot_from_features", "zeroshot",
           "write_results"]


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@torch.no_grad()
def class_embeddings(model: Any, class_prompts: Mapping[str, Sequence[str]]) -> np.ndarray:
    """(C, d) float32 class embeddings: mean of the L2-normalised prompt embeddings, re-normalised.

    ``class_prompts`` maps class → list of prompts; the row order follows the mapping's order.
    """
    if not class_prompts:
        raise ValueError("class_embeddings: class_prompts is empty")
    texts, owner = [], []
    for c, (cls, prompts) in enumerate(class_prompts.items()):
        if not prompts:
            raise ValueError(f"class_embeddings: class {cls!r} has no prompts")
        texts.extend(prompts)
        owner.extend([c] * len(prompts))
    was_training = bool(getattr(model, "training", False))
    if hasattr(model, "eval"):
        model.eval()
    try:
        emb = model.encode_text(list(texts))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    emb = _l2(emb.detach().float().cpu().numpy() if torch.is_tensor(emb) else np.asarray(emb, np.float32))
    owner_arr = np.asarray(owner)
    out = np.stack([emb[owner_arr == c].mean(axis=0) for c in range(len(class_prompts))])
    return _l2(out).astype(np.float32)


def zeroshot_scores(ecg_features: np.ndarray, class_emb: np.ndarray) -> np.ndarray:
    """Cosine similarity (N, C) between ECG embeddings (N, d) and class embeddings (C, d)."""
    x = np.asarray(ecg_features, dtype=np.float64)
    t = np.asarray(class_emb, dtype=np.float64)
    if x.ndim != 2 or t.ndim != 2 or x.shape[1] != t.shape[1]:
        raise ValueError(f"zeroshot_scores: shapes {x.shape} and {t.shape} are not (N, d) and (C, d)")
    return _l2(x) @ _l2(t).T


def zeroshot_from_features(feats_test: np.ndarray, y_test: np.ndarray, class_emb: np.ndarray,
                           classes: Sequence[str], feats_val: np.ndarray | None = None,
                           y_val: np.ndarray | None = None, n_boot: int = 1000, seed: int = 0
                           ) -> tuple[dict, np.ndarray]:
    """Zero-shot metrics from precomputed embeddings; returns (results dict, test scores)."""
    scores = zeroshot_scores(feats_test, class_emb)
    scores_val = zeroshot_scores(feats_val, class_emb) if feats_val is not None else None
    res = evaluate_scores(y_test, scores, classes, y_val=y_val if scores_val is not None else None,
                          scores_val=scores_val, n_boot=n_boot, seed=seed)
    return res, scores


def zeroshot(model: Any, cache: Any, task: Any, split: str = "test",
             prompts: Mapping[str, Sequence[str]] | str | Path | None = None,
             splits_dir: str | Path | None = None, split_csvs: Mapping[str, str | Path] | None = None,
             batch_size: int = 64, n_boot: int = 1000, seed: int = 0, split_seed: int = 0,
             feature_cache_dir: str | Path | None = None, out: str | Path | None = None,
             label: str | None = None) -> dict:
    """Zero-shot evaluation of a dual encoder on one task of a preprocessed cache.

    Parameters
    ----------
    model : DualEncoder-like
        ``encode_ecg`` and ``encode_text`` (``fgclep.models.load_model``).
    cache : ECGCache-like
        ``fgclep.data.open_cache(path)``.
    task : str or Task
        e.g. ``"ptbxl_super"``; classes and labels are matched by name.
    split : str
        Split reported (``"test"``); thresholds for F1 come from ``"val"`` when it exists.
    prompts : mapping, path or None
        Class → prompts, a prompt file (fgclep's or MERL's ``CKEPE_prompt.json``), or None for
        fgclep's built-in prompts of the task.
    splits_dir, split_csvs : optional
        See :func:`fgclep.eval.taskdata.task_labels`.
    batch_size, n_boot, seed : int
        Embedding batch size; bootstrap resamples and bootstrap seed.
    split_seed : int
        Seed of seeded splits (CPSC2018, CSN); kept apart from the bootstrap seed so that
        changing one never changes the test set. Use the same value as for the linear probe.
    feature_cache_dir : path, optional
        Cache for ECG embeddings.
    out : path, optional
        ``RESULTS.json``; the CSV (same stem) and ROC PNG are written beside it.
    label : str, optional
        Free text stored in the results (e.g. "SYNTHETIC").

    Returns
    -------
    dict
        :func:`fgclep.eval.metrics.evaluate_scores` output plus task, split, prompts used,
        embedding throughput.
    """
    task = resolve_task(task, cache.index)
    classes = tuple(task.classes)
    if prompts is None:
        source = f"built-in prompts of {task.name}"
        class_prompts = prompts_for_classes(classes, builtin_prompts(task.name), source=source)
    else:
        source = str(prompts) if isinstance(prompts, (str, Path)) else "given mapping"
        class_prompts = prompts_for_classes(classes, prompts, source=source)
    if out is not None:
        check_file_path(out, "zeroshot")
    tl = task_labels(cache.index, task, splits_dir=splits_dir, seed=split_seed, split_csvs=split_csvs)
    if split not in tl.indices:
        raise ValueError(f"zeroshot: split {split!r} not available for {task.name}; "
                         f"have {sorted(tl.indices)}")
    if not len(tl.indices[split]):
        raise ValueError(f"zeroshot: task {task.name} has no {split} records in this cache "
                         f"(a cache of dataset {task.dataset}?)")
    feats, stats = extract_ecg_features(model, cache, tl.indices[split], batch_size=batch_size,
                                        cache_dir=feature_cache_dir, return_stats=True)
    feats_val = y_val = None
    if split != "val" and "val" in tl.indices and len(tl.indices["val"]):
        feats_val = extract_ecg_features(model, cache, tl.indices["val"], batch_size=batch_size,
                                         cache_dir=feature_cache_dir)
        y_val = tl.labels["val"]
    emb = class_embeddings(model, class_prompts)
    res, scores = zeroshot_from_features(feats, tl.labels[split], emb, classes, feats_val, y_val,
                                         n_boot=n_boot, seed=seed)
    res.update({"task": task.name, "split": split, "method": "zeroshot", "prompts_source": source,
                "prompts": class_prompts, "label": label,
                "embedding_records_per_s": None if stats.cached else stats.records_per_s})
    if out is not None:
        write_results(res, out, y_true=tl.labels[split], scores=scores)
    return res


def write_results(res: dict, out: str | Path, y_true: np.ndarray | None = None,
                  scores: np.ndarray | None = None) -> Path:
    """Write ``out`` (JSON), ``<stem>.csv`` (per class) and ``<stem>_roc.png`` (when scores given)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    rows = res.get("per_class") or []
    if not rows and res.get("per_class_auroc"):  # probe summary over seeds: mean (and SD) per class
        sd = res.get("per_class_auroc_sd") or {}
        rows = [{"class": c, "n_pos": None, "auroc": a, "auroc_ci": None, "auroc_sd": sd.get(c)}
                for c, a in res["per_class_auroc"].items()]
    if rows:
        with open(out.with_suffix(".csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["class", "n_pos", "auroc", "auroc_ci_low", "auroc_ci_high", "auroc_sd",
                        "threshold", "f1"])
            for r in rows:
                ci = r.get("auroc_ci") or [None, None]
                w.writerow([r["class"], r["n_pos"], r["auroc"], ci[0], ci[1], r.get("auroc_sd"),
                            r.get("threshold"), r.get("f1")])
    if y_true is not None and scores is not None:
        from fgclep.eval.plots import plot_roc_curves

        title = f"{res.get('method', '')} {res.get('task', '')} {res.get('split', '')}".strip()
        if res.get("label"):
            title = f"{res['label']}: {title}"
        plot_roc_curves(y_true, scores, res["classes"], out.with_name(out.stem + "_roc.png"), title=title)
    return out
