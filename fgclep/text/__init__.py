"""Text side of fgclep: offline sentence-transformers encoders, cached report embeddings and the
FG-CLEP similarity targets."""
from __future__ import annotations

from fgclep.text.embeddings import embed_reports, similarity_targets, text_hash
from fgclep.text.encoder import (
    DEFAULT_TEXT_ENCODER,
    default_text_encoder_path,
    embedding_dim,
    load_text_encoder,
    resolve_text_encoder,
)

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "default_text_encoder_path",
    "embed_reports",
    "embedding_dim",
    "load_text_encoder",
    "resolve_text_encoder",
    "similarity_targets",
    "text_hash",
]
