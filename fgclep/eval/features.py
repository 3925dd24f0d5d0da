"""ECG embedding extraction: batched, timed, cached on disk.

A frozen encoder's features are computed once per (model weights, data, record selection) and
stored as ``.npy`` under ``cache_dir``, so linear probes over several label fractions, seeds and
regularisation strengths reuse them.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = ["ExtractionStats", "model_fingerprint", "extract_ecg_features", "embedding_throughput",
           "load_encoder"]


@dataclass
class ExtractionStats:
    """Timing of one extraction: ``records`` embedded in ``seconds`` (0 records when cached)."""

    records: int
    seconds: float
    cached: bool = False

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("nan")


def model_fingerprint(model: Any) -> str:
    """SHA-1 of the model's ``state_dict`` (names, shapes, dtypes and values)."""
    h = hashlib.sha1()
    state = model.state_dict() if hasattr(model, "state_dict") else {}
    for name in sorted(state):
        t = state[name]
        if not torch.is_tensor(t):
            continue
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(name.encode())
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    h.update(type(model).__qualname__.encode())
    return h.hexdigest()


def _source_fingerprint(source: Any) -> str:
    h = hashlib.sha1()
    if isinstance(source, np.ndarray):
        h.update(str((source.shape, source.dtype.str)).encode())
        h.update(np.ascontiguousarray(source).view(np.uint8).reshape(-1).tobytes())
        return h.hexdigest()
    root = getattr(source, "root", None) or getattr(source, "path", None)
    h.update(str(Path(root).resolve() if root is not None else id(source)).encode())
    index = getattr(source, "index", None)
    if index is not None and "id" in getattr(index, "columns", ()):
        h.update("\n".join(map(str, index["id"].tolist())).encode())
    h.update(str(len(source)).encode())
    return h.hexdigest()


def _device_of(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _load_batch(source: Any, idx: np.ndarray) -> np.ndarray:
    if isinstance(source, np.ndarray):
        return source[idx]
    if hasattr(source, "signals"):
        return np.asarray(source.signals(idx))
    return np.stack([np.asarray(source[int(i)]["signal"]) for i in idx])


@torch.no_grad()
def extract_ecg_features(model: Any, source: Any, indices=None, batch_size: int = 64,
                         device: str | torch.device | None = None,
                         cache_dir: str | Path | None = None,
                         return_stats: bool = False):
    """Embed ECG records with ``model.encode_ecg`` in batches.

    Parameters
    ----------
    model : object
        Anything with ``encode_ecg(tensor (B, 12, T)) -> tensor (B, d)`` (fgclep's DualEncoder).
        Put in eval mode for the extraction, then restored.
    source : numpy.ndarray (N, 12, T) or ECGCache-like
        Signals, or an object with ``signals(indices) -> (k, 12, T)`` (``fgclep.data.open_cache``)
        or ``source[i]["signal"]``.
    indices : array_like of int, optional
        Records to embed, in this order (default: all).
    batch_size : int
        Records per forward pass.
    device : str or torch.device, optional
        Where to run (default: where the model's parameters are).
    cache_dir : path, optional
        When given, features are stored as ``features-<sha1>.npy`` keyed by the model's weights,
        the source and the indices, and loaded from there on the next call.
    return_stats : bool
        Also return an :class:`ExtractionStats`.

    Returns
    -------
    numpy.ndarray of float32, shape (len(indices), d)
        (and the stats when ``return_stats``).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"extract_ecg_features: batch_size must be a positive int, got {batch_size!r}")
    if not hasattr(model, "encode_ecg"):
        raise TypeError(f"extract_ecg_features: model {type(model).__name__} has no encode_ecg")
    n_total = source.shape[0] if isinstance(source, np.ndarray) else len(source)
    idx = np.arange(n_total) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n_total):
        raise ValueError(f"extract_ecg_features: indices out of range [0, {n_total})")
    cache_file = None
    if cache_dir is not None:
        key = hashlib.sha1((model_fingerprint(model) + _source_fingerprint(source)).encode()
                           + idx.tobytes()).hexdigest()
        cache_file = Path(cache_dir) / f"features-{key}.npy"
        if cache_file.is_file():
            feats = np.load(cache_file)
            logger.info("extract_ecg_features: loaded %d cached features from %s", len(feats), cache_file)
            stats = ExtractionStats(records=0, seconds=0.0, cached=True)
            return (feats, stats) if return_stats else feats
    dev = torch.device(device) if device is not None else _device_of(model)
    was_training = bool(getattr(model, "training", False))
    if hasattr(model, "eval"):
        model.eval()
    chunks = []
    t0 = time.perf_counter()
    try:
        for start in range(0, idx.size, batch_size):
            batch = _load_batch(source, idx[start:start + batch_size])
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(dev)
            chunks.append(model.encode_ecg(x).detach().float().cpu().numpy())
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    seconds = time.perf_counter() - t0
    if chunks:
        feats = np.concatenate(chunks).astype(np.float32, copy=False)
    else:
        feats = np.zeros((0, 0), np.float32)
    stats = ExtractionStats(records=int(idx.size), seconds=seconds)
    logger.info("extract_ecg_features: %d records in %.2f s (%.1f records/s)", idx.size, seconds,
                stats.records_per_s)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npy")
        np.save(tmp, feats)
        tmp.replace(cache_file)  # atomic: an interrupted run never leaves a truncated cache
    return (feats, stats) if return_stats else feats


def embedding_throughput(model: Any, n_records: int = 256, batch_size: int = 64,
                         n_samples: int = 5000, seed: int = 0, warmup: int = 1) -> dict:
    """Records/s of ``encode_ecg`` on random (n_records, 12, n_samples) input.

    Returns
    -------
    dict
        ``records``, ``batch_size``, ``seconds``, ``records_per_s``, ``threads`` (torch intra-op).
    """
    rng = np.random.default_rng(seed)
    signals = rng.standard_normal((n_records, 12, n_samples)).astype(np.float32) * 0.3
    for _ in range(warmup):
        extract_ecg_features(model, signals[: min(batch_size, n_records)], batch_size=batch_size)
    _, stats = extract_ecg_features(model, signals, batch_size=batch_size, return_stats=True)
    return {"records": n_records, "batch_size": batch_size, "seconds": stats.seconds,
            "records_per_s": stats.records_per_s, "threads": torch.get_num_threads()}


def load_encoder(path: str | Path, device: str = "cpu") -> Any:
    """Load a dual encoder from a model directory or a training run directory.

    ``path`` may be the directory :func:`fgclep.models.save_model` wrote (``config.json`` +
    ``model.safetensors``) or a run directory whose ``final/`` holds it.
    """
    from fgclep.models import load_model

    path = Path(path)
    if not (path / "config.json").is_file() and (path / "final" / "config.json").is_file():
        path = path / "final"
    if not (path / "config.json").is_file():
        raise ValueError(f"load_encoder: {path} holds no model (config.json) and no final/ model")
    return load_model(path, device=device)
