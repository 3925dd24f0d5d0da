"""``fgclep demo --small``: the whole chain end to end on the SYNTHETIC corpus, outputs checked."""
from __future__ import annotations

import json

import matplotlib.image as mpimg
import pytest
from typer.testing import CliRunner


@pytest.mark.slow
def test_demo_small_end_to_end(tmp_path):
    from fgclep.cli.main import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--small", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC results" in result.output and "| fine" in result.output
    for name in ("synthetic_ecg_raw_vs_clean.png", "macro_auroc.png", "roc_zeroshot_fine.png",
                 "roc_zeroshot_coarse.png", "roc_zeroshot_random.png"):
        assert mpimg.imread(out / name).shape[0] > 200, name
    for name in ("features.csv", "enhanced.jsonl", "cache/enhanced_reports.csv", "results.md",
                 "runs/coarse/final/config.json", "runs/fine/final/model.safetensors"):
        assert (out / name).stat().st_size > 0, name
    res = json.loads((out / "results.json").read_text())
    assert res["label"] == "SYNTHETIC" and res["task"] == "synthetic" and res["n_test"] >= 30
    for model in ("fine", "coarse", "random"):
        for method in ("zeroshot", "linear_probe"):
            value = res[model][method]["macro_auroc"]
            assert isinstance(value, float) and 0.0 <= value <= 1.0, (model, method)
    # Pretraining on the synthetic reports must beat chance clearly in zero-shot.
    assert res["fine"]["zeroshot"]["macro_auroc"] > 0.6
    assert res["fine"]["zeroshot"]["macro_auroc"] > res["random"]["zeroshot"]["macro_auroc"]
    assert res["fine"]["linear_probe"]["macro_auroc"] > 0.7
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["recover"]["n_enhanced"] > 0 and summary["recover"]["totals"]["confirmed"] > 0
    assert summary["train"]["coarse"]["steps"] > 0 and summary["train"]["fine"]["steps"] > 0
    assert summary["features"]["n_records"] == summary["preprocess"]["n_records"]


@pytest.mark.slow
@pytest.mark.realdata
def test_demo_chain_on_real_cache(shared_data, tmp_path):
    """``--data CACHE``: the same chain on a real (tiny) PTB-XL cache, labelled REAL DATA."""
    from fgclep.cli.main import app

    cache = tmp_path / "ptbxl"
    r = CliRunner().invoke(app, ["preprocess", "ptbxl", "--root", str(shared_data / "ptbxl"),
                                 "--out", str(cache)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--small", "--data", str(cache), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "REAL DATA results, task ptbxl_super" in result.output
    res = json.loads((out / "results.json").read_text())
    assert res["label"] == "REAL DATA" and res["task"] == "ptbxl_super"
    assert set(res) >= {"fine", "coarse", "random"}
    assert (cache / "enhanced_reports.csv").is_file() and not (out / "cache").exists()
