"""The FG-CLEP dual encoder: ECG encoder + text tower, projections to a shared space.

Follows open_clip's CLIP module: ``encode_ecg`` / ``encode_text`` return L2-normalised
embeddings, ``forward`` returns a dict of features, the temperature and the bias by name, which
the loss (:class:`fgclep.losses.SoftSigmoidLoss`) takes by name.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from fgclep.models.config import DualEncoderConfig
from fgclep.models.ecg_resnet import ResNet1D
from fgclep.models.ecg_vit import ECGViT
from fgclep.models.text_tower import TextTower


class DualEncoder(nn.Module):
    """ECG/text dual encoder with learnable log-temperature and optional bias.

    Parameters
    ----------
    cfg : DualEncoderConfig
        Architecture (see :mod:`fgclep.models.config`).

    Examples
    --------
    >>> import torch
    >>> from fgclep.models import create_model
    >>> m = create_model("resnet1d_small")
    >>> out = m(torch.randn(2, 12, 5000), ["sinus rhythm", "atrial fibrillation"])
    >>> out["ecg_features"].shape, round(out["logit_scale"].item(), 3)
    (torch.Size([2, 256]), 10.0)
    """

    def __init__(self, cfg: DualEncoderConfig):
        super().__init__()
        cfg.validate()
        self.config = cfg
        self.ecg = ResNet1D(cfg.ecg) if cfg.ecg.arch == "resnet1d" else ECGViT(cfg.ecg)
        self.ecg_proj = nn.Linear(self.ecg.out_dim, cfg.embed_dim)
        self.text = TextTower(cfg.text)
        self.text_proj = nn.Linear(self.text.out_dim, cfg.embed_dim)
        # t = exp(log_t) keeps the temperature positive; t0 = 10 as in SigLIP / FG-CLEP.
        self.log_logit_scale = nn.Parameter(torch.tensor(float(cfg.init_logit_scale)))
        self.bias = nn.Parameter(torch.tensor(float(cfg.init_logit_bias))) if cfg.use_bias else None

    @property
    def logit_scale(self) -> torch.Tensor:
        """The temperature ``t = exp(log_t)`` (a 0-d tensor with grad)."""
        return self.log_logit_scale.exp()

    @property
    def logit_bias(self) -> Optional[torch.Tensor]:
        """The logit bias ``b`` or None when the config has ``use_bias=false``."""
        return self.bias

    @property
    def text_frozen(self) -> bool:
        """True when the whole text tower is frozen, so precomputed embeddings can replace it."""
        return self.text.frozen

    def encode_ecg(self, signals: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """``(B, 12, 5000)`` signals in mV → ``(B, embed_dim)`` (unit norm when ``normalize``)."""
        z = self.ecg_proj(self.ecg(signals))
        return F.normalize(z, dim=-1) if normalize else z

    def encode_text(self, texts: Sequence[str], normalize: bool = True) -> torch.Tensor:
        """List of reports → ``(B, embed_dim)`` (unit norm when ``normalize``)."""
        return self.encode_text_embeddings(self.text(texts), normalize=normalize)

    def encode_text_embeddings(self, text_emb: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Project precomputed text-tower outputs (e.g. :func:`fgclep.text.embed_reports` of the
        same encoder) → ``(B, embed_dim)``. Equals :meth:`encode_text` when the tower is frozen."""
        if text_emb.ndim != 2 or text_emb.shape[1] != self.text.out_dim:
            raise ValueError(
                f"encode_text_embeddings: text_emb must have shape (B, {self.text.out_dim}), "
                f"got {tuple(text_emb.shape)}"
            )
        z = self.text_proj(text_emb.to(self.text_proj.weight.dtype))
        return F.normalize(z, dim=-1) if normalize else z

    def forward(
        self,
        signals: torch.Tensor,
        texts: Optional[Sequence[str]] = None,
        text_embeddings: Optional[torch.Tensor] = None,
    ) -> dict[str, Optional[torch.Tensor]]:
        """Encode a batch of pairs.

        Parameters
        ----------
        signals : torch.Tensor
            ``(B, 12, 5000)`` in mV.
        texts : list of str, optional
            Reports; give these or ``text_embeddings``.
        text_embeddings : torch.Tensor, optional
            ``(B, text_dim)`` precomputed text-tower outputs (only valid with a frozen tower).

        Returns
        -------
        dict
            ``ecg_features``, ``text_features`` (both unit norm), ``logit_scale`` (``t``),
            ``logit_bias`` (``b`` or None).
        """
        if (texts is None) == (text_embeddings is None):
            raise ValueError("DualEncoder.forward: pass exactly one of texts or text_embeddings")
        if text_embeddings is not None:
            if not self.text_frozen:
                raise ValueError(
                    "DualEncoder.forward: text_embeddings replace the text tower only when it is "
                    "fully frozen (text.freeze_layers=-1)"
                )
            text_features = self.encode_text_embeddings(text_embeddings)
        else:
            text_features = self.encode_text(texts)
        return {
            "ecg_features": self.encode_ecg(signals),
            "text_features": text_features,
            "logit_scale": self.logit_scale,
            "logit_bias": self.logit_bias,
        }
