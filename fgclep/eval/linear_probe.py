"""Linear probe: a logistic-regression head on frozen ECG embeddings, selected on validation.

What is done here, and what the reference benchmark code got wrong (DESIGN.md §3):

- The encoder is frozen (``mode="linear"``) unless ``mode="finetune"`` is asked for explicitly
  (:mod:`fgclep.eval.finetune`); nothing depends on a run's name.
- Label subsets (1 %, 10 %) are stratified and keep at least one positive record per class.
- The regularisation strength ``C`` is chosen by validation macro AUROC; the test split is
  scored once, at the selected point.
- Labels are matched to classes by name (:mod:`fgclep.eval.taskdata`).

The head is scikit-learn's ``LogisticRegression`` (L2, lbfgs), one binary model per class
(one-vs-rest for a multi-label task) on features standardised with the training subset's mean
and SD. Features are computed once and cached (:func:`fgclep.eval.features.extract_ecg_features`).
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from fgclep.eval.metrics import auroc, evaluate_scores

logger = logging.getLogger(__name__)

DEFAULT_CS: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
MODES = ("linear", "finetune")

__all__ = ["DEFAULT_CS", "MODES", "stratified_subset", "LinearHead", "fit_logistic_head",
           "select_and_fit", "linear_probe_from_features", "summarize_seeds", "linear_probe"]


def stratified_subset(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a stratified label subset that keeps ≥ 1 positive record per class.

    Parameters
    ----------
    labels : array_like of {0, 1}, shape (N, C)
        Training labels.
    fraction : float in (0, 1]
        Share of records to keep (``round(fraction * N)``, at least 1).
    seed : int
        Seed; the same seed gives the same subset.

    Returns
    -------
    numpy.ndarray of int64, sorted
        Row indices. First, for each class with a positive record (rarest class first), one
        positive is drawn unless the subset already has one; then each stratum (records grouped
        by their rarest positive class; label-free records form one stratum) is filled in
        proportion to its size. If the guaranteed positives already exceed the requested size,
        the subset is larger than asked and a warning says so.
    """
    y = np.asarray(labels)
    if y.ndim != 2:
        raise ValueError(f"stratified_subset: labels must be (N, C), got shape {y.shape}")
    if isinstance(fraction, bool) or not isinstance(fraction, (float, int)) or not 0 < fraction <= 1:
        raise ValueError(f"stratified_subset: fraction must be in (0, 1], got {fraction!r}")
    n, n_cls = y.shape
    if fraction == 1:
        return np.arange(n, dtype=np.int64)
    y = y.astype(bool)
    rng = np.random.default_rng(seed)
    n_target = max(1, int(round(fraction * n)))
    counts = y.sum(axis=0)
    chosen = np.zeros(n, dtype=bool)
    for c in np.argsort(counts, kind="stable"):
        if counts[c] == 0 or (chosen & y[:, c]).any():
            continue
        chosen[rng.choice(np.flatnonzero(y[:, c]))] = True
    n_forced = int(chosen.sum())
    if n_forced > n_target:
        warnings.warn(f"stratified_subset: keeping one positive per class needs {n_forced} records, "
                      f"more than fraction={fraction} of {n} ({n_target})", stacklevel=2)
        return np.flatnonzero(chosen).astype(np.int64)
    # Stratum of a record: its rarest positive class (n_cls for label-free records).
    rank = np.empty(n_cls, dtype=np.int64)
    rank[np.argsort(counts, kind="stable")] = np.arange(n_cls)
    masked = np.where(y, rank[None, :], n_cls)
    stratum = masked.min(axis=1) if n_cls else np.zeros(n, dtype=np.int64)
    pool = ~chosen
    remaining = n_target - n_forced
    strata, sizes = np.unique(stratum[pool], return_counts=True)
    if remaining > 0 and strata.size:
        exact = remaining * sizes / sizes.sum()
        quota = np.floor(exact).astype(int)
        leftover = remaining - quota.sum()
        if leftover > 0:  # largest remainders, ties broken by the seeded RNG
            order = np.lexsort((rng.random(strata.size), -(exact - quota)))
            quota[order[:leftover]] += 1
        for s, q in zip(strata, quota):
            members = np.flatnonzero(pool & (stratum == s))
            chosen[rng.choice(members, size=min(q, members.size), replace=False)] = True
    return np.flatnonzero(chosen).astype(np.int64)


@dataclass
class LinearHead:
    """Standardise-then-linear scorer: ``((x - mean) / scale) @ weight + bias``."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray  # (d, C)
    bias: np.ndarray  # (C,)
    C: float
    converged: bool = True

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Scores (N, C); monotone in each class's predicted probability."""
        return ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.weight + self.bias


