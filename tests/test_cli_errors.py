"""Bad input to the ``fgclep`` commands: a one-line error naming the file/option, exit code 2,
never an uncaught exception (CliRunner reports one as exit code 1 with ``r.exception`` set)."""
from __future__ import annotations

import re
import shutil

import pytest
import torch
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from fgclep.data.preprocess import PreprocessConfig, preprocess
    from fgclep.models import create_model, save_model

    root = tmp_path_factory.mktemp("clierr")
    preprocess(PreprocessConfig("synthetic", root / "cache", limit=60, seed=0, progress=False))
    torch.manual_seed(0)
    save_model(create_model("resnet1d_small"), root / "run" / "final")
    (root / "afile").write_text("not a folder\n")
    return root


def _invoke(args):
    from fgclep.cli.main import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.output).split())
    return r, text


def _assert_clean_error(r, text, *needles):
    assert r.exit_code == 2, (r.exit_code, text, r.exception)
    assert "Traceback" not in r.output
    compact = "".join(text.split())  # rich wraps long paths mid-word
    for n in needles:
        assert "".join(n.split()) in compact, (n, text)


def _eval_args(setup, tmp_path, command="zeroshot"):
    return [command, "--checkpoint", setup / "run", "--cache", setup / "cache", "--task", "synthetic",
            "--n-boot", "0", "--out", tmp_path / "r" / "RESULTS.json"]


