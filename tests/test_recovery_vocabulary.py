"""Vocabulary predicates on hand-built measurement rows at and around every threshold."""
from __future__ import annotations

import math

import pytest

from fgclep.leads import measurement_columns
from fgclep.recovery.vocabulary import (FEATURE_IDS, TERRITORIES, VOCABULARY, evaluate,
                                        get_feature)

NAN = math.nan

REQUIRED = ("hr_low", "hr_high", "rr_irregular", "p_absent", "pr_prolonged", "pr_short",
            "qrs_wide", "qtc_prolonged", "qtc_short", "axis_left", "axis_right", "low_voltage",
            "lvh_voltage", "q_pathologic", "st_elevation", "st_depression", "t_inversion",
            "t_flat")

# (feature, row, expected) — expected values written from the cited criteria.
CASES = [
    ("hr_low", {"heart_rate": 59.9}, True), ("hr_low", {"heart_rate": 60.0}, False),
    ("hr_low", {"heart_rate": NAN}, None), ("hr_low", {}, None),
    ("hr_high", {"heart_rate": 100.0}, False), ("hr_high", {"heart_rate": 100.1}, True),
    ("hr_normal", {"heart_rate": 60.0}, True), ("hr_normal", {"heart_rate": 100.0}, True),
    ("hr_normal", {"heart_rate": 101.0}, False),
    ("rr_irregular", {"rr_mean": 800.0, "rr_std": 80.0}, False),
    ("rr_irregular", {"rr_mean": 800.0, "rr_std": 81.0}, True),
    ("rr_irregular", {"rr_mean": 800.0, "rr_std": NAN}, None),
    ("rr_regular", {"rr_mean": 1000.0, "rr_std": 49.0}, True),
    ("rr_regular", {"rr_mean": 1000.0, "rr_std": 50.0}, False),
    ("p_absent", {"p_wave_fraction": 0.49}, True), ("p_absent", {"p_wave_fraction": 0.5}, None),
    ("p_absent", {"p_wave_fraction": 0.8}, False), ("p_present", {"p_wave_fraction": 0.8}, True),
    ("p_present", {"p_wave_fraction": 0.1}, False),
    ("pr_prolonged", {"pr_interval": 200.0}, False), ("pr_prolonged", {"pr_interval": 201.0}, True),
    ("pr_short", {"pr_interval": 119.0}, True), ("pr_short", {"pr_interval": 120.0}, False),
    ("pr_normal", {"pr_interval": 120.0}, True), ("pr_normal", {"pr_interval": 201.0}, False),
    ("qrs_wide", {"qrs_duration": 119.9}, False), ("qrs_wide", {"qrs_duration": 120.0}, True),
    ("qrs_incomplete", {"qrs_duration": 110.0}, True),
    ("qrs_incomplete", {"qrs_duration": 120.0}, False),
    ("qrs_normal", {"qrs_duration": 109.0}, True), ("qrs_normal", {"qrs_duration": 110.0}, False),
    # QTc: men >= 450, women >= 460; unknown sex: True >= 460, False < 450, else unverifiable
    ("qtc_prolonged", {"qtc_bazett": 449.0}, False), ("qtc_prolonged", {"qtc_bazett": 455.0}, None),
    ("qtc_prolonged", {"qtc_bazett": 460.0}, True),
    ("qtc_prolonged", {"qtc_bazett": 455.0, "sex": "M"}, True),
    ("qtc_prolonged", {"qtc_bazett": 455.0, "sex": "female"}, False),
    ("qtc_short", {"qtc_bazett": 390.0}, True), ("qtc_short", {"qtc_bazett": 391.0}, False),
    ("qtc_normal", {"qtc_bazett": 420.0}, True), ("qtc_normal", {"qtc_bazett": 390.0}, False),
    ("axis_left", {"qrs_axis": -30.0}, False), ("axis_left", {"qrs_axis": -31.0}, True),
    ("axis_left", {"qrs_axis": -90.0}, True), ("axis_left", {"qrs_axis": -91.0}, False),
    ("axis_left_marked", {"qrs_axis": -45.0}, True),
    ("axis_left_marked", {"qrs_axis": -44.0}, False),
    ("axis_right", {"qrs_axis": 90.0}, False), ("axis_right", {"qrs_axis": 91.0}, True),
    ("axis_right", {"qrs_axis": 180.0}, True), ("axis_right", {"qrs_axis": -120.0}, False),
    ("axis_normal", {"qrs_axis": -30.0}, True), ("axis_normal", {"qrs_axis": 90.0}, True),
    ("axis_normal", {"qrs_axis": 91.0}, False),
    ("low_voltage", {"low_voltage": 1.0}, True), ("low_voltage", {"low_voltage": 0.0}, False),
    ("lvh_voltage", {"sokolow_lyon": 3.5}, False), ("lvh_voltage", {"sokolow_lyon": 3.51}, True),
    # Cornell: > 2.8 men, > 2.0 women; unknown sex in between is unverifiable
    ("lvh_cornell", {"cornell_voltage": 2.9}, True),
    ("lvh_cornell", {"cornell_voltage": 2.0}, False),
    ("lvh_cornell", {"cornell_voltage": 2.4}, None),
    ("lvh_cornell", {"cornell_voltage": 2.4, "sex": "F"}, True),
    ("lvh_cornell", {"cornell_voltage": 2.4, "sex": "M"}, False),
    ("r_tall_v1", {"r_amp_v1": 0.7}, True), ("r_tall_v1", {"r_amp_v1": 0.69}, False),
    ("r_progression_poor", {"r_amp_v3": 0.3}, True),
    ("r_progression_poor", {"r_amp_v3": 0.31}, False),
    ("p_wide", {"p_duration": 120.0}, False), ("p_wide", {"p_duration": 121.0}, True),
    ("p_tall", {"p_amp_ii": 0.25}, True), ("p_tall", {"p_amp_ii": 0.24}, False),
    ("q_absent_lateral", {"q_depth_i": 0.0, "q_depth_v5": 0.04, "q_depth_v6": 0.0}, True),
    ("q_absent_lateral", {"q_depth_i": 0.0, "q_depth_v5": 0.05, "q_depth_v6": NAN}, False),
    ("q_absent_lateral", {"q_depth_i": 0.0, "q_depth_v5": 0.0, "q_depth_v6": NAN}, None),
]


