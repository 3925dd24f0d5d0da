"""A sentence-transformers model as a trainable ``nn.Module`` text tower.

The tower tokenises a list of reports and runs the sentence-transformers modules (transformer,
pooling — mean pooling for all-MiniLM-L6-v2 — and normalisation when the model has it), so its
output equals ``SentenceTransformer.encode`` up to padding round-off. ``freeze_layers=k`` freezes
the token embeddings and the first ``k`` transformer layers (MERL freezes most of its text
encoder); ``-1`` freezes everything, and then a training run may feed precomputed
:func:`fgclep.text.embed_reports` embeddings instead of running the tower.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from fgclep.models.config import TextConfig
from fgclep.text.encoder import embedding_dim, load_text_encoder


def _transformer_layers(st) -> tuple[nn.Module, nn.ModuleList]:
    """Return (embeddings module, list of layers) of the first (Transformer) module of ``st``."""
    auto = getattr(st[0], "auto_model", None)
    if auto is None:
        raise ValueError(
            f"TextTower: the first module of the text encoder is {type(st[0]).__name__}, "
            "expected a sentence_transformers Transformer with .auto_model"
        )
    embeddings = getattr(auto, "embeddings", None)
    for path in ("encoder.layer", "layers", "transformer.layer", "encoder.layers"):
        obj = auto
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList):
            return embeddings, obj
    raise ValueError(
        f"TextTower: cannot find the transformer layers of {type(auto).__name__} "
        "to freeze; use text.freeze_layers=0 or -1 with this model"
    )


class TextTower(nn.Module):
    """Sentence-transformers encoder wrapped for training.

    Parameters
    ----------
    cfg : TextConfig
        Which model (``name_or_path``; None = packaged all-MiniLM-L6-v2), how many layers to
        freeze, and the token limit.
    """

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        self.model = load_text_encoder(cfg.name_or_path)
        self.model.max_seq_length = cfg.max_length
        self.out_dim = embedding_dim(self.model)
        self.frozen = cfg.freeze_layers == -1
        if self.frozen:
            self.model.requires_grad_(False)
        elif cfg.freeze_layers > 0:
            embeddings, layers = _transformer_layers(self.model)
            if cfg.freeze_layers > len(layers):
                raise ValueError(
                    f"TextTower: text.freeze_layers={cfg.freeze_layers} exceeds the "
                    f"{len(layers)} layers of the text encoder (use -1 to freeze all)"
                )
            if embeddings is not None:
                embeddings.requires_grad_(False)
            for layer in layers[: cfg.freeze_layers]:
                layer.requires_grad_(False)

    def train(self, mode: bool = True) -> "TextTower":
        # A fully frozen tower stays in eval mode (no dropout), so its output is a fixed function
        # of the text and equals the precomputed embeddings.
        super().train(mode and not self.frozen)
        return self

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``texts`` → ``(B, out_dim)`` float tensor on the tower's device."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("encode_text: texts must be a list of str")
        device = next(self.model.parameters()).device
        # sentence-transformers >= 6 renamed tokenize to preprocess.
        tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = tokenize(list(texts))
        features = {k: v.to(device) for k, v in features.items() if isinstance(v, torch.Tensor)}
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            out = self.model(features)["sentence_embedding"]
        return out
