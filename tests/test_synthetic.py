"""Invariants of the SYNTHETIC corpus: lead identities, determinism, exact fiducials, the
specified parameter ranges per abnormality (checked from the signals and fiducials, with the
ranges written out here from DESIGN.md section 7), amplitude criteria and report wording."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from scipy.signal import find_peaks

from fgclep.data import synthetic
from fgclep.leads import FIDUCIALS, LEADS_12

FS = 500
PER_CLASS = 5
LIMB, PREC = slice(0, 6), slice(6, 12)
L = {name: k for k, name in enumerate(LEADS_12)}
TERRITORY = {"inferior": ["II", "III", "aVF"], "anterior": ["V1", "V2", "V3", "V4"],
             "lateral": ["I", "aVL", "V5", "V6"]}


@pytest.fixture(scope="module", params=["single", "pairs"])
def forced(request):
    """Clean records: PER_CLASS of every single abnormality plus normal ones, or one record of
    every compatible pair of abnormalities."""
    if request.param == "single":
        plan = [[name] for name in synthetic.ABNORMALITIES for _ in range(PER_CLASS)]
        plan += [[] for _ in range(2 * PER_CLASS)]
    else:
        plan = [list(p) for p in itertools.combinations(synthetic.ABNORMALITIES, 2)
                if synthetic.compatible(p)]
        assert len(plan) > 50
    return synthetic.generate(len(plan), seed=11, abnormalities=plan, noise=False)


@pytest.fixture(scope="module")
def mixed():
    return synthetic.generate(300, seed=5, noise=False)


def _records(corpus, label):
    return [i for i, lab in enumerate(corpus.labels) if label in lab]


def _beats(corpus, i):
    g = corpus.params[i]["global_fiducials"]
    return {name: g[name] for name in FIDUCIALS}


def test_shapes_dtypes_ids():
    c = synthetic.generate(3, seed=0)
    assert c.signals.shape == (3, 12, 5000) and c.signals.dtype == np.float32
    assert c.sampling_rate == 500 and tuple(c.lead_names) == LEADS_12 and len(c) == 3
    assert c.record_ids == ["synthetic-0-000000", "synthetic-0-000001", "synthetic-0-000002"]
    assert len(c.labels) == len(c.reports) == len(c.params) == len(c.fiducials) == 3
    for fid in c.fiducials:
        assert set(fid) == set(FIDUCIALS)
        n_beats = fid["qrs_on"].shape[1]
        assert n_beats >= 5
        for arr in fid.values():
            assert arr.dtype == np.int64 and arr.shape == (12, n_beats)
    assert np.isfinite(c.signals).all()


def test_limb_lead_identities(mixed):
    for c in (mixed, synthetic.generate(8, seed=2)):
        x = c.signals.astype(np.float64)
        i, ii, iii, avr, avl, avf = (x[:, k] for k in range(6))
        np.testing.assert_allclose(iii, ii - i, atol=1e-6)
        np.testing.assert_allclose(avr, -(i + ii) / 2, atol=1e-6)
        np.testing.assert_allclose(avl, i - ii / 2, atol=1e-6)
        np.testing.assert_allclose(avf, ii - i / 2, atol=1e-6)
        np.testing.assert_allclose(avr + avl + avf, 0.0, atol=1e-6)


def test_deterministic_and_seed_dependent():
    a = synthetic.generate(4, seed=7)
    b = synthetic.generate(4, seed=7)
    np.testing.assert_array_equal(a.signals, b.signals)
    assert a.reports == b.reports and a.labels == b.labels
    for fa, fb in zip(a.fiducials, b.fiducials):
        for name in FIDUCIALS:
            np.testing.assert_array_equal(fa[name], fb[name])
    longer = synthetic.generate(6, seed=7)
    np.testing.assert_array_equal(longer.signals[:4], a.signals)
    other = synthetic.generate(4, seed=8)
    assert not np.allclose(other.signals, a.signals)


def test_noise_is_added_to_the_same_clean_record():
    noisy = synthetic.generate(4, seed=3)
    clean = synthetic.generate(4, seed=3, noise=False)
    assert noisy.labels == clean.labels
    residual = noisy.signals - clean.signals
    for k in range(4):
        hf = np.diff(residual[k, 0])                       # white part dominates differences
        assert 0.005 < hf.std() / np.sqrt(2) < 0.06
        assert 0.01 < np.abs(residual[k]).max() < 1.5      # wander + noise, never the beats
    for name in FIDUCIALS:
        np.testing.assert_array_equal(noisy.fiducials[1][name], clean.fiducials[1][name])


def test_fiducial_order_on_every_beat(mixed):
    n = mixed.signals.shape[-1]
    for fid in mixed.fiducials:
        arr = np.stack([fid[name] for name in FIDUCIALS])          # (8, 12, n_beats)
        present = arr >= 0
        assert (arr[present] < n).all()
        for lead in range(12):
            for beat in range(arr.shape[2]):
                vals = arr[:, lead, beat]
                vals = vals[vals >= 0]
                assert (np.diff(vals) > 0).all(), (lead, beat, arr[:, lead, beat])
        # Waves are present or absent as a whole, and beats are in time order.
        for trio in (("p_on", "p_peak", "p_off"), ("qrs_on", "r_peak", "qrs_off")):
            flags = np.stack([fid[name] >= 0 for name in trio])
            assert (flags == flags[0]).all()
        q = fid["qrs_on"].max(axis=0)
        assert (np.diff(q) > 0).all()
        # A beat ends before the next one starts.
        start = np.where(fid["p_on"].max(axis=0) >= 0, fid["p_on"].max(axis=0), q)
        assert (fid["t_off"].max(axis=0)[:-1] < start[1:]).all()


def test_p_waves_absent_exactly_in_af(mixed):
    for i, lab in enumerate(mixed.labels):
        p_on = mixed.fiducials[i]["p_on"]
        if "atrial_fibrillation" in lab:
            assert (p_on == -1).all()
            assert (mixed.params[i]["global_fiducials"]["p_on"] == -1).all()
        else:
            assert (p_on[L["II"]] >= 0).all()


def test_global_fiducials_match_intervals(mixed):
    for i, par in enumerate(mixed.params):
        g = _beats(mixed, i)
        ms = 1000.0 / FS
        np.testing.assert_allclose((g["qrs_off"] - g["qrs_on"]) * ms, par["qrs_duration"])
        np.testing.assert_allclose((g["t_off"] - g["qrs_on"]) * ms, par["qt_interval"])
        if par["rhythm"] == "sinus":
            np.testing.assert_allclose((g["qrs_on"] - g["p_on"]) * ms, par["pr_interval"])
        np.testing.assert_allclose(np.diff(g["r_peak"]) * ms, par["rr"])
        # Per-lead QRS lies within the global one.
        fid = mixed.fiducials[i]
        on, off = fid["qrs_on"], fid["qrs_off"]
        ok = on >= 0
        assert (on[ok] >= np.broadcast_to(g["qrs_on"], on.shape)[ok]).all()
        assert (off[ok] <= np.broadcast_to(g["qrs_off"], off.shape)[ok]).all()


def _intervals(corpus, i):
    """HR, PR, QRS, QTc (Bazett) and RR CV computed here from the global fiducials."""
    g = _beats(corpus, i)
    ms = 1000.0 / FS
    rr = np.diff(g["r_peak"]) * ms
    hr = 60000.0 / rr.mean()
    pr = float(np.median(g["qrs_on"] - g["p_on"]) * ms) if (g["p_on"] >= 0).all() else None
    qrs = float(np.median(g["qrs_off"] - g["qrs_on"]) * ms)
    qt = float(np.median(g["t_off"] - g["qrs_on"]) * ms)
    return hr, pr, qrs, qt / np.sqrt(rr.mean() / 1000.0), rr.std() / rr.mean()


def _qrs_axis(corpus, i):
    g = _beats(corpus, i)
    x = corpus.signals[i].astype(np.float64)
    a, b = g["qrs_on"][0], g["qrs_off"][0] + 1
    return np.degrees(np.arctan2(x[L["aVF"], a:b].sum(), x[L["I"], a:b].sum()))


def _in(value, lo, hi):
    return lo <= value <= hi


def test_parameter_ranges_per_abnormality(forced):
    for i, lab in enumerate(forced.labels):
        hr, pr, qrs, qtc, cv = _intervals(forced, i)
        axis = _qrs_axis(forced, i)
        hr_rng = ((40, 55) if "sinus_bradycardia" in lab else
                  (105, 150) if "sinus_tachycardia" in lab else (60, 100))
        assert _in(hr, *hr_rng), (lab, hr)
        if "atrial_fibrillation" in lab:
            assert pr is None and cv > 0.08, (lab, cv)
        else:
            assert _in(pr, *((220, 320) if "av_block_1" in lab else (120, 200))), (lab, pr)
            assert cv < 0.05
        assert _in(qrs, *((125, 160) if "bundle_branch_block" in lab else (80, 110))), (lab, qrs)
        assert _in(qtc, *((480, 560) if "long_qt" in lab else (380, 440))), (lab, qtc)
        ax_rng = ((-75, -45) if "left_axis_deviation" in lab else
                  (100, 150) if "right_axis_deviation" in lab else (-30, 90))
        assert _in(axis, *ax_rng), (lab, axis)
        if "atrial_fibrillation" not in lab:          # f-waves run through the QRS
            assert abs(axis - forced.params[i]["qrs_axis"]) < 0.5, lab


def test_heart_rate_from_detected_r_peaks(forced):
    for i, par in enumerate(forced.params):
        x = forced.signals[i].astype(np.float64)
        slope = np.diff(x[[0, 1, 6, 7, 8, 9, 10, 11]], axis=1)     # QRS is the steep wave
        energy = np.convolve(np.sqrt((slope ** 2).sum(axis=0)), np.ones(25), mode="same")
        peaks, _ = find_peaks(energy, height=0.5 * energy.max(), distance=int(0.3 * FS))
        g = forced.params[i]["global_fiducials"]
        # The beats the record lists: those between its first and last QRS.
        peaks = peaks[(peaks > g["qrs_on"][0]) & (peaks < g["qrs_off"][-1])]
        assert peaks.size == g["r_peak"].size
        hr = 60000.0 / (np.diff(peaks).mean() * 1000.0 / FS)
        assert abs(hr - par["heart_rate"]) / par["heart_rate"] < 0.01, (forced.labels[i], hr)


def _qrs_amplitudes(corpus, i):
    """Per-lead max and min of every listed beat's QRS window, (12, n_beats) each."""
    g = _beats(corpus, i)
    x = corpus.signals[i]
    hi = np.stack([x[:, a:b + 1].max(axis=1) for a, b in zip(g["qrs_on"], g["qrs_off"])], 1)
    lo = np.stack([x[:, a:b + 1].min(axis=1) for a, b in zip(g["qrs_on"], g["qrs_off"])], 1)
    return hi, lo


