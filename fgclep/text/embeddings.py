"""Report embeddings with an on-disk cache, and the FG-CLEP similarity targets.

FG-CLEP (arXiv 2505.11939) softens the contrastive targets with the similarity of the reports:
``S_ij = (1 + <r_i, r_j>) / 2`` where ``r`` are L2-normalised report embeddings. Reports are
heavily templated, so embeddings are computed once per unique text and cached by text hash.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from fgclep.text.encoder import embedding_dim

logger = logging.getLogger(__name__)

_DEFAULT_MODEL = None


def _default_model():
    global _DEFAULT_MODEL
    if _DEFAULT_MODEL is None:
        from fgclep.text.encoder import load_text_encoder

        _DEFAULT_MODEL = load_text_encoder()
    return _DEFAULT_MODEL


def text_hash(text: str) -> str:
    """Return the cache key of one text: the hex SHA-256 of its UTF-8 bytes (first 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _model_id(model) -> str:
    name = getattr(model, "fgclep_name", None) or type(model).__name__
    return f"{name}|dim={embedding_dim(model)}"


def _read_cache(path: Path, model_id: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as f:
            keys, emb, mid = f["keys"], f["embeddings"], str(f["model_id"])
    except Exception as exc:  # corrupt or foreign file: say which and why
        raise ValueError(f"embed_reports: cannot read embedding cache {path}: {exc}") from exc
    if mid != model_id:
        raise ValueError(
            f"embed_reports: cache {path} was written by text encoder {mid!r}, not {model_id!r}; "
            "use another cache_path for this encoder"
        )
    return {str(k): e for k, e in zip(keys, emb)}


def _write_cache(path: Path, table: dict[str, np.ndarray], model_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(sorted(table), dtype="U32")
    emb = np.stack([table[k] for k in keys]).astype(np.float32)
    # Write beside the target and rename, so a crash never leaves a half-written cache.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".emb-", suffix=".npz")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, embeddings=emb, model_id=np.array(model_id))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def embed_reports(
    texts: Sequence[str],
    model=None,
    batch_size: int = 64,
    cache_path: Optional[Union[str, os.PathLike]] = None,
) -> np.ndarray:
    """Embed report texts with a sentence-transformers model, L2-normalised, with a disk cache.

    Parameters
    ----------
    texts : sequence of str
        Reports; duplicates are embedded once.
    model : sentence_transformers.SentenceTransformer, optional
        Encoder; default the packaged all-MiniLM-L6-v2 (:func:`fgclep.text.load_text_encoder`).
    batch_size : int
        Encoding batch size.
    cache_path : str or os.PathLike, optional
        ``.npz`` file holding embeddings keyed by :func:`text_hash`; read first, then updated
        with the texts it lacked. It records the encoder's name and refuses another encoder's
        cache.

    Returns
    -------
    numpy.ndarray
        float32 ``(len(texts), d)``, each row of unit L2 norm.

    Examples
    --------
    >>> from fgclep.text import embed_reports
    >>> e = embed_reports(["sinus rhythm", "atrial fibrillation", "sinus rhythm"])
    >>> e.shape, bool((e[0] == e[2]).all())
    ((3, 384), True)
    """
    if isinstance(texts, str):
        raise TypeError("embed_reports: texts must be a sequence of str, not a single str")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"embed_reports: texts[{i}] is {type(t).__name__}, expected str")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"embed_reports: batch_size must be a positive int, got {batch_size!r}")
    if model is None:
        model = _default_model()
    model_id = _model_id(model)
    cache = Path(cache_path) if cache_path is not None else None
    table = _read_cache(cache, model_id) if cache is not None else {}

    hashes = [text_hash(t) for t in texts]
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in table and h not in missing:
            missing[h] = t
    if missing:
        logger.info("embedding %d unique reports (%d cached)", len(missing), len(table))
        emb = model.encode(
            list(missing.values()), batch_size=batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        ).astype(np.float32)
        table.update(zip(missing.keys(), emb))
        if cache is not None:
            _write_cache(cache, table, model_id)
    dim = embedding_dim(model)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    out = np.stack([table[h] for h in hashes]).astype(np.float32)
    # Re-normalise in float32 so the unit norm holds exactly enough for dot products as cosines.
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def similarity_targets(report_emb):
    """FG-CLEP soft targets ``S = (1 + R R^T) / 2`` from L2-normalised report embeddings.

    Parameters
    ----------
    report_emb : numpy.ndarray or torch.Tensor
        ``(N, d)`` unit-norm rows.

    Returns
    -------
    Same type as the input, ``(N, N)`` in ``[0, 1]``, ones on the diagonal.
    """
    if report_emb.ndim != 2:
        raise ValueError(
            f"similarity_targets: report_emb must be 2-D (N, d), got shape {tuple(report_emb.shape)}"
        )
    return (1.0 + report_emb @ report_emb.T) / 2.0
