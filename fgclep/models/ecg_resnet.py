"""ResNet1D ECG encoder, as in MERL (Liu et al., ICML 2024, "Zero-Shot ECG Classification with
Multimodal Learning and Test-time Clinical Knowledge Enhancement"; its ``ResNet18`` 1-D backbone).

A 1-D ResNet-18: a stride-2 stem convolution and max-pool, four stages of two basic blocks
(channels 64/128/256/512, stride 2 from the second stage), global average pooling. Changes from
MERL: the input normalisation is the model's first layer (:class:`~fgclep.models.preprocess.ECGInput`)
and stage sizes come from the config, so small CPU variants share the code.
"""
from __future__ import annotations

import torch
from torch import nn

from fgclep.models.config import ECGConfig
from fgclep.models.preprocess import ECGInput


class BasicBlock1D(nn.Module):
    """Two ``k``-wide convolutions with batch norm and an identity (or 1x1 strided) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, stride=1, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet1D(nn.Module):
    """ResNet1D over ``(B, leads, samples)`` signals in mV; returns ``(B, widths[-1])`` features.

    Examples
    --------
    >>> import torch
    >>> from fgclep.models.config import ECGConfig
    >>> enc = ResNet1D(ECGConfig(layers=(1, 1), widths=(8, 16), downsample=5))
    >>> enc(torch.randn(2, 12, 5000)).shape
    torch.Size([2, 16])
    """

    def __init__(self, cfg: ECGConfig):
        super().__init__()
        self.input = ECGInput(cfg.n_leads, cfg.n_samples, cfg.normalization, cfg.downsample)
        w0 = cfg.widths[0]
        self.stem = nn.Sequential(
            nn.Conv1d(cfg.n_leads, w0, cfg.stem_kernel, stride=2, padding=cfg.stem_kernel // 2,
                      bias=False),
            nn.BatchNorm1d(w0),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, c_in = [], w0
        for i, (n_blocks, c_out) in enumerate(zip(cfg.layers, cfg.widths)):
            blocks = []
            for j in range(n_blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock1D(c_in, c_out, stride, cfg.block_kernel))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.out_dim = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.input(signals))
        x = self.stages(x)
        return self.pool(x).flatten(1)
