"""Zero-shot evaluation, prompts and label handling with a small fake encoder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval_fakes import FakeEncoder, make_fake
from fgclep.eval import prompts as P
from fgclep.eval.features import extract_ecg_features
from fgclep.eval.taskdata import read_split_csv, task_labels
from fgclep.eval.zeroshot import class_embeddings, zeroshot, zeroshot_scores


def test_zeroshot_end_to_end_with_fake_encoder(rng, tmp_path):
    cache, task, _ = make_fake(rng)
    prompts = {c: [f"{c} present", f"signs of {c}"] for c in task.classes}
    res = zeroshot(FakeEncoder(), cache, task, prompts=prompts, n_boot=50, out=tmp_path / "zs.json",
                   label="SYNTHETIC")
    assert res["macro_auroc"] > 0.9
    lo, hi = res["macro_auroc_ci"]
    assert lo <= res["macro_auroc"] <= hi
    assert all(r["threshold"] is not None for r in res["per_class"])
    saved = json.loads((tmp_path / "zs.json").read_text())
    assert saved["macro_auroc"] == res["macro_auroc"] and saved["label"] == "SYNTHETIC"
    assert (tmp_path / "zs.csv").read_text().startswith("class,n_pos,auroc")
    assert (tmp_path / "zs_roc.png").stat().st_size > 1000


def test_zeroshot_mismatched_prompts_lose_the_signal(rng):
    cache, task, _ = make_fake(rng, n=600)
    prompts = {c: [c] for c in task.classes}
    # Text embeddings point to leads that carry no class: no better than chance.
    shuffled = {c: [f"class{(k + 5) % 12}"] for k, c in enumerate(task.classes)}
    good = zeroshot(FakeEncoder(), cache, task, prompts=prompts, n_boot=0)["macro_auroc"]
    bad = zeroshot(FakeEncoder(), cache, task, prompts=shuffled, n_boot=0)["macro_auroc"]
    assert good > 0.9 and bad < 0.55


def test_class_embedding_is_normalised_mean_of_prompts():
    enc = FakeEncoder()
    emb = class_embeddings(enc, {"a": ["class1", "class2"], "b": ["class3"]})
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-6)
    assert emb[0, 1] == pytest.approx(emb[0, 2]) and emb[0, 1] > 0.5 and emb[0, 3] == 0
    s = zeroshot_scores(np.eye(12)[:3], emb)
    assert s.shape == (3, 2) and s[1, 0] > s[0, 0]


def test_features_are_cached_and_batched(rng, tmp_path):
    cache, _, _ = make_fake(rng, n=50)
    enc = FakeEncoder()
    a, st = extract_ecg_features(enc, cache, np.arange(7, 40), batch_size=8, cache_dir=tmp_path,
                                 return_stats=True)
    b, st2 = extract_ecg_features(enc, cache, np.arange(7, 40), batch_size=5, cache_dir=tmp_path,
                                  return_stats=True)
    full = extract_ecg_features(enc, cache)
    np.testing.assert_allclose(a, full[7:40], rtol=1e-6)
    np.testing.assert_array_equal(a, b)
    assert not st.cached and st2.cached and len(list(tmp_path.glob("features-*.npy"))) == 1
    with pytest.raises(ValueError, match="out of range"):
        extract_ecg_features(enc, cache, [50])


def test_builtin_prompts_cover_every_task_class():
    tasks = {
        "ptbxl_super": ["HYP", "NORM", "MI", "CD", "STTC"],
        "ptbxl_sub": ["AMI", "LAFB/LPFB", "LVH", "STTC", "IMI", "SEHYP", "CRBBB", "WPW", "LAO/LAE",
                      "NORM", "ISC", "AVB", "RAO/RAE", "LMI", "ISCI", "ISCA", "NST", "CLBBB", "ILBBB",
                      "IRBBB", "PMI", "RVH", "IVCD"],
        "ptbxl_form": ["PAC", "DIG", "HVOLT", "STD", "LPR", "QWAVE", "VCLVH", "NDT", "TAB", "LOWT",
                       "ABQRS", "LNGQT", "PRC(S)", "NT", "STE", "NST", "PVC", "INVT", "LVOLT"],
        "ptbxl_rhythm": ["SVARR", "BIGU", "STACH", "SARRH", "SBRAD", "TRIGU", "AFIB", "SR", "SVTAC",
                         "PSVT", "AFLT", "PACE"],
        "cpsc2018": ["AFIB", "VPC", "NORM", "1AVB", "CRBBB", "STE", "PAC", "CLBBB", "STD"],
    }
    for task, classes in tasks.items():
        got = P.prompts_for_classes(classes, P.builtin_prompts(task))
        assert list(got) == classes
        assert all(len(v) >= 2 for v in got.values()), task
    # MERL spells some keys with underscores: matched by normalised name.
    got = P.prompts_for_classes(["NST_", "_AVB", "ISC_"], P.builtin_prompts("ptbxl_sub"))
    assert got["NST_"] == P.builtin_prompts("ptbxl_sub")["NST"]


def test_builtin_prompts_match_task_registry():
    tasks = pytest.importorskip("fgclep.data.tasks")
    for name in tasks.list_tasks():
        classes = tasks.get_task(name).classes
        if name == "csn":  # classes come from the cache: any Challenge 2021 abbreviation can occur
            defs = Path(tasks.__file__).parent / "task_defs" / "snomed_ct.json"
            classes = sorted({v["abbreviation"] for v in json.loads(defs.read_text())["codes"].values()})
        assert len(classes) >= 5, name
        got = P.prompts_for_classes(classes, P.builtin_prompts(name))
        assert set(got) == set(classes) and all(len(v) >= 2 for v in got.values()), name


def test_ckepe_format_loads(tmp_path):
    path = tmp_path / "CKEPE_prompt.json"
    path.write_text(json.dumps({"NORM": "normal ecg", "STTC": "st-t changes", "MI": "infarction",
                                "CD": "conduction", "HYP": "hypertrophy", "PRC": "premature"}))
    got = P.prompts_for_classes(["HYP", "NORM", "MI", "CD", "STTC", "PRC(S)"], path)
    assert got["NORM"] == ["normal ecg"] and got["PRC(S)"] == ["premature"]
    assert list(got) == ["HYP", "NORM", "MI", "CD", "STTC", "PRC(S)"]
    with pytest.raises(ValueError, match=r"no prompt for classes \['AFIB'\]"):
        P.prompts_for_classes(["NORM", "AFIB"], path)


@pytest.mark.parametrize("content,match", [
    ("[1, 2]", "JSON object"),
    ("{not json", "not valid"),
    ('{"A": ""}', "non-empty"),
    ('{"A": [1]}', "non-empty"),
])
def test_bad_prompt_files(tmp_path, content, match):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        P.load_prompt_file(path)
    with pytest.raises(ValueError, match="does not exist"):
        P.load_prompt_file(tmp_path / "missing.json")


def test_split_csv_columns_matched_by_name(rng, tmp_path):
    cache, task, y = make_fake(rng, n=200)
    enc = FakeEncoder()
    prompts = {c: [c] for c in task.classes}
    csvs_a, csvs_b = {}, {}
    for split in ("val", "test"):
        idx = np.flatnonzero(cache.index["split"].to_numpy() == split)
        df = cache.index.iloc[idx][["id"]].copy()
        for k, c in enumerate(task.classes):
            df[c] = y[idx, k]
        csvs_a[split] = tmp_path / f"a_{split}.csv"
        df.to_csv(csvs_a[split], index=False)
        perm = ["id"] + list(np.array(task.classes)[[2, 0, 3, 1]])
        csvs_b[split] = tmp_path / f"b_{split}.csv"
        df[perm].to_csv(csvs_b[split], index=False)
    ids, lab = read_split_csv(csvs_b["test"], task.classes)
    _, lab_a = read_split_csv(csvs_a["test"], task.classes)
    np.testing.assert_array_equal(lab, lab_a)
    ra = zeroshot(enc, cache, task, prompts=prompts, split_csvs=csvs_a, n_boot=20)
    rb = zeroshot(enc, cache, task, prompts=prompts, split_csvs=csvs_b, n_boot=20)
    ref = zeroshot(enc, cache, task, prompts=prompts, n_boot=20)
    for key in ("macro_auroc", "macro_auroc_ci", "per_class", "macro_f1"):
        assert ra[key] == rb[key] == ref[key]
    with pytest.raises(ValueError, match=r"no column for classes \['class9'\]"):
        read_split_csv(csvs_a["test"], ["class0", "class9"])


def test_task_labels_by_name(rng):
    cache, task, y = make_fake(rng, n=60)
    tl = task_labels(cache.index, task)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(tl.labels[split], y[tl.indices[split]])
