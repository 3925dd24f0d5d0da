"""Classification metrics for multi-label ECG benchmarks, in NumPy.

AUROC per class and macro-averaged, F1 at thresholds chosen on a *validation* split, and
percentile-bootstrap 95 % confidence intervals with a seed. scikit-learn's ``roc_auc_score`` and
``f1_score`` are the reference the tests compare against; these implementations are vectorised
over classes and bootstrap resamples and never look at test labels when choosing a threshold.

Conventions: ``y_true`` is ``(n_records, n_classes)`` with values in {0, 1}; ``scores`` has the
same shape (any real numbers, larger = more likely). One-dimensional inputs are one class.
A class whose labels are all 0 or all 1 has no defined AUROC: it is ``nan`` per class and left
out of the macro average with a warning naming it.
"""
from __future__ import annotations

import logging
import warnings
from typing import Callable, Sequence

import numpy as np
from scipy.stats import rankdata

logger = logging.getLogger(__name__)

__all__ = [
    "auroc",
    "macro_auroc",
    "roc_curve",
    "f1_score",
    "select_thresholds",
    "f1_at_thresholds",
    "bootstrap_ci",
    "evaluate_scores",
]


def _as_2d(y_true, scores, func: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if s.ndim == 1:
        s = s[:, None]
    if y.ndim != 2 or s.ndim != 2:
        raise ValueError(f"{func}: y_true and scores must be 1-D or 2-D, got shapes "
                         f"{np.shape(y_true)} and {np.shape(scores)}")
    if y.shape != s.shape:
        raise ValueError(f"{func}: y_true shape {y.shape} differs from scores shape {s.shape}")
    if y.shape[0] == 0:
        raise ValueError(f"{func}: no records (y_true has 0 rows)")
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5]
        raise ValueError(f"{func}: y_true must contain only 0 and 1, found {bad.tolist()}")
    if not np.isfinite(s).all():
        raise ValueError(f"{func}: scores contain NaN or inf")
    return y.astype(bool), s


