"""``fgclep zeroshot``, ``linear-probe`` and ``evaluate-all`` on a small SYNTHETIC cache and an
untrained model (the commands' plumbing, files and errors; quality is tested in test_demo.py)."""
from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from fgclep.data.preprocess import PreprocessConfig, preprocess
    from fgclep.models import create_model, save_model

    root = tmp_path_factory.mktemp("evalcli")
    preprocess(PreprocessConfig("synthetic", root / "caches" / "synthetic", limit=150, seed=0,
                                progress=False))
    torch.manual_seed(0)
    save_model(create_model("resnet1d_small"), root / "run" / "final")
    return root


def _app():
    from fgclep.cli.main import app

    return app


def test_zeroshot_cli(setup, tmp_path):
    out = tmp_path / "zs.json"
    r = CliRunner().invoke(_app(), ["zeroshot", "--checkpoint", str(setup / "run"), "--cache",
                                    str(setup / "caches" / "synthetic"), "--task", "synthetic",
                                    "--out", str(out), "--n-boot", "20"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["task"] == "synthetic" and len(res["per_class"]) == 14
    assert 0 <= res["macro_auroc"] <= 1 and res["macro_auroc_ci"][0] <= res["macro_auroc_ci"][1]
    assert out.with_suffix(".csv").is_file() and (tmp_path / "zs_roc.png").stat().st_size > 1000
    assert "macro AUROC" in r.output
    # MERL's CKEPE format: one text per key.
    from fgclep.data.tasks import get_task

    ckepe = tmp_path / "CKEPE_prompt.json"
    ckepe.write_text(json.dumps({c: c.replace("_", " ") for c in get_task("synthetic").classes}))
    r = CliRunner().invoke(_app(), ["zeroshot", "--checkpoint", str(setup / "run" / "final"), "--cache",
                                    str(setup / "caches" / "synthetic"), "--task", "synthetic",
                                    "--prompts", str(ckepe), "--out", str(tmp_path / "zs2.json"),
                                    "--n-boot", "0"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "zs2.json").read_text())["prompts"]["long_qt"] == ["long qt"]


def test_linear_probe_cli(setup, tmp_path):
    out = tmp_path / "lp.json"
    r = CliRunner().invoke(_app(), ["linear-probe", "--checkpoint", str(setup / "run"), "--cache",
                                    str(setup / "caches" / "synthetic"), "--task", "synthetic",
                                    "--fraction", "0.5", "--seed", "0", "--seed", "1", "--mode", "linear",
                                    "--out", str(out), "--n-boot", "0"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["mode"] == "linear" and [s["seed"] for s in res["per_seed"]] == [0, 1]
    assert res["macro_auroc_sd"] is not None
    assert len(list((tmp_path / "features").glob("features-*.npy"))) == 3


def test_evaluate_all_cli(setup, tmp_path):
    # 1 % of 118 training records cannot hold a positive of each of 14 classes: the subset grows
    # and says so; the cpsc2018 cache is absent and is reported as missing.
    with pytest.warns(UserWarning) as caught:
        r = CliRunner().invoke(_app(), ["evaluate-all", "--checkpoint", str(setup / "run"), "--caches",
                                        str(setup / "caches"), "--task", "synthetic", "--task", "cpsc2018",
                                        "--seed", "0", "--n-boot", "0", "--out", str(tmp_path / "all")])
    messages = " ".join(str(w.message) for w in caught)
    assert "more than fraction=0.01" in messages and "no cache for task cpsc2018" in messages
    assert r.exit_code == 0, r.output
    md = (tmp_path / "all" / "results.md").read_text()
    assert "Synthetic" in md and "Synthetic 1%" in md and "Missing caches (not evaluated): cpsc2018." in md
    res = json.loads((tmp_path / "all" / "results.json").read_text())
    assert set(res["tasks"]["synthetic"]["linear_probe"]) == {"0.01", "0.1", "1.0"}


@pytest.mark.parametrize("args,match", [
    (["zeroshot", "--checkpoint", "NOPE", "--task", "synthetic"], "no model"),
    (["zeroshot", "--task", "no_such_task"], "no_such_task"),
    (["linear-probe", "--task", "synthetic", "--mode", "sometimes"], "sometimes"),
    (["linear-probe", "--task", "synthetic", "--fraction", "0"], "fraction"),
])
def test_cli_errors(setup, tmp_path, args, match):
    base = {"--checkpoint": str(setup / "run"), "--cache": str(setup / "caches" / "synthetic"),
            "--out": str(tmp_path / "x.json")}
    for k, v in base.items():
        if k not in args:
            args = args + [k, v]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code != 0 and match in r.output and "Traceback" not in r.output


def test_linear_probe_cli_finetune_mode(setup, tmp_path):
    out = tmp_path / "ft.json"
    r = CliRunner().invoke(_app(), ["linear-probe", "--checkpoint", str(setup / "run"), "--cache",
                                    str(setup / "caches" / "synthetic"), "--task", "synthetic",
                                    "--fraction", "1.0", "--seed", "0", "--mode", "finetune",
                                    "--epochs", "2", "--out", str(out), "--n-boot", "0"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["mode"] == "finetune" and res["method"] == "finetune_probe"
    run = res["per_seed"][0]
    assert len(run["val_macro_auroc_by_epoch"]) == 2 and run["selected_epoch"] in (1, 2)
    assert not (tmp_path / "features").exists()  # the encoder trains: no frozen-feature cache
