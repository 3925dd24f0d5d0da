"""fgclep preprocess: per-record preparation, skipped reasons, resume, workers, synthetic, CLI."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecg_files import ecg_like, edit_header, write_wfdb
from fgclep.data import ECGRecord, open_cache, read_wfdb
from fgclep.data.preprocess import PreprocessConfig, prepare_signal, preprocess
from fgclep.leads import LEADS_12
from fgclep.signal import ecg_clean


def _rec(signal, fs=500.0, names=LEADS_12):
    return ECGRecord(signal=signal.astype(np.float32), sampling_rate=fs, lead_names=names,
                     record_id="r", source="mem")


def test_prepare_signal_cleans_and_fixes_length(rng):
    sig = ecg_like(rng, n=6000)
    out = prepare_signal(_rec(sig))
    assert out.shape == (12, 5000) and out.dtype == np.float32
    expected = ecg_clean(sig[:, :5000].astype(np.float32), 500.0)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    short = prepare_signal(_rec(ecg_like(rng, n=3000)))
    assert np.all(short[:, 3000:] == 0) and np.any(short[:, 2990:3000] != 0)
    merl = prepare_signal(_rec(sig), length_policy="merl_cpsc")
    assert np.all(merl[:, 2500:] == 0) and np.any(merl[:, 2400:2500] != 0)


def test_prepare_signal_resamples_to_500(rng):
    out = prepare_signal(_rec(ecg_like(rng, n=1000, fs=100.0), fs=100.0))
    assert out.shape == (12, 5000) and np.any(out[:, 4900:] != 0)


def test_prepare_signal_interpolates_short_nan_runs_and_rejects_long(rng):
    sig = ecg_like(rng)
    sig[2, 1000:1003] = np.nan
    sig[7, 50] = np.inf
    assert np.isfinite(prepare_signal(_rec(sig))).all()
    sig[4, :1000] = np.nan
    with pytest.raises(ValueError, match=r"lead aVL: 20.0% of samples are NaN/inf"):
        prepare_signal(_rec(sig))


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.__setitem__((3, slice(None)), 0.0), r"flat lead\(s\) \['aVR'\]"),
    (lambda s: None, "implausible sampling rate 50 Hz"),
])
def test_prepare_signal_rejections(rng, mutate, message):
    sig = ecg_like(rng)
    mutate(sig)
    fs = 50.0 if "sampling" in message else 500.0
    with pytest.raises(ValueError, match=message):
        prepare_signal(_rec(sig, fs=fs))


def test_prepare_signal_missing_leads_and_expected_rate(rng):
    with pytest.raises(ValueError, match=r"missing leads \['V5', 'V6'\]"):
        prepare_signal(_rec(ecg_like(rng, n_leads=10), names=LEADS_12[:10]))
    with pytest.raises(ValueError, match="wrong sampling rate 250 Hz .dataset uses 500 Hz"):
        prepare_signal(_rec(ecg_like(rng, n=2500, fs=250.0), fs=250.0), expected_rate=500.0)


def _bad_folder(root, rng):
    """Good records plus one of each broken kind; returns the number of good ones."""
    for i in range(5):
        write_wfdb(root, f"good{i}", ecg_like(rng))
    trunc = write_wfdb(root, "trunc", ecg_like(rng))
    trunc.with_suffix(".dat").write_bytes(trunc.with_suffix(".dat").read_bytes()[:1000])
    edit_header(write_wfdb(root, "count", ecg_like(rng)), "count 12 500 5000", "count 12 500 4990")
    edit_header(write_wfdb(root, "fmt", ecg_like(rng)), "fmt.dat 16 ", "fmt.dat 7 ")
    write_wfdb(root, "leads", ecg_like(rng, n_leads=8), lead_names=LEADS_12[:8])
    edit_header(write_wfdb(root, "dup", ecg_like(rng)), " V6", " V5")
    nan = ecg_like(rng)
    nan[0, :2000] = np.nan
    write_wfdb(root, "nan", nan)
    flat = ecg_like(rng)
    flat[9] = 0.0
    write_wfdb(root, "flat", flat)
    write_wfdb(root, "slow", ecg_like(rng, n=500, fs=50.0), fs=50.0)
    hea = write_wfdb(root, "utf", ecg_like(rng), comments=["xx"]).with_suffix(".hea")
    hea.write_bytes(hea.read_bytes().replace(b"xx", b"\xe9t\xe9"))
    return 5


REASONS = {"trunc": "truncated", "count": "disagrees", "fmt": "unknown WFDB format 7",
           "leads": "missing leads", "dup": "duplicate lead names", "nan": "NaN/inf",
           "flat": "flat lead", "slow": "implausible sampling rate", "utf": "not valid UTF-8"}


def test_every_input_is_indexed_or_skipped_with_its_reason(tmp_path, rng):
    n_good = _bad_folder(tmp_path / "in", rng)
    res = preprocess(PreprocessConfig("wfdb", tmp_path / "cache", root=tmp_path / "in",
                                      shard_size=4, progress=False, dtype="float32"))
    assert res.n_records == n_good and res.n_skipped == len(REASONS)
    skipped = pd.read_csv(tmp_path / "cache" / "skipped.csv")
    for name, reason in REASONS.items():
        row = skipped[skipped["source"].str.endswith(f"/{name}")]
        assert len(row) == 1 and reason in row["reason"].iloc[0], (name, row)
    ds = open_cache(tmp_path / "cache")
    assert sorted(ds.index["id"]) == [f"good{i}" for i in range(5)]
    # A cached row equals prepare_signal of the same file.
    i = int(ds.index.index[ds.index["id"] == "good3"][0])
    np.testing.assert_allclose(ds[i]["signal"], prepare_signal(read_wfdb(tmp_path / "in" / "good3")),
                               atol=1e-6)


def test_resume_keeps_finished_shards_and_completes_the_rest(tmp_path, rng):
    for i in range(10):
        write_wfdb(tmp_path / "in", f"r{i:02d}", ecg_like(rng))
    cfg = dict(root=tmp_path / "in", shard_size=3, progress=False)
    preprocess(PreprocessConfig("wfdb", tmp_path / "c", **cfg))
    first = (tmp_path / "c" / "index.csv").read_text()
    shards = tmp_path / "c" / "shards"
    kept = shards / "shard_00000.npy"
    stamp = kept.stat().st_mtime_ns
    # Simulate an interruption: shard 2 never finished (no index part), shard 3 half-written.
    (shards / "shard_00002.index.csv").unlink()
    (shards / "shard_00003.index.csv").unlink()
    (shards / "shard_00003.npy").unlink()
    (tmp_path / "c" / "index.csv").unlink()
    res = preprocess(PreprocessConfig("wfdb", tmp_path / "c", **cfg))
    assert res.n_records == 10 and kept.stat().st_mtime_ns == stamp
    assert (tmp_path / "c" / "index.csv").read_text() == first
    with pytest.raises(ValueError, match=r"other settings \(differs in \['shard_size'\]\)"):
        preprocess(PreprocessConfig("wfdb", tmp_path / "c", root=tmp_path / "in", shard_size=4,
                                    progress=False))


def test_empty_directory_and_bad_settings(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no wfdb records found"):
        preprocess(PreprocessConfig("wfdb", tmp_path / "c", root=tmp_path / "empty"))
    with pytest.raises(ValueError, match="dtype"):
        preprocess(PreprocessConfig("synthetic", tmp_path / "c", dtype="int8"))
    with pytest.raises(ValueError, match="dataset must be one of"):
        preprocess(PreprocessConfig("nope", tmp_path / "c", root=tmp_path))


def test_two_workers_equal_one(tmp_path, rng):
    for i in range(8):
        write_wfdb(tmp_path / "in", f"r{i}", ecg_like(rng))
    for workers in (1, 2):
        preprocess(PreprocessConfig("wfdb", tmp_path / f"w{workers}", root=tmp_path / "in",
                                    shard_size=3, workers=workers, progress=False))
    a, b = open_cache(tmp_path / "w1"), open_cache(tmp_path / "w2")
    pd.testing.assert_frame_equal(a.index, b.index)
    np.testing.assert_array_equal(a.signals(range(8)), b.signals(range(8)))


def test_synthetic_cache_with_ground_truth(tmp_path):
    from fgclep.data import synthetic

    res = preprocess(PreprocessConfig("synthetic", tmp_path / "s", limit=30, shard_size=16,
                                      progress=False))
    ds = open_cache(tmp_path / "s")
    assert res.n_records == 30 and len(ds) == 30 and ds.meta["dataset"] == "synthetic"
    allowed = set(synthetic.ABNORMALITIES) | {"normal"}
    for labels in ds.index["labels"]:
        assert labels and set(labels.split(";")) <= allowed
    assert all(len(r.split()) >= 2 for r in ds.index["report"])
    assert set(ds.index["split"]) <= {"train", "val", "test"}
    assert (ds.index["split"] == "train").sum() >= 20
    lines = (tmp_path / "s" / "synthetic_params.jsonl").read_text().splitlines()
    truth = [json.loads(line) for line in lines]
    assert [t["id"] for t in truth] == ds.index["id"].tolist()
    assert all(30 < t["heart_rate"] < 200 for t in truth)


def test_cli_preprocess(tmp_path):
    from fgclep.cli.main import app

    runner = CliRunner()
    out = tmp_path / "c"
    result = runner.invoke(app, ["preprocess", "synthetic", "--out", str(out), "--limit", "6",
                                 "--no-progress", "--dtype", "float32"])
    assert result.exit_code == 0, result.output
    assert "6 records cached" in result.output and "records/s" in result.output
    assert open_cache(out)[5]["signal"].shape == (12, 5000)
    bad = runner.invoke(app, ["preprocess", "ptbxl", "--out", str(tmp_path / "x"),
                              "--root", str(tmp_path / "missing")])
    flat = " ".join(bad.output.replace("\u2502", " ").split())  # undo the error box wrapping
    assert bad.exit_code != 0 and "is not a directory" in flat
    assert os.path.isdir(out / "shards")


@pytest.mark.realdata
def test_real_ludb_cache_with_fiducials(tmp_path, shared_data):
    from fgclep.leads import FIDUCIALS

    res = preprocess(PreprocessConfig("ludb", tmp_path / "l", root=shared_data / "ludb", limit=3,
                                      progress=False))
    assert res.n_records == 3 and res.n_skipped == 0
    ds = open_cache(tmp_path / "l")
    assert ds.index["id"].tolist() == ["1", "3", "5"] and "rhythm" in ds[0]["report"].lower()
    truth = [json.loads(x) for x in (tmp_path / "l" / "ludb_fiducials.jsonl").read_text()
             .splitlines()]
    assert [t["id"] for t in truth] == ["1", "3", "5"]
    for t in truth:
        assert set(t["fiducials"]) == set(FIDUCIALS)
        assert all(len(rows) == 12 for rows in t["fiducials"].values())


@pytest.mark.realdata
def test_real_ptbxl_cache_splits_by_fold_and_merl_csvs(tmp_path, shared_data):
    from fgclep.data.tasks import get_task

    res = preprocess(PreprocessConfig("ptbxl", tmp_path / "p", root=shared_data / "ptbxl",
                                      progress=False, options={"rate": 100}))
    ds = open_cache(tmp_path / "p")
    assert res.n_records == len(ds) > 0
    db = pd.read_csv(shared_data / "ptbxl" / "ptbxl_database.csv")
    fold = dict(zip(db["ecg_id"].astype(str), db["strat_fold"]))
    expected = ["test" if fold[i] == 10 else "val" if fold[i] == 9 else "train"
                for i in ds.index["id"]]
    assert ds.index["split"].tolist() == expected
    assert ds.index["meta_strat_fold"].tolist() == [fold[i] for i in ds.index["id"]]
    y = get_task("ptbxl_super").label_matrix(ds.index)
    assert y[ds.index["labels"].str.contains("NORM").to_numpy(), 1].all()
    # --splits: MERL CSVs override the folds (ids matched by the ecg_id column)
    splits = tmp_path / "merl"
    splits.mkdir()
    ids = ds.index["id"].tolist()
    pd.DataFrame({"ecg_id": ids[:-1]}).to_csv(splits / "ptbxl_super_train.csv", index=False)
    pd.DataFrame({"ecg_id": ids[-1:]}).to_csv(splits / "ptbxl_super_test.csv", index=False)
    preprocess(PreprocessConfig("ptbxl", tmp_path / "q", root=shared_data / "ptbxl",
                                progress=False, options={"rate": 100}, splits_dir=splits))
    assert open_cache(tmp_path / "q").index["split"].tolist() == ["train"] * (len(ids) - 1) + ["test"]


def test_challenge_source_uses_the_dataset_subfolders(tmp_path, rng):
    from ecg_files import write_challenge

    root = tmp_path / "training"
    write_challenge(root / "cpsc_2018" / "g1", "A0002", ecg_like(rng), ["164889003"])
    write_challenge(root / "cpsc_2018" / "g1", "A0001", ecg_like(rng), ["426783006"])
    write_challenge(root / "georgia" / "g1", "E00001", ecg_like(rng), ["426783006"])
    res = preprocess(PreprocessConfig("cpsc2018", tmp_path / "c", root=tmp_path,
                                      length_policy="merl_cpsc", progress=False))
    ds = open_cache(tmp_path / "c")
    assert res.n_records == 2 and ds.index["id"].tolist() == ["A0001", "A0002"]
    assert ds.index["labels"].tolist() == ["NORM", "AFIB"]
    assert np.all(ds.signals([0, 1])[:, :, 2500:] == 0)
