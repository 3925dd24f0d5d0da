"""Benchmark tasks: class orders, label derivation by name, splits, MERL split CSVs, CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fgclep.data.splits import record_key, stratified_split
from fgclep.data.tasks import get_task, list_tasks

# Class orders copied from DESIGN.md section 3 (MERL's test CSVs).
DESIGN = {
    "ptbxl_super": "HYP, NORM, MI, CD, STTC",
    "ptbxl_sub": "AMI, LAFB/LPFB, LVH, STTC, IMI, SEHYP, CRBBB, WPW, LAO/LAE, NORM, ISC, AVB, "
                 "RAO/RAE, LMI, ISCI, ISCA, NST, CLBBB, ILBBB, IRBBB, PMI, RVH, IVCD",
    "ptbxl_form": "PAC, DIG, HVOLT, STD, LPR, QWAVE, VCLVH, NDT, TAB, LOWT, ABQRS, LNGQT, PRC(S), "
                  "NT, STE, NST, PVC, INVT, LVOLT",
    "ptbxl_rhythm": "SVARR, BIGU, STACH, SARRH, SBRAD, TRIGU, AFIB, SR, SVTAC, PSVT, AFLT, PACE",
    "cpsc2018": "AFIB, VPC, NORM, 1AVB, CRBBB, STE, PAC, CLBBB, STD",
}


def test_list_and_class_orders():
    assert list_tasks() == ["ptbxl_super", "ptbxl_sub", "ptbxl_form", "ptbxl_rhythm",
                            "cpsc2018", "csn", "synthetic"]
    for name, classes in DESIGN.items():
        assert get_task(name).classes == tuple(classes.split(", "))
    from fgclep.data import synthetic

    assert get_task("synthetic").classes == tuple(synthetic.ABNORMALITIES) + ("normal",)
    with pytest.raises(ValueError, match="unknown task"):
        get_task("mnist")


def _ptbxl_index():
    return pd.DataFrame({"id": ["1", "2", "3", "4"],
                         "labels": ["IMI;SR;NDT", "NST_;AFIB", "NORM;SR", "STACH"],
                         "split": ["train", "val", "test", "train"]})


def test_ptbxl_labels_by_name():
    idx = _ptbxl_index()
    sup, sub = get_task("ptbxl_super"), get_task("ptbxl_sub")
    form, rhythm = get_task("ptbxl_form"), get_task("ptbxl_rhythm")
    y = sup.label_matrix(idx)
    assert y.dtype == np.int8 and y.shape == (4, 5)
    assert [sup.classes[j] for j in np.nonzero(y[0])[0]] == ["MI", "STTC"]  # NDT is STTC too
    assert [sup.classes[j] for j in np.nonzero(y[1])[0]] == ["STTC"]
    assert [sub.classes[j] for j in np.nonzero(sub.label_matrix(idx)[1])[0]] == ["NST"]
    assert [form.classes[j] for j in np.nonzero(form.label_matrix(idx)[1])[0]] == ["NST"]
    assert [rhythm.classes[j] for j in np.nonzero(rhythm.label_matrix(idx)[3])[0]] == ["STACH"]
    # Records without a class of the task are left out of its splits (MERL's sizes).
    splits = form.split_indices(idx)
    assert splits["train"].tolist() == [0] and splits["val"].tolist() == [1]
    assert splits["test"].size == 0
    assert sup.split_indices(idx)["train"].tolist() == [0]


def test_stratified_split_is_seeded_order_free_and_keeps_rare_classes():
    rng = np.random.default_rng(1)
    classes = ["AFIB", "VPC", "NORM", "1AVB", "CRBBB", "STE", "PAC", "CLBBB", "STD"]
    labels = [";".join(rng.choice(classes, size=rng.integers(1, 3), replace=False,
                                  p=np.linspace(3, 1, 9) / np.linspace(3, 1, 9).sum()))
              for _ in range(600)]
    idx = pd.DataFrame({"id": [f"A{i:04d}" for i in range(600)], "labels": labels})
    task = get_task("cpsc2018")
    a = task.split_indices(idx, seed=3)
    shuffled = idx.sample(frac=1.0, random_state=0).reset_index(drop=True)
    b = task.split_indices(shuffled, seed=3)
    for s in ("train", "val", "test"):  # same records whatever the row order
        assert set(idx["id"][a[s]]) == set(shuffled["id"][b[s]])
    assert abs(len(a["test"]) / 600 - 0.20) < 0.02 and abs(len(a["val"]) / 600 - 0.08) < 0.02
    y = task.label_matrix(idx)
    for s in ("train", "val", "test"):
        assert y[a[s]].sum(axis=0).min() > 0  # every class present in every split
    c = task.split_indices(idx, seed=4)
    assert set(c["test"].tolist()) != set(a["test"].tolist())


def test_stratified_split_validates_fractions():
    with pytest.raises(ValueError, match="fractions"):
        stratified_split([["a"]], (0.5, 0.5, 0.5))


def test_merl_split_csvs_read_by_column_name(tmp_path):
    d = tmp_path / "ptbxl_sub"
    d.mkdir()
    # The train CSV orders its columns differently from val/test (MERL's sub-class quirk).
    pd.DataFrame({"AVB": [0], "filename_hr": ["records500/00000/00001_hr"], "ecg_id": [1],
                  "ISC": [1]}).to_csv(d / "ptbxl_sub_train.csv", index=False)
    pd.DataFrame({"ecg_id": [2], "ISC": [0], "AVB": [1]}).to_csv(d / "ptbxl_sub_val.csv",
                                                                  index=False)
    pd.DataFrame({"ecg_id": [3.0], "ISC": [0], "AVB": [1]}).to_csv(d / "ptbxl_sub_test.csv",
                                                                    index=False)
    idx = pd.DataFrame({"id": ["1", "2", "3", "4"], "labels": ["IMI", "IMI", "IMI", "IMI"],
                        "split": ["test", "test", "test", "test"]})
    splits = get_task("ptbxl_sub").split_indices(idx, splits_dir=tmp_path)
    assert splits["train"].tolist() == [0] and splits["val"].tolist() == [1]
    assert splits["test"].tolist() == [2]
    assert record_key("/WFDB_ChapmanShaoxing/JS00001.mat") == "JS00001"


def test_csn_classes_resolved_from_the_index():
    labels = ["AF"] * 12 + ["SB;Unknown"] * 15 + ["RBBB"] * 3
    idx = pd.DataFrame({"id": [f"JS{i:05d}" for i in range(30)], "labels": labels})
    task = get_task("csn").resolve(idx)
    assert task.classes == ("SB", "AF")  # Unknown dropped, RBBB < 10 records dropped
    assert get_task("csn").label_matrix(idx).shape == (30, 2)
    splits = get_task("csn").split_indices(idx)
    assert sum(len(v) for v in splits.values()) == 27


def test_cli_tasks(tmp_path):
    from fgclep.cli.main import app
    from fgclep.data.preprocess import PreprocessConfig, preprocess

    runner = CliRunner()
    listing = runner.invoke(app, ["tasks"])
    assert listing.exit_code == 0 and "ptbxl_rhythm" in listing.output
    preprocess(PreprocessConfig("synthetic", tmp_path / "c", limit=20, progress=False))
    result = runner.invoke(app, ["tasks", "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "synthetic" in result.output and "ptbxl" not in result.output
    sizes = result.output.split("train/val/test ")[1].split()[0].split("/")
    assert sum(int(s) for s in sizes) == 20
