"""fgclep.train: the loss goes down on a small cache, exact resume, NaN stop, stages, CLI."""
from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import fgclep.train.loop as loop
from fgclep.data import open_cache
from fgclep.models import load_model
from fgclep.train import TrainConfig, TrainingDivergedError, list_presets, train
from train_helpers import make_cache

# resnet1d_small: tiny ResNet on 100 Hz input with the text tower frozen (precomputed embeddings).
FAST = dict(model="resnet1d_small", batch_size=8, lr=3e-3, log_every=1, progress=False,
            device="cpu")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return make_cache(tmp_path_factory.mktemp("cache") / "c")


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    """The embedded synthetic corpus through `fgclep preprocess synthetic` (64 records)."""
    from fgclep.data.preprocess import PreprocessConfig, preprocess

    out = tmp_path_factory.mktemp("synthetic") / "c"
    preprocess(PreprocessConfig("synthetic", out, limit=64, progress=False))
    return out


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_training_lowers_the_loss(synthetic_cache, tmp_path):
    out = tmp_path / "run"
    result = train(TrainConfig(cache=str(synthetic_cache), out=str(out), epochs=3, **FAST))
    m = _metrics(out)
    n_train = int((open_cache(synthetic_cache).index["split"] == "train").sum())
    steps_per_epoch = n_train // 8
    assert [r["step"] for r in m] == list(range(1, 3 * steps_per_epoch + 1))
    first = sum(r["loss"] for r in m[:3]) / 3
    last = sum(r["loss"] for r in m[-3:]) / 3
    assert last < first - 0.05, (first, last)
    # Warm-up then cosine to zero: peak after 10 % of the steps, ~0 at the end.
    lrs = [r["lr"] for r in m]
    assert max(lrs) == pytest.approx(3e-3) and lrs[-1] == pytest.approx(0.0, abs=1e-12)
    model = load_model(result["final"])
    assert model.config.name == "resnet1d_small"
    # Only the newest keep_checkpoints=2 epoch-end checkpoints remain.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [
        f"checkpoint-{2 * steps_per_epoch}", f"checkpoint-{3 * steps_per_epoch}"]
    assert not list(out.glob(".checkpoint-*"))


