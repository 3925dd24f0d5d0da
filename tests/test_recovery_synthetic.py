"""End to end on the SYNTHETIC corpus, whose params say which features each record has."""
from __future__ import annotations

import csv
import json

import pytest

from fgclep.recovery.pipeline import RecoveryConfig, recover_features
from fgclep.recovery.validate import validate_features

# Generator ranges (fgclep.data._synthetic_record): every label implies these features.
TRUE = {"sinus_bradycardia": ["hr_low"], "sinus_tachycardia": ["hr_high"],
        "av_block_1": ["pr_prolonged"], "bundle_branch_block": ["qrs_wide"],
        "left_axis_deviation": ["axis_left"], "right_axis_deviation": ["axis_right"],
        "long_qt": ["qtc_prolonged"], "low_voltage": ["low_voltage"], "lvh": ["lvh_voltage"],
        "atrial_fibrillation": ["p_absent", "rr_irregular"]}


def _true_features(labels, params):
    feats = [f for lab in labels for f in TRUE.get(lab, [])]
    for lab in ("st_elevation", "st_depression"):
        if lab in labels:
            feats.append(f"{lab}_{params['st_territory']}")
    if "t_inversion" in labels:
        feats.append(f"t_inversion_{params['t_inversion_territory']}")
    return feats


def _wrong_features(labels, p):
    """Features each record clearly lacks according to its true parameters (with margins)."""
    wrong = []
    if 65 <= p["heart_rate"] <= 95:
        wrong += ["hr_low", "hr_high"]
    if "atrial_fibrillation" not in labels:
        wrong.append("p_absent")
        if p["pr_interval"] < 185:
            wrong.append("pr_prolonged")
    if p["qrs_duration"] < 105:
        wrong.append("qrs_wide")
    if p["qrs_axis"] > -15:
        wrong.append("axis_left")
    if p["qrs_axis"] < 75:
        wrong.append("axis_right")
    if p["sokolow_lyon"] < 3.0:
        wrong.append("lvh_voltage")
    if "lvh" in labels:
        wrong.append("low_voltage")
    if not {"st_elevation", "bundle_branch_block"} & set(labels):
        wrong.append("st_elevation")
    return wrong


@pytest.fixture(scope="module")
def corpus_and_measurements():
    synthetic = pytest.importorskip("fgclep.data.synthetic")
    measure = pytest.importorskip("fgclep.signal.measure")
    corpus = synthetic.generate(80, seed=21)
    table = measure.ecg_measure(corpus.signals, corpus.sampling_rate)
    return corpus, table


def test_true_features_confirmed_wrong_ones_refuted(corpus_and_measurements):
    corpus, table = corpus_and_measurements
    rows = table.to_dict("records")
    n_true = n_true_ok = n_wrong = n_wrong_refuted = 0
    for labels, params, row in zip(corpus.labels, corpus.params, rows):
        true = validate_features(_true_features(labels, params), row)
        n_true += len(true.confirmed) + len(true.refuted) + len(true.unverifiable)
        n_true_ok += len(true.confirmed)
        wrong = validate_features(_wrong_features(labels, params), row)
        n_wrong += len(wrong.confirmed) + len(wrong.refuted) + len(wrong.unverifiable)
        n_wrong_refuted += len(wrong.refuted)
    assert n_true >= 40 and n_wrong >= 300
    assert n_true_ok / n_true >= 0.85
    assert n_wrong_refuted / n_wrong >= 0.85


def test_pipeline_on_synthetic_reports(tmp_path, corpus_and_measurements):
    corpus, table = corpus_and_measurements
    reports = tmp_path / "REPORTS.csv"
    with open(reports, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record", "report"])
        w.writerows(zip(corpus.record_ids, corpus.reports))
    feats = tmp_path / "FEATURES.csv"
    table.insert(0, "record", corpus.record_ids)
    table.to_csv(feats, index=False)
    out = tmp_path / "ENHANCED.jsonl"
    res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats))
    rows = {r["record"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert len(rows) == len(corpus)
    hits = total = 0
    for rid, labels, params in zip(corpus.record_ids, corpus.labels, corpus.params):
        row = rows[rid]
        for f in _true_features(labels, params):
            assert f in row["proposed"], (rid, f, row["report"])   # the KB proposes the truth
            total += 1
            hits += f in row["confirmed"]
        assert not set(row["confirmed"]) & set(row["refuted"])
    assert hits / total >= 0.85
    assert 0.0 <= res.stats["refuted_rate"] < 0.5
    assert res.stats["n_records"] == len(corpus)
