"""Small stand-ins for fgclep's model, cache and task, used by the tests of fgclep.eval.

``FakeEncoder.encode_ecg`` embeds a record as the per-lead standard deviation (so lead k carries
class k's signal) and ``encode_text`` maps the word ``classK`` to the unit vector e_K, so zero-shot
scores rank records by their class's lead amplitude.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch
from torch import nn


class FakeEncoder(nn.Module):
    def __init__(self, dim: int = 12, random_ecg: bool = False, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(12, dim, generator=g) if random_ecg else torch.eye(12, dim)
        self.proj = nn.Linear(12, dim, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(w.T)
        self.dim = dim

    def encode_ecg(self, x: torch.Tensor) -> torch.Tensor:
        f = x.std(dim=-1)
        f = f - f.mean(dim=-1, keepdim=True)
        return nn.functional.normalize(self.proj(f), dim=-1)

    def encode_text(self, texts) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)
        for i, t in enumerate(texts):
            for k in re.findall(r"class(\d+)", t):
                out[i, int(k) % self.dim] += 1.0
            out[i, -1] += 0.1  # never all-zero
        return nn.functional.normalize(out, dim=-1)


def make_signals(labels: np.ndarray, rng: np.random.Generator, n_samples: int = 500) -> np.ndarray:
    """(N, 12, n_samples) noise; lead k is louder when class k is positive."""
    n, c = labels.shape
    x = rng.standard_normal((n, 12, n_samples)).astype(np.float32)
    gain = 1.0 + 0.6 * labels.astype(np.float32)
    x[:, :c, :] *= gain[:, :, None]
    return x


class FakeCache:
    def __init__(self, signals: np.ndarray, index: pd.DataFrame):
        self._x = signals
        self.index = index
        self.root = f"fake-cache-{id(self)}"

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, i):
        return {"signal": self._x[i], "report": self.index["report"].iloc[i], "id": self.index["id"].iloc[i],
                "index": i}

    def signals(self, indices):
        return self._x[np.asarray(indices)]


class FakeTask:
    def __init__(self, name: str, classes):
        self.name = name
        self.dataset = "fake"
        self.classes = tuple(classes)

    def label_matrix(self, index: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(index), len(self.classes)), np.int8)
        col = {c: k for k, c in enumerate(self.classes)}
        for i, labs in enumerate(index["labels"].fillna("")):
            for lab in filter(None, labs.split(";")):
                if lab in col:
                    out[i, col[lab]] = 1
        return out

    def split_indices(self, index: pd.DataFrame, splits_dir=None, seed=0):
        return {s: np.flatnonzero(index["split"].to_numpy() == s) for s in ("train", "val", "test")}


def make_fake(rng: np.random.Generator, n: int = 240, n_classes: int = 4, n_samples: int = 500):
    """(cache, task, label matrix) with classes named class0..classK and splits 60/20/20."""
    classes = [f"class{k}" for k in range(n_classes)]
    y = (rng.random((n, n_classes)) < 0.3).astype(np.int8)
    y[rng.integers(0, n, size=n_classes), np.arange(n_classes)] = 1
    split = np.array(["train"] * n, dtype=object)
    perm = rng.permutation(n)
    split[perm[: n // 5]] = "val"
    split[perm[n // 5: 2 * n // 5]] = "test"
    index = pd.DataFrame({
        "id": [f"rec{i:04d}" for i in range(n)],
        "source": [f"/data/rec{i:04d}.hea" for i in range(n)],
        "report": ["fake report"] * n,
        "labels": [";".join(c for c, v in zip(classes, row) if v) for row in y],
        "split": split,
        "shard": 0,
        "row": np.arange(n),
    })
    cache = FakeCache(make_signals(y, rng, n_samples), index)
    return cache, FakeTask("fake", classes), y