@pytest.mark.parametrize("fid,row,expected", CASES)
def test_predicate_thresholds(fid, row, expected):
    assert evaluate(fid, row) is expected


def test_required_features_present_and_cited():
    for fid in REQUIRED:
        feat = get_feature(fid)
        assert feat.verifiable, fid
        assert feat.phrase and feat.criterion and feat.source
    for terr in TERRITORIES:
        for kind in ("st_elevation", "st_depression", "t_inversion", "t_flat", "q_pathologic"):
            assert f"{kind}_{terr}" in VOCABULARY
    unverifiable = [f for f in VOCABULARY.values() if not f.verifiable]
    assert "delta_wave" in {f.id for f in unverifiable}
    assert all(f.evaluate({"heart_rate": 50.0}) is None for f in unverifiable)


def test_predicates_only_read_contract_columns():
    """Every verifiable predicate gives a bool on a full row of contract columns."""
    row = {c: 0.0 for c in measurement_columns()}
    row.update(heart_rate=70.0, rr_mean=857.0, rr_std=20.0, p_wave_fraction=1.0, qrs_axis=30.0)
    for fid in FEATURE_IDS:
        feat = VOCABULARY[fid]
        if feat.verifiable and fid not in ("qtc_prolonged", "qtc_normal", "lvh_cornell", "pacing_spikes"):
            assert feat.evaluate(row) in (True, False), fid


def test_pacing_spikes_is_confirmed_never_refuted():
    """A filtered or < 250 Hz record hides stimuli, so finding none must not refute pacing."""
    feat = VOCABULARY["pacing_spikes"]
    assert feat.verifiable
    assert feat.evaluate({"paced_fraction": 0.9}) is True
    assert feat.evaluate({"paced_fraction": 0.3}) is True
    assert feat.evaluate({"paced_fraction": 0.1}) is None
    assert feat.evaluate({"paced_fraction": 0.0}) is None
    assert feat.evaluate({"paced_fraction": float("nan")}) is None
    assert feat.evaluate({"heart_rate": 60.0}) is None


