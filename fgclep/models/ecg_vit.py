"""ViT-tiny ECG encoder over lead x time patches.

Each lead is cut into 1-second patches (10 per lead for 10 s at 500 Hz: 120 tokens for 12
leads), each patch is linearly embedded to width 192, and a learned lead embedding plus a learned
time (patch-position) embedding are added, so attention can mix leads and time freely. Twelve
pre-norm transformer layers with 3 heads (ViT-tiny: Dosovitskiy et al., 2021; Touvron et al.,
2021) and a mean pool over tokens give the feature. This follows the ViT variant of MERL's
benchmark, with per-lead tokens instead of all-lead patches.
"""
from __future__ import annotations

import torch
from torch import nn

from fgclep.models.config import ECGConfig
from fgclep.models.preprocess import ECGInput


class ECGViT(nn.Module):
    """Transformer over ``leads x patches`` tokens; returns ``(B, width)`` features.

    Examples
    --------
    >>> import torch
    >>> from fgclep.models.config import ECGConfig
    >>> enc = ECGViT(ECGConfig(arch="vit", width=32, depth=1, heads=2))
    >>> enc(torch.randn(2, 12, 5000)).shape
    torch.Size([2, 32])
    """

    def __init__(self, cfg: ECGConfig):
        super().__init__()
        self.input = ECGInput(cfg.n_leads, cfg.n_samples, cfg.normalization, cfg.downsample)
        length = cfg.n_samples // cfg.downsample
        self.patch = int(cfg.patch_seconds * cfg.sampling_rate / cfg.downsample)
        self.n_patches = length // self.patch
        self.n_leads = cfg.n_leads
        self.embed = nn.Linear(self.patch, cfg.width)
        self.lead_embed = nn.Parameter(torch.zeros(cfg.n_leads, cfg.width))
        self.time_embed = nn.Parameter(torch.zeros(self.n_patches, cfg.width))
        nn.init.trunc_normal_(self.lead_embed, std=0.02)
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            cfg.width, cfg.heads, dim_feedforward=int(cfg.width * cfg.mlp_ratio),
            dropout=cfg.dropout, activation="gelu", batch_first=True, norm_first=True,
        )
        # enable_nested_tensor only applies to padded batches (we have none) and warns with norm_first.
        self.blocks = nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.out_dim = cfg.width

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        x = self.input(signals)  # (B, L, T)
        b = x.shape[0]
        # (B, L, P, patch): token (l, p) is lead l's p-th second.
        x = x[..., : self.n_patches * self.patch].reshape(b, self.n_leads, self.n_patches, self.patch)
        tok = self.embed(x) + self.lead_embed[None, :, None, :] + self.time_embed[None, None, :, :]
        tok = self.blocks(tok.reshape(b, self.n_leads * self.n_patches, -1))
        return self.norm(tok.mean(dim=1))
