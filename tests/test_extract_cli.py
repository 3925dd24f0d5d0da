"""``fgclep extract-features`` and ``fgclep plot-ecg`` end to end on WFDB files written here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fgclep.cli.main import app
from fgclep.data import synthetic
from fgclep.features import extract_features
from fgclep.leads import FIDUCIALS, LEADS_12_LOWER, measurement_columns
from fgclep.signal.measure import ecg_measure

wfdb = pytest.importorskip("wfdb")


def _write(folder, name, signal, fs, names):
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(names), sig_name=list(names),
                p_signal=signal.T.astype(np.float64), fmt=["16"] * len(names),
                adc_gain=[1000.0] * len(names), baseline=[0] * len(names), write_dir=str(folder))


@pytest.fixture
def record_dir(tmp_path):
    corpus = synthetic.generate(2, seed=12)
    root = tmp_path / "db"
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    _write(root, "a", corpus.signals[0], 500, names)
    _write(root / "sub", "b", corpus.signals[1], 500, names)
    # 250 Hz, 2 leads: a record at its own rate with non-standard lead names.
    _write(root / "sub", "c", corpus.signals[1][[1, 10], ::2], 250, ["MLII", "V5"])
    # Corrupt: the header promises more samples than the data file holds.
    _write(root, "bad", corpus.signals[0][:2], 500, ["I", "II"])
    (root / "bad.dat").write_bytes((root / "bad.dat").read_bytes()[:100])
    return root, corpus


def test_directory_with_corrupt_record(record_dir, tmp_path):
    root, corpus = record_dir
    out = tmp_path / "out" / "features.csv"
    fid = tmp_path / "out" / "fiducials.csv"
    res = CliRunner().invoke(app, ["extract-features", str(root), "--out", str(out),
                                   "--fiducials", str(fid), "--workers", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "3 records measured" in res.output and "1 skipped" in res.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["record", *measurement_columns()]
    assert sorted(df["record"]) == ["a", "sub/b", "sub/c"]
    skipped = pd.read_csv(out.parent / "skipped.csv")
    assert skipped["record"].tolist() == ["bad"] and "bad" in skipped["reason"][0]
    # Values equal a direct ecg_measure of the stored signal (16-bit, 1 uV resolution).
    row = df.set_index("record").loc["a"]
    direct = ecg_measure(corpus.signals[0], 500)
    assert abs(row["heart_rate"] - direct["heart_rate"]) < 0.5
    assert abs(row["qrs_duration"] - direct["qrs_duration"]) <= 4
    two = df.set_index("record").loc["sub/c"]
    assert np.isfinite(two["r_amp_v5"]) and np.isnan(two["r_amp_i"])
    f = pd.read_csv(fid)
    assert list(f.columns) == ["record", "lead", "beat", *FIDUCIALS]
    assert set(f.loc[f["record"] == "a", "lead"]) == {*LEADS_12_LOWER, "global"}
    assert set(f.loc[f["record"] == "sub/c", "lead"]) == {"mlii", "v5", "global"}
    c_r = f.loc[(f["record"] == "sub/c") & (f["lead"] == "global"), "r_peak"]
    assert c_r.max() < 2500  # samples at the record's own 250 Hz
    assert (f[list(FIDUCIALS)] >= -1).all().all()


def test_single_record_path_and_errors(record_dir, tmp_path):
    root, _ = record_dir
    out = tmp_path / "one.csv"
    res = extract_features([str(root / "a.hea")], out, progress=False)
    assert res.n_records == 1 and pd.read_csv(out)["record"].tolist() == [str(root / "a.hea")]
    res = CliRunner().invoke(app, ["extract-features", str(tmp_path / "nothing"), "--out", str(out)])
    assert res.exit_code != 0 and "not a WFDB record" in res.output
    with pytest.raises(ValueError, match="workers"):
        extract_features([str(root)], out, workers=0)


def test_plot_ecg(record_dir, tmp_path):
    root, _ = record_dir
    png = tmp_path / "x.png"
    res = CliRunner().invoke(app, ["plot-ecg", str(root / "a"), "--out", str(png)])
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_preprocessed_cache_input(tmp_path):
    from fgclep.data.preprocess import PreprocessConfig, preprocess

    cache = tmp_path / "cache"
    preprocess(PreprocessConfig(dataset="synthetic", out=cache, limit=3, progress=False))
    out = tmp_path / "f.csv"
    res = extract_features([str(cache)], out, fiducials=tmp_path / "fid.csv", progress=False)
    assert res.n_records == 3 and res.n_skipped == 0
    df = pd.read_csv(out)
    assert df["record"].str.startswith("synthetic-").all()
    assert df["heart_rate"].between(30, 200).all() and (df["n_beats"] >= 4).all()
    # A cache is cleaned with a 40 Hz low-pass, which removes pacing stimuli: not measurable.
    assert df["paced_fraction"].isna().all()
    fid = pd.read_csv(tmp_path / "fid.csv")
    assert set(fid["lead"]) == {*LEADS_12_LOWER, "global"}