def test_preprocess_out_is_a_file(setup, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    r, text = _invoke(["preprocess", "synthetic", "--out", afile, "--limit", "5", "--no-progress"])
    _assert_clean_error(r, text, "afile", "is a file")
    assert afile.read_text() == "x"


def test_train_out_is_a_file(setup):
    r, text = _invoke(["train", "--cache", setup / "cache", "--out", setup / "afile",
                       "--config", "demo_small", "--max-steps", "1", "--no-progress"])
    _assert_clean_error(r, text, "afile", "is a file")


def test_train_unknown_device(setup, tmp_path):
    r, text = _invoke(["train", "--cache", setup / "cache", "--out", tmp_path / "run",
                       "--config", "demo_small", "--max-steps", "1", "--device", "bogus"])
    _assert_clean_error(r, text, "device", "'bogus'")


def test_zeroshot_unknown_device(setup, tmp_path):
    r, text = _invoke(_eval_args(setup, tmp_path) + ["--device", "bogus"])
    _assert_clean_error(r, text, "device", "'bogus'")


def test_zeroshot_out_below_a_file(setup):
    args = _eval_args(setup, setup)
    args[-1] = setup / "afile" / "RESULTS.json"
    r, text = _invoke(args)
    _assert_clean_error(r, text, "afile", "is a file")


def test_zeroshot_truncated_shard_names_the_file(setup, tmp_path):
    bad = tmp_path / "cache"
    shutil.copytree(setup / "cache", bad)
    shard = bad / "shards" / "shard_00000.npy"
    shard.write_bytes(shard.read_bytes()[:200])
    args = _eval_args(setup, tmp_path)
    args[args.index("--cache") + 1] = bad
    r, text = _invoke(args)
    _assert_clean_error(r, text, "shard_00000.npy", "truncated or corrupt")


def test_linear_probe_feature_cache_is_a_file(setup, tmp_path):
    r, text = _invoke(_eval_args(setup, tmp_path, "linear-probe")
                      + ["--feature-cache", setup / "afile", "--seed", "0"])
    _assert_clean_error(r, text, "afile", "is a file")


def test_evaluate_all_missing_caches_folder(setup, tmp_path):
    r, text = _invoke(["evaluate-all", "--checkpoint", setup / "run", "--caches", tmp_path / "nope",
                       "--out", tmp_path / "ev", "--task", "synthetic", "--n-boot", "0"])
    _assert_clean_error(r, text, "nope", "not a directory")
    assert not (tmp_path / "ev" / "results.md").exists()


def test_evaluate_all_out_is_a_file(setup, tmp_path):
    r, text = _invoke(["evaluate-all", "--checkpoint", setup / "run", "--caches", setup,
                       "--out", setup / "afile", "--task", "synthetic", "--n-boot", "0"])
    _assert_clean_error(r, text, "afile", "is a file")


@pytest.mark.parametrize("name,content", [
    ("index.csv", b'id,source\n"unterminated\x00\xff'),
    ("meta.json", b"{not json"),
])
def test_corrupt_cache_metadata_names_the_file(setup, tmp_path, name, content):
    bad = tmp_path / "cache"
    shutil.copytree(setup / "cache", bad)
    (bad / name).write_bytes(content)
    r, text = _invoke(["tasks", "--cache", bad])
    _assert_clean_error(r, text, name, "cannot read")


def test_plot_ecg_out_below_a_file(setup, tmp_path, rng):
    from ecg_files import ecg_like, write_wfdb

    rec = write_wfdb(tmp_path, "a", ecg_like(rng))
    r, text = _invoke(["plot-ecg", rec, "--out", setup / "afile" / "p.png"])
    _assert_clean_error(r, text, "afile is a file")


@pytest.mark.parametrize("command", [
    ["preprocess", "synthetic", "--limit", "5", "--no-progress", "--out", "{F}/sub"],
    ["extract-features", "{CACHE}", "--no-progress", "--out", "{F}/FEATURES.csv"],
    ["recover-features", "--cache", "{CACHE}", "--out", "{F}/ENHANCED.jsonl"],
    ["download", "ludb", "--no-progress", "--to", "{F}/ludb"],
    ["demo", "--small", "--out", "{F}/demo"],
])
def test_output_folder_below_a_file(setup, command):
    args = [a.replace("{F}", str(setup / "afile")).replace("{CACHE}", str(setup / "cache"))
            for a in command]
    r, text = _invoke(args)
    _assert_clean_error(r, text, "afile is a file")
    assert (setup / "afile").read_text() == "not a folder\n"


@pytest.mark.parametrize("command,needle", [
    (["extract-features", "{CACHE}", "--no-progress", "--out", "{D}"], "is a folder"),
    (["extract-features", "{CACHE}", "--no-progress", "--out", "{D}/F.csv",
      "--fiducials", "{F}/fid.json"], "afile is a file"),
    (["recover-features", "--cache", "{CACHE}", "--out", "{D}"], "is a folder"),
    (["recover-features", "--reports", "{D}", "--features", "{D}", "--out", "{D}/E.jsonl"],
     "is a folder"),
])
def test_file_output_is_a_folder(setup, tmp_path, command, needle):
    args = [a.replace("{F}", str(setup / "afile")).replace("{CACHE}", str(setup / "cache"))
            .replace("{D}", str(tmp_path)) for a in command]
    r, text = _invoke(args)
    _assert_clean_error(r, text, needle)


def test_zeroshot_prompts_is_a_folder(setup, tmp_path):
    r, text = _invoke(_eval_args(setup, tmp_path) + ["--prompts", tmp_path])
    _assert_clean_error(r, text, "prompt file", "is a folder")


def test_plot_ecg_out_is_a_folder(tmp_path, rng):
    from ecg_files import ecg_like, write_wfdb

    rec = write_wfdb(tmp_path, "a", ecg_like(rng))
    r, text = _invoke(["plot-ecg", rec, "--out", tmp_path])
    _assert_clean_error(r, text, "is a folder")
    assert not tmp_path.with_suffix(".png").exists()


@pytest.mark.parametrize("damaged,content", [
    ("meta.json", "{not json"),
    ("shards/shard_00000.index.csv", 'garbage"\n'),
])
def test_preprocess_resume_into_damaged_cache(setup, tmp_path, damaged, content):
    cache = tmp_path / "cache"
    shutil.copytree(setup / "cache", cache)
    (cache / damaged).write_text(content)
    r, text = _invoke(["preprocess", "synthetic", "--out", cache, "--limit", "60", "--no-progress"])
    _assert_clean_error(r, text, damaged.split("/")[-1], "--overwrite")
    if damaged != "meta.json":  # the finished index is not replaced by an empty one
        assert len((cache / "index.csv").read_text().splitlines()) == 61


@pytest.mark.parametrize("damaged", ["trainer_state.json", "training_state.pt"])
def test_train_resume_from_damaged_checkpoint(setup, tmp_path, monkeypatch, damaged):
    from fgclep.train import TrainConfig, train

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = tmp_path / "run"
    train(TrainConfig(cache=str(setup / "cache"), out=str(run), model="resnet1d_small", batch_size=8,
                      max_steps=1, checkpoint_every=1, progress=False, device="cpu"))
    (run / "checkpoint-1" / damaged).write_bytes(b"garbage")
    r, text = _invoke(["train", "--cache", setup / "cache", "--out", run, "--model", "resnet1d_small",
                       "--batch-size", "8", "--max-steps", "2", "--resume", "--no-progress",
                       "--device", "cpu"])
    _assert_clean_error(r, text, f"checkpoint-1/{damaged}", "damaged")


def test_zeroshot_task_of_another_dataset(setup, tmp_path):
    args = _eval_args(setup, tmp_path)
    args[args.index("--task") + 1] = "ptbxl_super"
    r, text = _invoke(args)
    _assert_clean_error(r, text, "ptbxl_super has no test records")


def test_linear_probe_negative_seed(setup, tmp_path):
    r, text = _invoke(_eval_args(setup, tmp_path, "linear-probe") + ["--seed", "-1"])
    _assert_clean_error(r, text, "seeds must be ints >= 0")


@pytest.mark.filterwarnings("ignore:evaluate_all. no cache:UserWarning")
def test_evaluate_all_no_cache_for_any_task(setup, tmp_path):
    r, text = _invoke(["evaluate-all", "--checkpoint", setup / "run", "--caches", tmp_path,
                       "--out", tmp_path / "ev", "--task", "synthetic", "--n-boot", "0"])
    _assert_clean_error(r, text, "no cache for any of the tasks", str(tmp_path))
    assert not (tmp_path / "ev" / "results.md").exists()


def test_recover_features_file_without_measurements(setup, tmp_path):
    feats = tmp_path / "FEATURES.csv"
    feats.write_text("record,foo\nsynthetic-0000000,1\n")
    r, text = _invoke(["recover-features", "--cache", setup / "cache", "--features", feats,
                       "--out", tmp_path / "E.jsonl"])
    _assert_clean_error(r, text, "FEATURES.csv has none of the measurement columns")
    assert not (setup / "cache" / "enhanced_reports.csv").exists()


def _reports_and_features(tmp_path, features="heart_rate\n60"):
    reports = tmp_path / "REPORTS.csv"
    reports.write_text("record,report\nr1,Sinus bradycardia\nr2,Sinus rhythm\n")
    feats = tmp_path / "FEATURES.csv"
    head, *cells = features.split("\n")
    feats.write_text(f"record,{head}\n" + "".join(f"r{i},{c}\n" for i, c in
                                                   enumerate(cells * 2, 1)))
    return reports, feats


def test_recover_features_openai_server_unreachable(tmp_path):
    from test_recovery_backends import closed_port_url

    reports, feats = _reports_and_features(tmp_path)
    url = closed_port_url()
    r, text = _invoke(["recover-features", "--reports", reports, "--features", feats,
                       "--out", tmp_path / "E.jsonl", "--backend", "openai", "--model", "m",
                       "--base-url", url, "--api-key-env", "NO_SUCH_KEY_VAR"])
    _assert_clean_error(r, text, f"cannot connect to {url}")


def test_recover_features_measurements_not_numbers(tmp_path):
    reports, feats = _reports_and_features(tmp_path, "heart_rate\nabc")
    r, text = _invoke(["recover-features", "--reports", reports, "--features", feats,
                       "--out", tmp_path / "E.jsonl"])
    _assert_clean_error(r, text, "FEATURES.csv", "row 1 (record r1): heart_rate 'abc' is not a "
                        "number")


def test_tasks_splits_without_cache(tmp_path):
    r, text = _invoke(["tasks", "--splits", tmp_path])
    _assert_clean_error(r, text, "--splits", "needs --cache")


@pytest.mark.parametrize("which,content,needle", [
    ("REPORTS.csv", "record,report\n", "REPORTS file {} has no records"),
    ("REPORTS.csv", "", "REPORTS file {} is empty"),
    ("FEATURES.csv", "record,heart_rate\n", "FEATURES file {} has no records"),
])
def test_recover_features_input_without_records(tmp_path, which, content, needle):
    reports, feats = _reports_and_features(tmp_path)
    (tmp_path / which).write_text(content)
    r, text = _invoke(["recover-features", "--reports", reports, "--features", feats,
                       "--out", tmp_path / "E.jsonl"])
    _assert_clean_error(r, text, needle.format(tmp_path / which))
    assert not (tmp_path / "E.jsonl").exists()


@pytest.mark.parametrize("command", ["zeroshot", "linear-probe"])
@pytest.mark.parametrize("where,needle", [("{D}", "is a folder"),
                                          ("{F}/RESULTS.json", "afile is a file")])
def test_eval_out_is_a_folder_or_below_a_file(setup, tmp_path, command, where, needle):
    args = _eval_args(setup, tmp_path, command)
    args[-1] = where.replace("{D}", str(tmp_path)).replace("{F}", str(setup / "afile"))
    r, text = _invoke(args + (["--seed", "0"] if command == "linear-probe" else []))
    _assert_clean_error(r, text, needle)
