"""Evaluation plots: ROC curves per class, and a bar chart comparing models (matplotlib, Agg)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from fgclep.eval.metrics import auroc, roc_curve

logger = logging.getLogger(__name__)

__all__ = ["plot_roc_curves", "plot_model_comparison"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_roc_curves(y_true, scores, class_names: Sequence[str], path: str | Path,
                    title: str = "ROC curves", max_classes: int = 30) -> Path:
    """One ROC curve per class (AUROC in the legend) with the chance diagonal; writes a PNG.

    Classes without both label values are skipped; at most ``max_classes`` curves are drawn
    (the most frequent classes).
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    s = s[:, None] if s.ndim == 1 else s
    if len(class_names) != y.shape[1]:
        raise ValueError(f"plot_roc_curves: {len(class_names)} class names for {y.shape[1]} columns")
    aucs = auroc(y, s)
    order = [c for c in np.argsort(-y.sum(axis=0), kind="stable") if not np.isnan(aucs[c])]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for c in order[:max_classes]:
        fpr, tpr, _ = roc_curve(y[:, c], s[:, c])
        ax.plot(fpr, tpr, lw=1.2, label=f"{class_names[c]} ({aucs[c]:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance (0.5)")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, loc="lower right", ncol=1 + len(order[:max_classes]) // 16)
    return _save(fig, path, plt)


def plot_model_comparison(values: Mapping[str, Mapping[str, float | None]], path: str | Path,
                          title: str = "macro AUROC", ylabel: str = "macro AUROC") -> Path:
    """Grouped bars: ``values[group][model]`` (e.g. ``{"zero-shot": {"fine": 0.9, ...}}``)."""
    groups = list(values)
    models = list(dict.fromkeys(m for g in groups for m in values[g]))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(groups), 4.3))
    width = 0.8 / max(len(models), 1)
    for k, m in enumerate(models):
        ys = [values[g].get(m) for g in groups]
        xs = np.arange(len(groups)) + (k - (len(models) - 1) / 2) * width
        bars = ax.bar(xs, [np.nan if v is None else v for v in ys], width, label=m)
        for b, v in zip(bars, ys):
            if v is not None and np.isfinite(v):
                ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", fontsize=7)
    ax.axhline(0.5, color="k", ls="--", lw=0.8)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    # Below the axes, so that the legend never covers a bar's value label.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=max(len(models), 1),
              frameon=False)
    return _save(fig, path, plt)


def _save(fig, path: str | Path, plt) -> Path:
    """Lay out, write the PNG (creating its folder) and close the figure."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