def test_low_voltage_and_lvh_criteria_on_clean_signal(forced):
    for i, lab in enumerate(forced.labels):
        hi, lo = _qrs_amplitudes(forced, i)
        pp = hi - lo
        sokolow = -lo[L["V1"]] + np.maximum(hi[L["V5"]], hi[L["V6"]])
        if "low_voltage" in lab:
            assert (pp[LIMB] < 0.5).all() and (pp[PREC] < 1.0).all()
        else:
            assert pp[LIMB].max() >= 0.5 and pp[PREC].max() >= 1.0
        if "lvh" in lab:
            assert (sokolow > 3.5).all() and (sokolow <= 5.05).all(), sokolow
        else:
            assert (sokolow <= 3.5).all(), (lab, sokolow)


def test_st_and_t_changes_in_territory(forced):
    for i, lab in enumerate(forced.labels):
        par = forced.params[i]
        g = _beats(forced, i)
        x = forced.signals[i].astype(np.float64)
        st = x[:, g["qrs_off"][0] + int(0.04 * FS)]       # ST plateau, J + 40 ms
        t_peak = x[:, g["t_peak"][0]]
        if "st_elevation" in lab:
            idx = [L[n] for n in TERRITORY[par["st_territory"]]]
            assert 0.14 <= st[idx].max() <= 0.41, st
            assert (st[idx] >= 0.1).sum() >= 2
            assert st.min() < -0.25 * st[idx].max()        # reciprocal depression
        elif "st_depression" in lab:
            assert par["st_territory"] in ("lateral", "inferior")
            idx = [L[n] for n in TERRITORY[par["st_territory"]]]
            assert -0.31 <= st[idx].min() <= -0.09, st
        elif "bundle_branch_block" not in lab:
            tol = 0.15 if "atrial_fibrillation" in lab else 0.03   # f-waves
            assert np.abs(st).max() < tol, (lab, st)
        if "t_inversion" in lab:
            idx = [L[n] for n in TERRITORY[par["t_inversion_territory"]]]
            assert (t_peak[idx] <= -0.09).all(), t_peak
        elif not {"bundle_branch_block", "low_voltage"} & set(lab):
            assert t_peak[L["II"]] > 0.0 and t_peak[L["V5"]] > 0.0