def fit_logistic_head(x_train: np.ndarray, y_train: np.ndarray, C: float, max_iter: int = 1000,
                      seed: int = 0) -> LinearHead:
    """One L2 logistic regression per class on standardised features.

    A class whose training labels are all equal cannot be fitted; it gets a constant score
    (its AUROC is then 0.5) and a warning naming the class column.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x_train, np.float64)
    y = np.asarray(y_train).astype(np.int64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"fit_logistic_head: x (N, d) and y (N, C) expected, got {x.shape}, {y.shape}")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    xs = (x - mean) / scale
    d, n_cls = x.shape[1], y.shape[1]
    weight = np.zeros((d, n_cls))
    bias = np.zeros(n_cls)
    converged = True
    constant = []
    for c in range(n_cls):
        if y[:, c].min() == y[:, c].max():
            constant.append(c)
            bias[c] = float(y[0, c])
            continue
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(xs, y[:, c])
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            converged = False
        weight[:, c] = clf.coef_[0]
        bias[c] = clf.intercept_[0]
    if constant:
        warnings.warn(f"fit_logistic_head: class columns {constant} have a single label value in the "
                      f"training subset; they get a constant score", stacklevel=2)
    if not converged:
        logger.info("fit_logistic_head: lbfgs did not fully converge at C=%g in %d iterations", C, max_iter)
    return LinearHead(mean=mean, scale=scale, weight=weight, bias=bias, C=float(C), converged=converged)


def _macro(y: np.ndarray, s: np.ndarray) -> float:
    a = auroc(y, s)
    return float(np.nanmean(a)) if not np.isnan(a).all() else float("nan")


def select_and_fit(x_train, y_train, x_val, y_val, Cs: Sequence[float] = DEFAULT_CS,
                   max_iter: int = 1000, seed: int = 0) -> tuple[LinearHead, dict]:
    """Fit a head for each ``C`` and keep the one with the best validation macro AUROC.

    Returns the selected head and ``{C: val macro AUROC}``. Test data is not an argument.
    """
    if not Cs:
        raise ValueError("select_and_fit: Cs is empty")
    best, best_val, val_by_c = None, -math.inf, {}
    for C in Cs:
        head = fit_logistic_head(x_train, y_train, C, max_iter=max_iter, seed=seed)
        v = _macro(np.asarray(y_val), head.decision_function(x_val))
        val_by_c[float(C)] = v
        if best is None or (np.isfinite(v) and v > best_val):
            best, best_val = head, (v if np.isfinite(v) else best_val)
    return best, val_by_c


def summarize_seeds(per_seed: Sequence[dict], classes: Sequence[str]) -> dict:
    """Mean ± SD (ddof=1 when ≥ 2 seeds) of test macro AUROC and per-class AUROC over seeds."""
    macros = np.array([r["macro_auroc"] if r["macro_auroc"] is not None else np.nan for r in per_seed])
    per_cls = np.array([[row["auroc"] if row["auroc"] is not None else np.nan for row in r["per_class"]]
                        for r in per_seed])
    ddof = 1 if len(per_seed) > 1 else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cls_mean = np.nanmean(per_cls, axis=0)
        cls_sd = np.nanstd(per_cls, axis=0, ddof=ddof)
    return {
        "macro_auroc": float(np.nanmean(macros)) if np.isfinite(macros).any() else None,
        "macro_auroc_sd": float(np.nanstd(macros, ddof=ddof)) if np.isfinite(macros).any() else None,
        "per_class_auroc": {c: (None if np.isnan(m) else float(m)) for c, m in zip(classes, cls_mean)},
        "per_class_auroc_sd": {c: (None if np.isnan(s) else float(s)) for c, s in zip(classes, cls_sd)},
        "n_seeds": len(per_seed),
    }


def linear_probe_from_features(feats: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray],
                               classes: Sequence[str], fraction: float = 1.0,
                               seeds: Sequence[int] = (0, 1, 2), Cs: Sequence[float] = DEFAULT_CS,
                               n_boot: int = 1000, max_iter: int = 1000) -> tuple[dict, np.ndarray]:
    """Linear probe on precomputed features ``feats[split]`` / ``labels[split]``.

    For each seed: a stratified ``fraction`` of the training split, ``C`` selected on val, test
    scored once. Returns (results dict, test scores of the first seed).
    """
    for split in ("train", "val", "test"):
        if split not in feats or split not in labels:
            raise ValueError(f"linear_probe_from_features: split {split!r} missing")
    per_seed, first_scores = [], None
    for seed in seeds:
        sub = stratified_subset(labels["train"], fraction, seed=seed)
        head, val_by_c = select_and_fit(feats["train"][sub], labels["train"][sub], feats["val"],
                                        labels["val"], Cs=Cs, max_iter=max_iter, seed=seed)
        s_val = head.decision_function(feats["val"])
        s_test = head.decision_function(feats["test"])
        res = evaluate_scores(labels["test"], s_test, classes, y_val=labels["val"], scores_val=s_val,
                              n_boot=n_boot, seed=seed)
        res.update({"seed": int(seed), "n_train": int(sub.size), "selected_C": head.C,
                    "val_macro_auroc_by_C": {str(k): v for k, v in val_by_c.items()},
                    "converged": head.converged})
        per_seed.append(res)
        if first_scores is None:
            first_scores = s_test
    summary = summarize_seeds(per_seed, classes)
    summary.update({"classes": list(classes), "fraction": float(fraction), "mode": "linear",
                    "head": "sklearn LogisticRegression (L2, lbfgs), one per class, standardised features",
                    "Cs": [float(c) for c in Cs], "seeds": [int(s) for s in seeds], "per_seed": per_seed})
    return summary, first_scores


def linear_probe(model: Any, cache: Any, task: Any, fraction: float = 1.0, mode: str = "linear",
                 seeds: Sequence[int] = (0, 1, 2), Cs: Sequence[float] = DEFAULT_CS,
                 splits_dir: str | Path | None = None, split_csvs: Mapping[str, str | Path] | None = None,
                 batch_size: int = 64, n_boot: int = 1000, feature_cache_dir: str | Path | None = None,
                 out: str | Path | None = None, label: str | None = None,
                 finetune_options: Mapping[str, Any] | None = None, split_seed: int = 0) -> dict:
    """Linear probe (or explicit fine-tuning) of an ECG encoder on one task of a cache.

    Parameters
    ----------
    model : DualEncoder-like
        ``encode_ecg`` (``fgclep.models.load_model``).
    cache : ECGCache-like
    task : str or Task
    fraction : float
        Share of the training labels: 0.01, 0.1, 1.0 (any value in (0, 1]).
    mode : {"linear", "finetune"}
        ``linear``: frozen features + logistic regression. ``finetune``: the encoder trains too
        (:func:`fgclep.eval.finetune.finetune_probe`), epochs selected on val.
    seeds : sequence of int
        One run per seed (subset draw, and initialisation when fine-tuning); mean ± SD reported.
    Cs : sequence of float
        Inverse L2 strengths tried (linear mode).
    out : path, optional
        Writes JSON + per-class CSV + ROC PNG (first seed).
    finetune_options : mapping, optional
        Keyword arguments for :func:`fgclep.eval.finetune.finetune_probe` (epochs, lr, ...).
    split_seed : int
        Seed of seeded splits (CPSC2018, CSN); independent of ``seeds``, which vary only the
        label subset and the initialisation, never the test set.
    """
    from fgclep.eval.taskdata import resolve_task, task_labels
    from fgclep._paths import check_file_path
    from fgclep.eval.zeroshot import write_results

    if mode not in MODES:
        raise ValueError(f"linear_probe: mode must be one of {MODES}, got {mode!r}")
    bad_seeds = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if not len(seeds) or bad_seeds:
        raise ValueError(f"linear_probe: seeds must be ints >= 0, got {list(seeds)!r}")
    if out is not None:
        check_file_path(out, "linear_probe")
    if feature_cache_dir is not None and Path(feature_cache_dir).exists() \
            and not Path(feature_cache_dir).is_dir():
        raise ValueError(f"linear_probe: feature cache {feature_cache_dir} is a file, not a directory")
    task = resolve_task(task, cache.index)
    classes = tuple(task.classes)
    tl = task_labels(cache.index, task, splits_dir=splits_dir, seed=split_seed, split_csvs=split_csvs)
    missing = [s for s in ("train", "val", "test") if s not in tl.indices or not len(tl.indices[s])]
    if missing:
        raise ValueError(f"linear_probe: task {task.name} has empty or missing splits {missing}")
    if mode == "linear":
        from fgclep.eval.features import extract_ecg_features

        feats = {s: extract_ecg_features(model, cache, tl.indices[s], batch_size=batch_size,
                                         cache_dir=feature_cache_dir) for s in ("train", "val", "test")}
        res, scores = linear_probe_from_features(feats, tl.labels, classes, fraction=fraction,
                                                 seeds=seeds, Cs=Cs, n_boot=n_boot)
    else:
        from fgclep.eval.finetune import finetune_probe

        res, scores = finetune_probe(model, cache, tl, fraction=fraction, seeds=seeds,
                                     n_boot=n_boot, **dict(finetune_options or {}))
    res.update({"task": task.name, "split": "test", "method": f"{mode}_probe", "label": label})
    if out is not None:
        write_results(res, out, y_true=tl.labels["test"], scores=scores)
    return res
