"""The second (model) check: per-feature thresholds by keep rate, pipeline integration."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fgclep.recovery.model_check import apply_model_check, candidates, keep_thresholds

torch = pytest.importorskip("torch")


def test_keep_thresholds_keep_the_requested_share():
    scores = {"hr_low": np.array([0.1, 0.9, 0.5, 0.7]), "qrs_wide": np.array([0.3])}
    th = keep_thresholds(scores, 0.5)
    assert th == {"hr_low": 0.7, "qrs_wide": 0.3}      # top 2 of 4; a single candidate stays
    assert keep_thresholds(scores, 1.0)["hr_low"] == 0.1
    with pytest.raises(ValueError, match="keep_rate"):
        keep_thresholds(scores, 0.0)


def test_candidates_per_validator():
    row = {"proposed": ["a", "b", "c"], "confirmed": ["a"], "unverifiable": ["c"]}
    assert candidates(row, "model", False) == ["a", "b", "c"]
    assert candidates(row, "both", False) == ["a"]
    assert candidates(row, "both", True) == ["a", "c"]


class _FakeModel:
    """ECG embedding = (mean of lead 0, 1) normalised; every phrase embeds to (1, 0)."""

    logit_scale = torch.tensor(10.0)
    logit_bias = None

    def eval(self):
        return self

    def encode_text(self, texts):
        return torch.tensor([[1.0, 0.0]] * len(texts))

    def encode_ecg(self, x):
        v = torch.stack([x[:, 0].mean(dim=1), torch.ones(len(x))], dim=1)
        return torch.nn.functional.normalize(v, dim=1)


class _FakeCache:
    def __init__(self, n):
        self.index = pd.DataFrame({"id": [f"r{i}" for i in range(n)]})
        self._x = np.zeros((n, 12, 50), np.float32)
        self._x[:, 0] = np.arange(n, dtype=np.float32)[:, None] / n    # later records score higher

    def signals(self, idx):
        return self._x[list(idx)]


def test_apply_model_check_ranks_by_score():
    rows = [{"record": f"r{i}", "proposed": ["hr_low", "qrs_wide"], "confirmed": ["hr_low"],
             "unverifiable": ["qrs_wide"]} for i in range(6)]
    summary = apply_model_check(rows, _FakeCache(6), _FakeModel(), "both", 0.5, False,
                                batch_size=4)
    kept = [r["record"] for r in rows if r["model_kept"] == ["hr_low"]]
    assert kept == ["r3", "r4", "r5"]                  # the three highest-scoring ECGs
    assert all("qrs_wide" not in r["model_kept"] + r["model_rejected"] for r in rows)
    assert summary["kept"] == 3 and summary["rejected"] == 3
    with pytest.raises(ValueError, match="not in the cache"):
        apply_model_check([{"record": "zz", "proposed": [], "confirmed": [],
                            "unverifiable": []}], _FakeCache(2), _FakeModel(), "model", 0.5,
                          False)


def test_pipeline_model_validator_needs_checkpoint_and_cache(tmp_path):
    from fgclep.recovery.pipeline import RecoveryConfig, recover_features
    reports = tmp_path / "r.csv"
    reports.write_text("record,report\nr1,Sinus bradycardia\n")
    feats = tmp_path / "f.csv"
    feats.write_text("record,heart_rate\nr1,50\n")
    with pytest.raises(ValueError, match="checkpoint"):
        recover_features(RecoveryConfig(out=tmp_path / "o.jsonl", reports=reports,
                                        features=feats, validator="model"))


@pytest.mark.slow
def test_cli_model_validator_with_a_saved_model(tmp_path):
    models = pytest.importorskip("fgclep.models")
    from typer.testing import CliRunner

    from cli.main import app
    cache = tmp_path / "cache"
    pre = CliRunner().invoke(app, ["preprocess", "synthetic", "--out", str(cache), "--limit", "10",
                                   "--no-progress"])
    assert pre.exit_code == 0, pre.output
    models.save_model(models.create_model("resnet1d_small"), tmp_path / "run" / "final")
    out = tmp_path / "E.jsonl"
    res = CliRunner().invoke(app, ["recover-features", "--cache", str(cache), "--out", str(out),
                                   "--validator", "both", "--checkpoint", str(tmp_path / "run"),
                                   "--keep-rate", "0.5"])
    assert res.exit_code == 0, res.output
    assert "model check (both, keep rate 0.50)" in res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10
    for r in rows:
        assert set(r["model_kept"]) | set(r["model_rejected"]) == set(r["confirmed"])
        for fid in r["model_rejected"]:
            assert fid in r["confirmed"]
    n_kept = sum(len(r["model_kept"]) for r in rows)
    n_all = n_kept + sum(len(r["model_rejected"]) for r in rows)
    assert 0.35 <= n_kept / n_all <= 0.75