def test_st_elevation_territory_two_contiguous_leads():
    one = {"st_ii": 0.15, "st_iii": 0.05, "st_avf": 0.02}
    two = {"st_ii": 0.15, "st_iii": 0.10, "st_avf": 0.02}
    assert evaluate("st_elevation_inferior", one) is False
    assert evaluate("st_elevation_inferior", two) is True
    assert evaluate("st_elevation_inferior", {"st_ii": 0.15, "st_iii": NAN, "st_avf": 0.0}) is None
    assert evaluate("st_elevation", two) is True
    # lateral: any two of I, aVL, V5, V6
    assert evaluate("st_elevation_lateral", {"st_i": 0.1, "st_avl": 0.0, "st_v5": 0.0,
                                             "st_v6": 0.12}) is True


def test_st_elevation_v2_v3_sex_and_age_thresholds():
    base = {"st_v3": 0.18, "st_v4": 0.12}           # V4 >= 0.1 always; V3 depends on sex/age
    assert evaluate("st_elevation_anterior", base) is None
    assert evaluate("st_elevation_anterior", {**base, "sex": "F"}) is True        # >= 0.15
    assert evaluate("st_elevation_anterior", {**base, "sex": "M", "age": 50}) is False  # < 0.2
    assert evaluate("st_elevation_anterior", {"st_v3": 0.22, "st_v4": 0.12, "sex": "M",
                                              "age": 45}) is True
    assert evaluate("st_elevation_anterior", {"st_v3": 0.22, "st_v4": 0.12, "sex": "M",
                                              "age": 30}) is False             # < 0.25
    assert evaluate("st_elevation_anterior", {"st_v3": 0.26, "st_v4": 0.12}) is True
    assert evaluate("st_elevation_anterior", {"st_v3": 0.14, "st_v4": 0.12}) is False


def test_st_depression_t_inversion_flat_and_q():
    assert evaluate("st_depression_lateral", {"st_i": -0.05, "st_avl": -0.06, "st_v5": 0.0,
                                              "st_v6": 0.0}) is True
    assert evaluate("st_depression_lateral", {"st_i": -0.04, "st_avl": -0.06, "st_v5": 0.0,
                                              "st_v6": 0.0}) is False
    assert evaluate("t_inversion_septal", {"t_amp_v1": -0.1, "t_amp_v2": -0.2}) is True
    assert evaluate("t_inversion_septal", {"t_amp_v1": -0.1, "t_amp_v2": -0.09}) is False
    assert evaluate("t_flat_anterior", {"t_amp_v3": 0.05, "t_amp_v4": -0.09}) is True
    assert evaluate("t_flat_anterior", {"t_amp_v3": 0.05, "t_amp_v4": 0.1}) is False
    # Q: >= 30 ms and >= 0.1 mV outside V1-V3; > 20 ms in V1-V3
    inferior = {"q_dur_ii": 30.0, "q_depth_ii": 0.1, "q_dur_iii": 40.0, "q_depth_iii": 0.3,
                "q_dur_avf": 0.0, "q_depth_avf": 0.0}
    assert evaluate("q_pathologic_inferior", inferior) is True
    assert evaluate("q_pathologic_inferior", {**inferior, "q_depth_ii": 0.09}) is False
    assert evaluate("q_pathologic_septal", {"q_dur_v1": 21.0, "q_dur_v2": 22.0}) is True
    assert evaluate("q_pathologic_septal", {"q_dur_v1": 21.0, "q_dur_v2": 20.0}) is False


def test_unknown_feature_and_odd_values():
    with pytest.raises(ValueError, match="unknown feature id"):
        evaluate("not_a_feature", {})
    assert evaluate("hr_low", {"heart_rate": "abc"}) is None
    assert evaluate("hr_low", {"heart_rate": None}) is None
    assert evaluate("hr_low", {"heart_rate": math.inf}) is None
    assert evaluate("hr_low", {"heart_rate": "55"}) is True