def test_random_mix(mixed):
    labels = mixed.labels
    normal = sum(lab == ["normal"] for lab in labels) / len(labels)
    assert 0.2 <= normal <= 0.4
    seen = set()
    for lab in labels:
        assert 1 <= len(lab) <= 2
        assert "normal" not in lab or lab == ["normal"]
        assert synthetic.compatible(lab)
        seen.update(lab)
    assert seen == set(synthetic.ABNORMALITIES) | {"normal"}


BANNED = ("ms", "mv", "interval", "prolonged", "duration", "amplitude", "wave", "segment",
          "bpm", "elevation", "depression", "inversion", "voltage criteria", "notch", "broad",
          "wide", "qrs", "st-t", "pr ", "axis of")


def test_reports_name_diagnoses_only(mixed, forced):
    keywords = {
        "sinus_bradycardia": "bradycardia", "sinus_tachycardia": "tachycardia",
        "av_block_1": ("av block", "atrioventricular block"),
        "bundle_branch_block": ("bundle branch block", "lbbb"),
        "left_axis_deviation": ("left axis", "leftward axis"),
        "right_axis_deviation": ("right axis", "rightward axis"),
        "long_qt": "long qt", "st_elevation": ("infarct", "injury"),
        "st_depression": "subendocardial", "t_inversion": "ischemia",
        "atrial_fibrillation": "atrial fibrillation", "low_voltage": "low voltage",
        "lvh": ("left ventricular hypertrophy", "lvh"),
    }
    for corpus in (mixed, forced):
        for report, lab in zip(corpus.reports, corpus.labels):
            low = report.lower()
            assert not re.search(r"\d", report), report
            for word in BANNED:
                assert not re.search(rf"\b{re.escape(word)}", low), (word, report)
            assert report.endswith(".")
            if lab == ["normal"]:
                assert "abnormal" not in low and "sinus rhythm" in low
            else:
                assert low.endswith("abnormal ecg.")
                for name in lab:
                    keys = keywords[name]
                    keys = (keys,) if isinstance(keys, str) else keys
                    assert any(k in low for k in keys), (name, report)
    assert len(set(mixed.reports)) > 30


