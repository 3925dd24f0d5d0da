"""A tiny preprocessing cache for the training tests, written with fgclep.data.cache.write_shard.

Four report classes, each with its own dominant frequency, so a model can learn to pair signals
with reports within a few steps."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fgclep.data.cache import write_shard
from fgclep.leads import LEADS_12

REPORTS = ("sinus rhythm. normal ecg", "atrial fibrillation", "sinus bradycardia",
           "left bundle branch block")


def make_cache(path: Path, n_train: int = 48, n_val: int = 8, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    cls = np.arange(n) % len(REPORTS)
    t = np.arange(5000) / 500.0
    freqs = np.array([1.0, 3.0, 0.7, 2.0])
    lead_gain = rng.uniform(0.5, 1.5, size=(12, 1))
    signals = np.empty((n, 12, 5000), dtype=np.float32)
    for i in range(n):
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * freqs[cls[i]] * t + phase) ** 9
        signals[i] = lead_gain * wave + 0.05 * rng.standard_normal((12, 5000))
    index = pd.DataFrame({
        "id": [f"rec{i:04d}" for i in range(n)],
        "source": [f"synthetic/rec{i:04d}" for i in range(n)],
        "report": [REPORTS[c] for c in cls],
        "labels": [str(c) for c in cls],
        "split": ["train"] * n_train + ["val"] * n_val,
        "shard": 0,
        "row": np.arange(n),
    })
    path.mkdir(parents=True, exist_ok=True)
    write_shard(path, 0, signals, index.drop(columns="split"), pd.DataFrame(columns=["source", "reason"]))
    index.to_csv(path / "index.csv", index=False)
    meta = {"sampling_rate": 500, "n_samples": 5000, "lead_names": list(LEADS_12),
            "dtype": "float32", "dataset": "train-test-synthetic"}
    (path / "meta.json").write_text(json.dumps(meta))
    return path
