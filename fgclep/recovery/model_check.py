"""The paper's authors' second check: a stage-1 (coarse) model must agree with a feature.

For every candidate (record, feature) pair the coarse dual encoder scores the record's ECG
against the feature's phrase, ``sigmoid(t * <ecg, text> + b)`` with the model's own temperature
``t`` and bias ``b``. Per feature, the threshold is the score quantile that keeps a target share
of that feature's candidates (``keep_rate``): phrases differ in their baseline similarity, so one
global threshold would keep some features always and others never. Pairs below the threshold
are ``model_rejected`` and leave the enhanced report.

Candidates depend on the validator: ``model`` checks every proposed feature; ``both`` checks the
features the measurements kept (confirmed, plus unverifiable ones with ``keep_unverifiable``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from fgclep.recovery.vocabulary import VOCABULARY

logger = logging.getLogger(__name__)

VALIDATORS: tuple[str, ...] = ("measurements", "model", "both")


def load_checkpoint(run_dir: str | os.PathLike, device: str = "cpu"):
    """A trained dual encoder from ``RUN_DIR/final`` (or RUN_DIR itself when it is a model)."""
    from fgclep.models import load_model

    path = Path(run_dir)
    if (path / "final" / "config.json").is_file():
        path = path / "final"
    if not (path / "config.json").is_file():
        raise ValueError(f"load_checkpoint: {run_dir} holds no model (expected config.json in "
                         f"it or in its final/ folder)")
    return load_model(path, device=device)


def feature_scores(model, signals: np.ndarray, feature_ids: Sequence[str],
                   batch_size: int = 64) -> np.ndarray:
    """``(n_records, n_features)`` model probabilities that each ECG shows each feature."""
    import torch

    if signals.ndim != 3:
        raise ValueError(f"feature_scores: signals must be (records, leads, samples), "
                         f"got shape {signals.shape}")
    phrases = [VOCABULARY[f].phrase for f in feature_ids]
    model.eval()
    with torch.no_grad():
        text = model.encode_text(phrases).float()
        scale = float(model.logit_scale)
        bias = model.logit_bias
        bias = float(bias) if bias is not None else 0.0
        out = []
        for i in range(0, len(signals), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(signals[i:i + batch_size],
                                                      dtype=np.float32))
            ecg = model.encode_ecg(x).float()
            out.append(torch.sigmoid(scale * ecg @ text.T + bias).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(phrases)), np.float32)


def keep_thresholds(scores: dict[str, np.ndarray], keep_rate: float) -> dict[str, float]:
    """Per feature, the lowest score kept when a share ``keep_rate`` of candidates is kept."""
    if not 0.0 < keep_rate <= 1.0:
        raise ValueError(f"keep_thresholds: keep_rate must be in (0, 1], got {keep_rate}")
    out = {}
    for fid, s in scores.items():
        s = np.sort(np.asarray(s, dtype=np.float64))
        if s.size:
            n_keep = max(1, int(round(keep_rate * s.size)))
            out[fid] = float(s[s.size - n_keep])
    return out


def candidates(row: dict, validator: str, keep_unverifiable: bool) -> list[str]:
    """Features of one output row that the model checks."""
    if validator == "model":
        return list(row["proposed"])
    return list(row["confirmed"]) + (list(row["unverifiable"]) if keep_unverifiable else [])


def apply_model_check(rows: list[dict], ds, model, validator: str, keep_rate: float,
                      keep_unverifiable: bool, batch_size: int = 64) -> dict:
    """Fill ``model_kept`` / ``model_rejected`` of every row (in place); returns a summary.

    ``ds`` is the preprocessing cache the rows' ``record`` IDs come from.
    """
    if validator not in ("model", "both"):
        raise ValueError(f"apply_model_check: validator must be 'model' or 'both', "
                         f"got {validator!r}")
    position = {str(rid): k for k, rid in enumerate(ds.index["id"].tolist())}
    missing = [r["record"] for r in rows if r["record"] not in position]
    if missing:
        raise ValueError(f"apply_model_check: records {missing[:3]} are not in the cache")
    cands = [candidates(r, validator, keep_unverifiable) for r in rows]
    fids = sorted({f for c in cands for f in c}, key=list(VOCABULARY).index)
    col = {f: j for j, f in enumerate(fids)}
    need = [k for k, c in enumerate(cands) if c]
    scores = np.zeros((len(rows), len(fids)), np.float32)
    for i in range(0, len(need), batch_size):
        idx = need[i:i + batch_size]
        signals = ds.signals([position[rows[k]["record"]] for k in idx])
        scores[idx] = feature_scores(model, signals, fids, batch_size)
    per_feature = {f: np.array([scores[k, col[f]] for k, c in enumerate(cands) if f in c])
                   for f in fids}
    thresholds = keep_thresholds(per_feature, keep_rate)
    for k, (row, c) in enumerate(zip(rows, cands)):
        row["model_kept"] = [f for f in c if scores[k, col[f]] >= thresholds[f]]
        row["model_rejected"] = [f for f in c if scores[k, col[f]] < thresholds[f]]
    logger.info("model check: %d records, %d features, keep rate %.2f", len(rows), len(fids),
                keep_rate)
    return {"validator": validator, "keep_rate": keep_rate, "thresholds": thresholds,
            "kept": int(sum(len(r["model_kept"]) for r in rows)),
            "rejected": int(sum(len(r["model_rejected"]) for r in rows))}