def _auroc_2d(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """AUROC per column via the Mann-Whitney U statistic with mid-ranks (ties count 1/2)."""
    n_pos = y.sum(axis=0).astype(np.float64)
    n_neg = y.shape[0] - n_pos
    ranks = rankdata(s, axis=0)  # average ranks for ties: identical to trapezoidal ROC area
    rank_sum = np.where(y, ranks, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def auroc(y_true, scores) -> np.ndarray:
    """Area under the ROC curve for each class.

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (n,) or (n, C)
        True labels.
    scores : array_like of float, same shape
        Classifier scores (larger = more likely positive).

    Returns
    -------
    numpy.ndarray of float64, shape (C,)
        AUROC per class; ``nan`` where a class has no positive or no negative record.

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    array([0.75])
    """
    y, s = _as_2d(y_true, scores, "auroc")
    return _auroc_2d(y, s)


def macro_auroc(y_true, scores, class_names: Sequence[str] | None = None) -> float:
    """Unweighted mean of per-class AUROC over classes where it is defined.

    Classes with only one label value in ``y_true`` are excluded with a ``UserWarning`` that
    names them; if no class is defined the result is ``nan``.
    """
    per_class = auroc(y_true, scores)
    undefined = np.flatnonzero(np.isnan(per_class))
    if undefined.size == per_class.size:
        warnings.warn("macro_auroc: no class has both positive and negative records; "
                      "macro AUROC is undefined (nan)", stacklevel=2)
        return float("nan")
    if undefined.size:
        names = [class_names[i] if class_names is not None else str(i) for i in undefined]
        warnings.warn(f"macro_auroc: classes without both positive and negative records are "
                      f"left out of the macro average: {names}", stacklevel=2)
    return float(np.nanmean(per_class))


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of one class: false-positive rate, true-positive rate, thresholds.

    Thresholds are the distinct scores in decreasing order, preceded by ``inf`` so the curve
    starts at (0, 0), as in scikit-learn (without dropping collinear points).
    """
    y, s = _as_2d(y_true, scores, "roc_curve")
    if y.shape[1] != 1:
        raise ValueError(f"roc_curve: expects one class, got {y.shape[1]} columns")
    y, s = y[:, 0], s[:, 0]
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last].astype(np.float64)
    fps = (last + 1) - tps
    n_pos, n_neg = tps[-1], fps[-1]
    tpr = np.r_[0.0, tps / n_pos] if n_pos else np.r_[0.0, np.full(tps.size, np.nan)]
    fpr = np.r_[0.0, fps / n_neg] if n_neg else np.r_[0.0, np.full(fps.size, np.nan)]
    return fpr, tpr, np.r_[np.inf, s_sorted[last]]


def f1_score(y_true, y_pred) -> np.ndarray:
    """Binary F1 per class from hard predictions; 0 where there are no true or predicted positives
    (scikit-learn's ``zero_division=0``)."""
    y, p = _as_2d(y_true, y_pred, "f1_score")
    p = p.astype(bool)
    tp = (y & p).sum(axis=0).astype(np.float64)
    denom = y.sum(axis=0) + p.sum(axis=0)
    return np.divide(2.0 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def select_thresholds(y_val, scores_val) -> np.ndarray:
    """Per-class decision thresholds that maximise F1 on the validation split.

    The prediction rule is ``score >= threshold``. Candidates are the distinct validation scores;
    ties in F1 go to the highest threshold. A class with no positive validation record gets
    ``+inf`` (predict nothing), which gives F1 = 0 on test unless the test set has no positive either.
    Only validation data enters: test labels cannot change the thresholds.

    Returns
    -------
    numpy.ndarray of float64, shape (C,)
    """
    y, s = _as_2d(y_val, scores_val, "select_thresholds")
    thresholds = np.full(y.shape[1], np.inf)
    for c in range(y.shape[1]):
        n_pos = int(y[:, c].sum())
        if n_pos == 0:
            continue
        order = np.argsort(-s[:, c], kind="mergesort")
        s_sorted, y_sorted = s[order, c], y[order, c]
        last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
        tp = np.cumsum(y_sorted)[last].astype(np.float64)
        predicted = (last + 1).astype(np.float64)
        f1 = 2.0 * tp / (n_pos + predicted)
        thresholds[c] = s_sorted[last][int(np.argmax(f1))]  # first max = highest threshold
    return thresholds


def f1_at_thresholds(y_true, scores, thresholds) -> np.ndarray:
    """F1 per class of the rule ``scores >= thresholds`` (thresholds from :func:`select_thresholds`)."""
    y, s = _as_2d(y_true, scores, "f1_at_thresholds")
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if t.size != y.shape[1]:
        raise ValueError(f"f1_at_thresholds: {t.size} thresholds for {y.shape[1]} classes")
    return f1_score(y, s >= t[None, :])


def bootstrap_ci(y_true, scores, metric: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Percentile-bootstrap confidence intervals over records.

    Parameters
    ----------
    y_true, scores : array_like, shape (n, C)
    metric : callable, optional
        ``metric(y_bool, scores) -> array (C,)`` evaluated on each resample; default per-class
        AUROC. The macro value of a resample is the mean over classes defined in that resample.
    n_boot : int
        Number of resamples (records drawn with replacement).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same intervals.
    level : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    dict
        ``per_class``: (C, 2) array of lower/upper bounds (nan where undefined in > half of the
        resamples); ``macro``: (lower, upper); ``n_boot``, ``seed``, ``level``.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"bootstrap_ci: n_boot must be an int >= 2, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"bootstrap_ci: level must be in (0, 1), got {level!r}")
    y, s = _as_2d(y_true, scores, "bootstrap_ci")
    metric = metric if metric is not None else _auroc_2d
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    values = np.empty((n_boot, y.shape[1]))
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        values[b] = metric(y[idx], s[idx])
    alpha = (1.0 - level) / 2.0
    per_class = np.full((y.shape[1], 2), np.nan)
    for c in range(y.shape[1]):
        v = values[:, c][~np.isnan(values[:, c])]
        if v.size > n_boot / 2:
            per_class[c] = np.quantile(v, [alpha, 1.0 - alpha])
    defined = ~np.isnan(values)
    counts = defined.sum(axis=1)
    macro_vals = np.where(defined, values, 0.0).sum(axis=1)[counts > 0] / counts[counts > 0]
    macro = (np.quantile(macro_vals, [alpha, 1.0 - alpha]) if macro_vals.size
             else np.array([np.nan, np.nan]))
    return {"per_class": per_class, "macro": (float(macro[0]), float(macro[1])),
            "n_boot": int(n_boot), "seed": int(seed), "level": float(level)}


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def evaluate_scores(y_test, scores_test, class_names: Sequence[str], y_val=None, scores_val=None,
                    n_boot: int = 1000, seed: int = 0) -> dict:
    """Full report for one split: AUROC (per class, macro, bootstrap CIs) and F1 at val thresholds.

    Parameters
    ----------
    y_test, scores_test : array_like, shape (n, C)
        Labels and scores of the split being reported (usually test).
    class_names : sequence of str, length C
        Column names, in the column order of ``y_test``.
    y_val, scores_val : array_like, shape (m, C), optional
        Validation labels and scores; when given, per-class thresholds are chosen there
        (:func:`select_thresholds`) and F1 is reported on the test split at those thresholds.
    n_boot : int
        Bootstrap resamples for the CIs (0 disables them).
    seed : int
        Bootstrap seed.

    Returns
    -------
    dict
        JSON-ready: ``classes``, ``n_records``, ``macro_auroc``, ``macro_auroc_ci``,
        ``per_class`` (list of dicts: class, n_pos, auroc, auroc_ci, threshold, f1) and
        ``macro_f1`` (when val data is given). Undefined values are ``None``.
    """
    y, s = _as_2d(y_test, scores_test, "evaluate_scores")
    names = list(class_names)
    if len(names) != y.shape[1]:
        raise ValueError(f"evaluate_scores: {len(names)} class names for {y.shape[1]} columns")
    per_class_auc = _auroc_2d(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the per-class list below records undefined classes
        macro = macro_auroc(y, s)
    undefined = [names[i] for i in np.flatnonzero(np.isnan(per_class_auc))]
    if undefined:
        logger.info("evaluate_scores: AUROC undefined (one label value only) for %s", undefined)
    ci = bootstrap_ci(y, s, n_boot=n_boot, seed=seed) if n_boot else None
    thresholds = f1 = None
    if y_val is not None and scores_val is not None:
        thresholds = select_thresholds(y_val, scores_val)
        f1 = f1_at_thresholds(y, s, thresholds)
    rows = []
    for c, name in enumerate(names):
        rows.append({
            "class": name,
            "n_pos": int(y[:, c].sum()),
            "auroc": _none_if_nan(per_class_auc[c]),
            "auroc_ci": ([_none_if_nan(v) for v in ci["per_class"][c]] if ci else None),
            "threshold": _none_if_nan(thresholds[c]) if thresholds is not None else None,
            "f1": float(f1[c]) if f1 is not None else None,
        })
    out = {
        "classes": names,
        "n_records": int(y.shape[0]),
        "macro_auroc": _none_if_nan(macro),
        "macro_auroc_ci": [_none_if_nan(v) for v in ci["macro"]] if ci else None,
        "bootstrap": {"n_boot": int(n_boot), "seed": int(seed), "level": 0.95} if ci else None,
        "undefined_classes": undefined,
        "per_class": rows,
    }
    if f1 is not None:
        out["macro_f1"] = float(np.mean(f1))
    return out
