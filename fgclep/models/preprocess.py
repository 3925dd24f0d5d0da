"""Input normalisation: the ECG encoders' first layer, so training and evaluation agree."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def normalize_ecg(signals: torch.Tensor, method: str = "standardize", eps: float = 1e-6) -> torch.Tensor:
    """Normalise each record and lead of a ``(B, leads, samples)`` batch.

    Parameters
    ----------
    signals : torch.Tensor
        ``(B, leads, samples)`` in mV.
    method : {"standardize", "minmax", "none"}
        ``standardize``: zero mean, unit standard deviation per record and lead (our default:
        amplitude-invariant yet keeps relative wave shapes within a lead). ``minmax``: MERL's
        per-record min-max scaling to [0, 1] (over all leads of a record, as in MERL's
        preprocessing). ``none``: unchanged.
    eps : float
        Floor on the scale, so flat (zero) leads map to zeros instead of NaN.

    Returns
    -------
    torch.Tensor
        Same shape and dtype.
    """
    if method == "standardize":
        mean = signals.mean(dim=-1, keepdim=True)
        std = signals.std(dim=-1, keepdim=True, unbiased=False)
        return (signals - mean) / (std + eps)
    if method == "minmax":
        lo = signals.amin(dim=(-2, -1), keepdim=True)
        hi = signals.amax(dim=(-2, -1), keepdim=True)
        return (signals - lo) / (hi - lo + eps)
    if method == "none":
        return signals
    raise ValueError(
        f"normalize_ecg: method must be 'standardize', 'minmax' or 'none', got {method!r}"
    )


class ECGInput(nn.Module):
    """First layer of every ECG encoder: shape check, NaN-safe normalisation, optional
    average-pool downsampling (``downsample=5`` turns 500 Hz into 100 Hz for fast CPU models)."""

    def __init__(self, n_leads: int, n_samples: int, normalization: str, downsample: int):
        super().__init__()
        self.n_leads, self.n_samples = n_leads, n_samples
        self.normalization, self.downsample = normalization, downsample

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        if signals.ndim != 3 or signals.shape[1] != self.n_leads or signals.shape[2] != self.n_samples:
            raise ValueError(
                f"encode_ecg: signals must have shape (B, {self.n_leads}, {self.n_samples}), "
                f"got {tuple(signals.shape)}"
            )
        x = normalize_ecg(signals.float(), self.normalization)
        if self.downsample > 1:
            x = F.avg_pool1d(x, self.downsample)
        return x
