"""fgclep.eval.metrics against scikit-learn on random data."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score as sk_f1
from sklearn.metrics import roc_auc_score, roc_curve as sk_roc_curve

from fgclep.eval import metrics


def _random_task(rng, n=300, c=6, ties=False):
    y = (rng.random((n, c)) < rng.uniform(0.05, 0.5, size=c)).astype(int)
    s = rng.standard_normal((n, c)) + 0.8 * y
    if ties:
        s = np.round(s, 1)
    return y, s


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(rng, ties):
    y, s = _random_task(rng, ties=ties)
    ours = metrics.auroc(y, s)
    ref = [roc_auc_score(y[:, c], s[:, c]) for c in range(y.shape[1])]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert metrics.macro_auroc(y, s) == pytest.approx(roc_auc_score(y, s, average="macro"), abs=1e-12)


def test_auroc_one_dimensional_and_undefined_class(rng):
    y, s = _random_task(rng, c=3)
    assert metrics.auroc(y[:, 0], s[:, 0])[0] == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]))
    y[:, 1] = 0
    per = metrics.auroc(y, s)
    assert np.isnan(per[1]) and not np.isnan(per[[0, 2]]).any()
    with pytest.warns(UserWarning, match=r"\['B'\]"):
        macro = metrics.macro_auroc(y, s, class_names=["A", "B", "C"])
    assert macro == pytest.approx(np.mean(per[[0, 2]]))


def test_roc_curve_matches_sklearn(rng):
    y, s = _random_task(rng, c=1, ties=True)
    fpr, tpr, thr = metrics.roc_curve(y[:, 0], s[:, 0])
    rfpr, rtpr, rthr = sk_roc_curve(y[:, 0], s[:, 0], drop_intermediate=False)
    np.testing.assert_allclose(fpr, rfpr)
    np.testing.assert_allclose(tpr, rtpr)
    np.testing.assert_allclose(thr[1:], rthr[1:])
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]))


def test_f1_matches_sklearn(rng):
    y, s = _random_task(rng)
    pred = s > 0.5
    ref = sk_f1(y, pred.astype(int), average=None, zero_division=0)
    np.testing.assert_allclose(metrics.f1_score(y, pred), ref)
    t = rng.normal(0.5, 0.3, size=y.shape[1])
    np.testing.assert_allclose(metrics.f1_at_thresholds(y, s, t),
                               sk_f1(y, (s >= t).astype(int), average=None, zero_division=0))


def test_selected_threshold_maximises_val_f1(rng):
    y, s = _random_task(rng, n=200, c=4, ties=True)
    thr = metrics.select_thresholds(y, s)
    for c in range(y.shape[1]):
        cand = np.unique(s[:, c])
        best = max(sk_f1(y[:, c], (s[:, c] >= t).astype(int), zero_division=0) for t in cand)
        got = sk_f1(y[:, c], (s[:, c] >= thr[c]).astype(int), zero_division=0)
        assert got == pytest.approx(best)


def test_threshold_never_looks_at_test(rng):
    y_val, s_val = _random_task(rng, n=150, c=5)
    y_test, s_test = _random_task(rng, n=150, c=5)
    a = metrics.evaluate_scores(y_test, s_test, list("ABCDE"), y_val=y_val, scores_val=s_val, n_boot=0)
    y_flipped = 1 - y_test
    b = metrics.evaluate_scores(y_flipped, s_test, list("ABCDE"), y_val=y_val, scores_val=s_val, n_boot=0)
    assert [r["threshold"] for r in a["per_class"]] == [r["threshold"] for r in b["per_class"]]
    assert [r["f1"] for r in a["per_class"]] != [r["f1"] for r in b["per_class"]]


def test_threshold_no_positive_predicts_nothing():
    y = np.zeros((10, 1), int)
    assert np.isinf(metrics.select_thresholds(y, np.arange(10.0)[:, None])[0])


def test_bootstrap_matches_sklearn_resampling(rng):
    y, s = _random_task(rng, n=120, c=3)
    ci = metrics.bootstrap_ci(y, s, n_boot=200, seed=7)
    # Reference: the same resamples (same seed, same draws) scored by scikit-learn.
    r = np.random.default_rng(7)
    vals = []
    for _ in range(200):
        idx = r.integers(0, len(y), size=len(y))
        vals.append([roc_auc_score(y[idx, c], s[idx, c]) if 0 < y[idx, c].sum() < len(idx) else np.nan
                     for c in range(3)])
    vals = np.array(vals)
    for c in range(3):
        np.testing.assert_allclose(ci["per_class"][c], np.nanquantile(vals[:, c], [0.025, 0.975]))
    np.testing.assert_allclose(ci["macro"], np.quantile(np.nanmean(vals, axis=1), [0.025, 0.975]))
    point = metrics.auroc(y, s)
    assert np.all(ci["per_class"][:, 0] <= point) and np.all(point <= ci["per_class"][:, 1])


def test_bootstrap_seeded(rng):
    y, s = _random_task(rng, n=80, c=2)
    a = metrics.bootstrap_ci(y, s, n_boot=50, seed=1)
    b = metrics.bootstrap_ci(y, s, n_boot=50, seed=1)
    c = metrics.bootstrap_ci(y, s, n_boot=50, seed=2)
    np.testing.assert_array_equal(a["per_class"], b["per_class"])
    assert not np.array_equal(a["per_class"], c["per_class"])


@pytest.mark.parametrize("bad,match", [
    (dict(y_true=[[0, 2]], scores=[[0.1, 0.2]]), "only 0 and 1"),
    (dict(y_true=[[0, 1]], scores=[[0.1]]), "differs"),
    (dict(y_true=[[0, 1]], scores=[[np.nan, 0.1]]), "NaN"),
    (dict(y_true=np.zeros((0, 2)), scores=np.zeros((0, 2))), "no records"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.auroc(**bad)


def test_bootstrap_bad_args(rng):
    y, s = _random_task(rng, n=20, c=1)
    with pytest.raises(ValueError, match="n_boot"):
        metrics.bootstrap_ci(y, s, n_boot=1)
    with pytest.raises(ValueError, match="level"):
        metrics.bootstrap_ci(y, s, level=1.5)