def test_per_record_and_forced_lists():
    c = synthetic.generate(3, seed=1, abnormalities=[["lvh"], [], ["normal"]], noise=False)
    assert c.labels == [["lvh"], ["normal"], ["normal"]]
    c = synthetic.generate(2, seed=1, abnormalities=["long_qt", "atrial_fibrillation"])
    assert c.labels == [["long_qt", "atrial_fibrillation"]] * 2
    c = synthetic.generate(2, seed=1, abnormalities=[])
    assert c.labels == [["normal"], ["normal"]]
    assert synthetic.generate(0).signals.shape == (0, 12, 5000)


def test_other_rate_and_duration():
    c = synthetic.generate(3, seed=4, sampling_rate=250, duration=6.0, noise=False)
    assert c.signals.shape == (3, 12, 1500) and c.sampling_rate == 250
    for fid in c.fiducials:
        q = fid["qrs_on"].max(axis=0)
        assert (q >= 0).all() and (fid["t_off"].max(axis=0) < 1500).all()
        assert (fid["r_peak"][fid["r_peak"] >= 0] > fid["qrs_on"][fid["r_peak"] >= 0]).all()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"abnormalities": ["afib"]}, ValueError, "unknown abnormality 'afib'"),
    ({"abnormalities": ["sinus_bradycardia", "sinus_tachycardia"]}, ValueError, "cannot be"),
    ({"abnormalities": [["lvh"]]}, ValueError, "n_records is 2"),
    ({"abnormalities": "lvh"}, TypeError, "list of abnormality names"),
    ({"seed": -1}, ValueError, "seed"),
    ({"sampling_rate": 50}, ValueError, "sampling_rate"),
    ({"duration": 1.0}, ValueError, "duration"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        synthetic.generate(2, **kwargs)
    with pytest.raises(ValueError, match="n_records"):
        synthetic.generate(-1)


def test_fiducials_are_exact_wave_boundaries(forced):
    """Noiseless sinus records are exactly flat outside the waves the fiducials delimit."""
    for i, par in enumerate(forced.params):
        if par["rhythm"] != "sinus":
            continue
        g = _beats(forced, i)
        x = forced.signals[i]
        for k in range(g["qrs_on"].size):
            assert (x[:, g["p_off"][k]:g["qrs_on"][k] + 1] == 0).all()     # PR segment
            assert np.abs(x[:, g["qrs_on"][k] + 2]).max() > 0               # QRS starts
            assert np.abs(x[:, g["p_on"][k] + 2]).max() > 0                 # P starts
            if k + 1 < g["qrs_on"].size:
                assert (x[:, g["t_off"][k]:g["p_on"][k + 1] + 1] == 0).all()  # TP segment
            fid = forced.fiducials[i]
            for lead in range(12):
                r = fid["r_peak"][lead, k]
                if r >= 0:
                    a, b = fid["qrs_on"][lead, k], fid["qrs_off"][lead, k]
                    assert np.abs(x[lead, r]) == np.abs(x[lead, a:b + 1]).max() or \
                        par["st_shift"][lead] != 0
