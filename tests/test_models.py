"""fgclep.models: encoder shapes and normalisation, freezing, save/load round trip and errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from fgclep.models import (DualEncoderConfig, create_model, get_model_config, list_models,
                           load_model, normalize_ecg, save_model)
from fgclep.text import embed_reports

TEXTS = ["sinus rhythm", "atrial fibrillation", "left bundle branch block"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return create_model("resnet1d_small").eval()


def _signals(b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 12, 5000, generator=g)


def test_registry_lists_configs():
    assert {"resnet1d18", "vit_tiny", "resnet1d_small"} <= set(list_models())
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet999")


def test_paper_architectures_have_documented_sizes():
    r = get_model_config("resnet1d18")
    assert r.ecg.layers == (2, 2, 2, 2) and r.ecg.widths == (64, 128, 256, 512)
    v = get_model_config("vit_tiny")
    assert (v.ecg.width, v.ecg.depth, v.ecg.heads, v.ecg.patch_seconds) == (192, 12, 3, 1.0)
    assert r.embed_dim == v.embed_dim == 256
    assert math.isclose(r.init_logit_scale, math.log(10.0))


@pytest.mark.parametrize("name, overrides", [
    ("resnet1d18", {}),
    ("vit_tiny", {"ecg__depth": 2}),
    ("resnet1d_small", {}),
])
def test_forward_shapes_and_unit_norm(name, overrides):
    torch.manual_seed(0)
    m = create_model(name, **overrides).eval()
    with torch.no_grad():
        out = m(_signals(), texts=TEXTS)
    assert set(out) == {"ecg_features", "text_features", "logit_scale", "logit_bias"}
    for key in ("ecg_features", "text_features"):
        assert out[key].shape == (3, 256)
        torch.testing.assert_close(out[key].norm(dim=1), torch.ones(3))
    assert out["logit_scale"].item() == pytest.approx(10.0)
    assert out["logit_bias"].item() == 0.0


def test_vit_tokens_are_lead_by_second():
    m = create_model("vit_tiny", ecg__depth=1)
    assert m.ecg.n_patches == 10 and m.ecg.patch == 500
    assert m.ecg.lead_embed.shape == (12, 192) and m.ecg.time_embed.shape == (10, 192)


def test_no_bias_option():
    m = create_model("resnet1d_small", use_bias=False)
    assert m.logit_bias is None
    assert m(_signals(2), texts=TEXTS[:2])["logit_bias"] is None


def test_frozen_tower_equals_precomputed_embeddings(small):
    emb = torch.from_numpy(embed_reports(TEXTS, model=small.text.model))
    with torch.no_grad():
        a = small.encode_text(TEXTS)
        b = small.encode_text_embeddings(emb)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert not any(p.requires_grad for p in small.text.parameters())
    small.train()
    assert not small.text.training  # frozen tower stays in eval mode (no dropout)
    small.eval()


def test_partial_freeze():
    m = create_model("resnet1d_small", text__freeze_layers=3)
    bert = m.text.model[0].auto_model
    assert not any(p.requires_grad for p in bert.embeddings.parameters())
    for i, layer in enumerate(bert.encoder.layer):
        assert all(p.requires_grad == (i >= 3) for p in layer.parameters())
    with pytest.raises(ValueError, match="text_embeddings"):
        m(_signals(2), text_embeddings=torch.zeros(2, 384))
    with pytest.raises(ValueError, match="exceeds"):
        create_model("resnet1d_small", text__freeze_layers=7)


def test_bad_inputs(small):
    with pytest.raises(ValueError, match=r"\(B, 12, 5000\)"):
        small.encode_ecg(torch.zeros(2, 12, 4999))
    with pytest.raises(ValueError, match="exactly one"):
        small(_signals(2))
    with pytest.raises(TypeError, match="list of str"):
        small.encode_text("one string")
    with pytest.raises(ValueError, match="ecg.arch"):
        create_model("resnet1d_small", ecg__arch="lstm")
    with pytest.raises(ValueError, match="unknown config keys"):
        create_model("resnet1d_small", ecg__kernel=3)


def test_normalize_ecg():
    x = _signals(2) * 3 + 1
    x[0, 4] = 0.25  # a flat lead must not become NaN
    s = normalize_ecg(x, "standardize")
    torch.testing.assert_close(s[1].mean(-1), torch.zeros(12), atol=1e-5, rtol=0)
    torch.testing.assert_close(s[1].std(-1, unbiased=False), torch.ones(12), atol=1e-4, rtol=0)
    assert torch.all(s[0, 4] == 0)
    m = normalize_ecg(x, "minmax")
    assert float(m.amin()) >= 0 and float(m.amax()) <= 1 and torch.isfinite(m).all()
    assert torch.equal(normalize_ecg(x, "none"), x)
    with pytest.raises(ValueError, match="normalize_ecg"):
        normalize_ecg(x, "zscore")


def test_save_load_round_trip(small, tmp_path):
    save_model(small, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(tmp_path / "m")
    x = _signals()
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_ecg(x), small.encode_ecg(x), atol=0, rtol=0)
        torch.testing.assert_close(loaded.encode_text(TEXTS), small.encode_text(TEXTS), atol=0, rtol=0)
    # The frozen, pretrained text backbone is referenced by name, not stored.
    assert not any(k.startswith("text.model.") for k in load_file(tmp_path / "m" / "model.safetensors"))


def test_config_json_restores_architecture_and_trained_text(tmp_path):
    torch.manual_seed(1)
    m = create_model("resnet1d_small", ecg__widths=[8, 16, 24], embed_dim=64, use_bias=False,
                     text__freeze_layers=5).eval()
    with torch.no_grad():  # a "trained" text tower must be saved with the model
        m.text.model[0].auto_model.encoder.layer[5].output.dense.bias.add_(0.5)
    save_model(m, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.config == m.config
    assert loaded.ecg.out_dim == 24 and loaded.logit_bias is None
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_text(TEXTS), m.encode_text(TEXTS), atol=0, rtol=0)
        torch.testing.assert_close(loaded.encode_ecg(_signals()), m.encode_ecg(_signals()))


def test_load_rejects_missing_extra_and_misshaped_tensors(small, tmp_path):
    d = save_model(small, tmp_path / "m")
    weights = d / "model.safetensors"
    state = load_file(weights)
    key = "ecg_proj.weight"

    save_file({k: v for k, v in state.items() if k != key}, weights)
    with pytest.raises(ValueError, match=r"missing keys \['ecg_proj.weight'\]"):
        load_model(d)
    save_file({**state, "surprise.weight": torch.zeros(2)}, weights)
    with pytest.raises(ValueError, match=r"unexpected keys \['surprise.weight'\]"):
        load_model(d)
    save_file({**state, key: torch.zeros(3, 3)}, weights)
    with pytest.raises(ValueError, match="ecg_proj.weight.*shape"):
        load_model(d)


def test_load_rejects_bad_config(small, tmp_path):
    d = save_model(small, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["model"]["ecg"]["evil"] = "__import__('os')"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="unknown config keys.*evil"):
        load_model(d)
    (d / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(d)
    (d / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not an fgclep model config"):
        load_model(d)
    # A pickle where the weights belong is refused as unreadable, never unpickled.
    save_model(small, d)
    (d / "model.safetensors").write_bytes(b"\x80\x04\x95pickle-payload")
    with pytest.raises(ValueError, match="cannot read"):
        load_model(d)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nowhere")


def test_config_type_checks():
    with pytest.raises(ValueError, match="embed_dim must be an int"):
        DualEncoderConfig.from_dict({"embed_dim": "256"})
    with pytest.raises(ValueError, match="layers must be a list of ints"):
        DualEncoderConfig.from_dict({"ecg": {"layers": [1.5, 2]}})
    cfg = DualEncoderConfig.from_dict({"ecg": {"layers": [1, 1], "widths": [4, 8]}})
    assert DualEncoderConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert np.isclose(cfg.init_logit_scale, np.log(10))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_outputs_feed_the_loss(small, dtype):
    """The training loop's mixed-precision shape, on CPU autocast: half-precision features from
    the model, float32 scale/bias and report embeddings, into the loss and back."""
    from fgclep.losses import SoftSigmoidLoss

    g = torch.Generator().manual_seed(1)
    emb = torch.nn.functional.normalize(torch.randn(3, 384, generator=g), dim=1)
    small.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=dtype):
        out = small(_signals(), text_embeddings=emb)
    assert out["ecg_features"].dtype == out["text_features"].dtype == dtype
    loss = SoftSigmoidLoss(target="fgclep", backend="chunked")(**out, target_emb=emb)
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    grads = [p.grad for p in small.parameters() if p.requires_grad]
    assert grads and all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all()
                         for g in grads)
    small.zero_grad(set_to_none=True)
