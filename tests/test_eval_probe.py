"""Linear probe: stratified subsets, selection on val, seeds, explicit fine-tune mode."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from eval_fakes import FakeEncoder, make_fake

# The package re-exports the function linear_probe, which shadows the module's name.
LP = importlib.import_module("fgclep.eval.linear_probe")


def _imbalanced_labels(rng, n=5000, c=12):
    p = np.geomspace(0.3, 0.0006, c)  # the rarest classes have only a handful of positives
    y = (rng.random((n, c)) < p).astype(np.int8)
    y[rng.integers(0, n, size=c), np.arange(c)] = 1
    return y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_percent_subset_keeps_a_positive_per_class(rng, seed):
    y = _imbalanced_labels(rng)
    sub = LP.stratified_subset(y, 0.01, seed=seed)
    assert sub.size == 50 and np.unique(sub).size == sub.size
    assert (y[sub].sum(axis=0) >= 1).all()
    # Frequent classes keep roughly their prevalence.
    assert abs(y[sub, 0].mean() - y[:, 0].mean()) < 0.15
    np.testing.assert_array_equal(sub, LP.stratified_subset(y, 0.01, seed=seed))


def test_subset_fractions_and_errors(rng):
    y = _imbalanced_labels(rng, n=1000, c=5)
    assert LP.stratified_subset(y, 0.1, seed=0).size == 100
    np.testing.assert_array_equal(LP.stratified_subset(y, 1.0), np.arange(1000))
    assert not np.array_equal(LP.stratified_subset(y, 0.1, seed=0), LP.stratified_subset(y, 0.1, seed=1))
    with pytest.warns(UserWarning, match="one positive per class"):
        sub = LP.stratified_subset(y, 0.001, seed=0)
    assert (y[sub].sum(axis=0) >= 1).all()
    for bad in (0, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="fraction"):
            LP.stratified_subset(y, bad)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        LP.stratified_subset(y[:, 0], 0.1)


def test_logistic_head_matches_sklearn(rng):
    x = rng.standard_normal((300, 8))
    y = (x[:, :3] + 0.5 * rng.standard_normal((300, 3)) > 0.3).astype(int)
    head = LP.fit_logistic_head(x, y, C=0.5)
    xs = (x - x.mean(0)) / x.std(0)
    for c in range(3):
        ref = LogisticRegression(C=0.5, max_iter=1000).fit(xs, y[:, c]).decision_function(xs)
        np.testing.assert_allclose(head.decision_function(x)[:, c], ref, rtol=1e-4, atol=1e-4)


def test_selection_uses_val_only_and_test_once(rng):
    x = rng.standard_normal((600, 10))
    y = (x[:, :2] + rng.standard_normal((600, 2)) > 0.8).astype(np.int8)
    feats = {"train": x[:300], "val": x[300:450], "test": x[450:]}
    labels = {"train": y[:300], "val": y[300:450], "test": y[450:]}
    res, scores = LP.linear_probe_from_features(feats, labels, ["a", "b"], fraction=1.0, seeds=[0],
                                                Cs=(0.001, 0.1, 10.0), n_boot=20)
    r = res["per_seed"][0]
    val = r["val_macro_auroc_by_C"]
    assert r["selected_C"] == float(max(val, key=val.get))
    # Changing test labels changes neither the selected C nor the thresholds.
    flipped = dict(labels, test=1 - labels["test"])
    res2, scores2 = LP.linear_probe_from_features(feats, flipped, ["a", "b"], fraction=1.0, seeds=[0],
                                                  Cs=(0.001, 0.1, 10.0), n_boot=20)
    r2 = res2["per_seed"][0]
    assert r2["selected_C"] == r["selected_C"]
    assert [p["threshold"] for p in r2["per_class"]] == [p["threshold"] for p in r["per_class"]]
    np.testing.assert_array_equal(scores, scores2)
    assert res["macro_auroc"] == pytest.approx(np.mean([roc_auc_score(labels["test"][:, c], scores[:, c])
                                                         for c in range(2)]))


def test_linear_probe_seeds_mean_sd(rng, tmp_path):
    cache, task, _ = make_fake(rng, n=400)
    res = LP.linear_probe(FakeEncoder(), cache, task, fraction=0.1, seeds=(0, 1, 2), Cs=(0.1, 1.0),
                          n_boot=20, feature_cache_dir=tmp_path / "feats", out=tmp_path / "lp.json")
    macros = [r["macro_auroc"] for r in res["per_seed"]]
    assert res["macro_auroc"] == pytest.approx(np.mean(macros))
    assert res["macro_auroc_sd"] == pytest.approx(np.std(macros, ddof=1))
    assert res["macro_auroc"] > 0.8 and res["mode"] == "linear" and res["method"] == "linear_probe"
    assert all(r["n_train"] == 24 for r in res["per_seed"])
    assert (tmp_path / "lp.json").is_file() and (tmp_path / "lp.csv").is_file()
    assert len(list((tmp_path / "feats").glob("features-*.npy"))) == 3  # train, val, test once


def test_mode_is_explicit(rng):
    cache, task, _ = make_fake(rng, n=60)
    with pytest.raises(ValueError, match="mode must be one of"):
        LP.linear_probe(FakeEncoder(), cache, task, mode="linear_finetune")


def test_finetune_mode_trains_a_copy(rng):
    import torch

    cache, task, _ = make_fake(rng, n=160, n_samples=200)
    enc = FakeEncoder(random_ecg=True)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    res = LP.linear_probe(enc, cache, task, fraction=1.0, mode="finetune", seeds=(0,), n_boot=0,
                          finetune_options={"epochs": 3, "lr": 1e-2, "batch_size": 16})
    r = res["per_seed"][0]
    assert res["mode"] == "finetune" and 1 <= r["selected_epoch"] <= 3
    assert len(r["val_macro_auroc_by_epoch"]) == 3
    assert r["selected_epoch"] == int(np.argmax(r["val_macro_auroc_by_epoch"])) + 1
    assert res["macro_auroc"] > 0.6
    for k, v in enc.state_dict().items():
        assert torch.equal(v, before[k])