def test_resume_continues_the_identical_trajectory(cache, tmp_path):
    cfg = dict(cache=str(cache), max_steps=6, checkpoint_every=3, **FAST)
    full = tmp_path / "full"
    train(TrainConfig(out=str(full), **cfg))
    # Simulate a crash after step 5: the run directory has checkpoint-3 and metrics up to 5.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copytree(full / "checkpoint-3", crashed / "checkpoint-3")
    lines = (full / "metrics.jsonl").read_text().splitlines()[:5]
    (crashed / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="resume"):
        train(TrainConfig(out=str(crashed), **cfg))
    result = train(TrainConfig(out=str(crashed), resume=True, **cfg))
    assert result["resumed_from"].endswith("checkpoint-3")

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in ("samples_per_s", "fwd_bwd_s", "step_s", "cpu_s")}
                for r in rows]
    assert strip(_metrics(crashed)) == strip(_metrics(full))
    a = load_file(full / "final" / "model.safetensors")
    b = load_file(crashed / "final" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_refuses_another_batch_layout(cache, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(cache=str(cache), out=str(out), max_steps=2, checkpoint_every=1, **FAST))
    with pytest.raises(ValueError, match="batch_size"):
        train(TrainConfig(cache=str(cache), out=str(out), max_steps=2, resume=True,
                          **{**FAST, "batch_size": 4}))


def test_nan_loss_stops_with_a_clear_message(cache, tmp_path, monkeypatch):
    real = loop.SoftSigmoidLoss
    calls = {"n": 0}

    class PoisonedLoss(real):
        def forward(self, *args, **kwargs):
            calls["n"] += 1
            loss = super().forward(*args, **kwargs)
            return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(loop, "SoftSigmoidLoss", PoisonedLoss)
    out = tmp_path / "run"
    with pytest.raises(TrainingDivergedError, match=r"(?i)loss is nan at step 3 .*lower --lr"):
        train(TrainConfig(cache=str(cache), out=str(out), max_steps=5, checkpoint_every=1, **FAST))
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert not (out / "final").exists()


def test_fine_stage_uses_enhanced_reports(cache, tmp_path):
    coarse = tmp_path / "coarse"
    train(TrainConfig(cache=str(cache), out=str(coarse), max_steps=2, **FAST))
    with pytest.raises(ValueError, match="init"):
        TrainConfig(cache=str(cache), out=str(tmp_path / "x"), stage="fine").validate()
    fine_cache = tmp_path / "cache_fine"
    shutil.copytree(cache, fine_cache)
    ids = [f"rec{i:04d}" for i in range(56)]
    enhanced = "\n".join(f"{i},sinus rhythm. PR interval prolonged (record {i})" for i in ids)
    (fine_cache / "enhanced_reports.csv").write_text("id,enhanced_report\n" + enhanced + "\n")
    fine = tmp_path / "fine"
    result = train(TrainConfig(cache=str(fine_cache), out=str(fine), stage="fine",
                               init=str(coarse), max_steps=2, **FAST))
    with __import__("numpy").load(fine / "report_embeddings.npz") as f:
        assert len(f["keys"]) == 48  # one per distinct enhanced report of the train split
    assert load_model(result["final"]).config == load_model(coarse / "final").config
    with pytest.raises(ValueError, match="neither a run directory"):
        train(TrainConfig(cache=str(fine_cache), out=str(tmp_path / "y"), stage="fine",
                          init=str(tmp_path / "missing"), max_steps=1, **FAST))


def test_trainable_text_tower_and_accumulation(cache, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(cache=str(cache), out=str(out), max_steps=2, grad_accum_steps=2,
                      target="identity", model_overrides={"text__freeze_layers": 5},
                      **{**FAST, "batch_size": 4}))
    m = _metrics(out)
    assert len(m) == 2 and all(math.isfinite(r["loss"]) for r in m)
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["steps_per_epoch"] == 6 and state["grad_accum_steps"] == 2
    # The tuned text layer was saved with the model.
    assert any(k.startswith("text.model.") for k in load_file(out / "final" / "model.safetensors"))


def test_config_validation_and_json(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(cache="c", out="o", batch_size=1).validate()
    with pytest.raises(ValueError, match="amp"):
        TrainConfig(cache="c", out="o", amp="fp8").validate()
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"model": "vit_tiny", "epochs": 3, "lr": 1e-4}))
    cfg = TrainConfig.from_json(path, cache="c", out="o", epochs=None, lr=5e-4)
    assert (cfg.model, cfg.epochs, cfg.lr) == ("vit_tiny", 3, 5e-4)
    path.write_text(json.dumps({"learning_rate": 1e-4}))
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_json(path, cache="c", out="o")
    demo = TrainConfig.from_json("demo", cache="c", out="o")
    assert demo.model == "resnet1d_small" and demo.device == "cpu" and "demo_small" in list_presets()
    with pytest.raises(ValueError, match="amp='bf16' needs a CUDA"):
        loop._amp_dtype("bf16", torch.device("cpu"))


def test_lr_schedule_shape():
    f = loop._lr_lambda(100, 0.1, 0.0)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    decay = [f(s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(decay, decay[1:])) and decay[-1] == pytest.approx(0.0)
    assert loop._lr_lambda(100, 0.1, 0.2)(100) == pytest.approx(0.2)


def test_cli_train(cache, tmp_path):
    from cli.main import app

    out = tmp_path / "run"
    runner = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})
    res = runner.invoke(app, ["train", "--cache", str(cache), "--out", str(out), "--model",
                              "resnet1d_small", "--max-steps", "2", "--batch-size", "8",
                              "--lr", "1e-3", "--device", "cpu", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "trained 2 steps" in res.output and (out / "final" / "model.safetensors").is_file()
    res = runner.invoke(app, ["train", "--cache", str(tmp_path / "nope"), "--out",
                              str(tmp_path / "other")])
    flat = "".join(res.output.replace("│", " ").split())  # undo the error box's line wrapping
    assert res.exit_code == 2 and "notafinishedfgclepcache" in flat, res.output
    assert not (tmp_path / "other").exists()  # nothing is written before the inputs check out
    res = runner.invoke(app, ["train", "--cache", str(cache), "--out", str(out)])
    flat = "".join(res.output.replace("│", " ").split())
    assert res.exit_code == 2 and "alreadyholdscheckpoints" in flat, res.output
