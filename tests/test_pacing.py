"""Pacing-stimulus detection (C++ and its NumPy twin) and the paced-QRS onset rule."""
from __future__ import annotations

import numpy as np
import pytest

from fgclep.data import synthetic
from fgclep.signal import ecg_delineate, ecg_measure, ecg_pacing_spikes

FS = 500
PACED_LUDB = ("45", "95", "111")  # ludb.csv: "Unipolar/Bipolar ventricular pacing", clear stimuli


def _paced(abnormality=None, seed=3, fs=FS, lead_gain=None):
    """A synthetic record with a 2-sample stimulus 20 ms before every true QRS onset."""
    corpus = synthetic.generate(1, seed=seed, abnormalities=[[abnormality]] if abnormality else [[]],
                                sampling_rate=fs)
    x = corpus.signals[0].astype(np.float64).copy()
    onsets = corpus.params[0]["global_fiducials"]["qrs_on"]
    onsets = onsets[onsets >= int(0.25 * fs)]
    stim = onsets - int(round(0.020 * fs))
    gain = np.linspace(-1.5, 2.0, x.shape[0]) if lead_gain is None else lead_gain
    for s in stim:  # a unipolar stimulus seen with a different size and sign in every lead
        x[:, s: s + 2] += gain[:, None]
    return x, stim, onsets


@pytest.mark.parametrize("abnormality", [None, *synthetic.ABNORMALITIES])
def test_unpaced_synthetic_records_have_no_stimuli(abnormality):
    corpus = synthetic.generate(2, seed=5, abnormalities=[[abnormality] if abnormality else []] * 2)
    for x in corpus.signals:
        for backend in ("cpp", "numpy"):
            _, spikes = ecg_pacing_spikes(x, FS, backend=backend)
            assert (spikes == -1).all(), (abnormality, backend, spikes)


@pytest.mark.parametrize("abnormality", [None, "bundle_branch_block", "st_elevation", "sinus_tachycardia"])
def test_every_stimulus_is_found_where_it_was_put(abnormality):
    x, stim, _ = _paced(abnormality)
    r, spikes = ecg_pacing_spikes(x, FS)
    found = spikes[spikes >= 0]
    assert found.size == stim.size, (found, stim)
    assert np.array_equal(np.sort(found), np.sort(stim))
    assert (found < r[spikes >= 0]).all()


def test_numpy_twin_agrees():
    for abnormality in (None, "bundle_branch_block", "atrial_fibrillation"):
        for x in (_paced(abnormality)[0], synthetic.generate(1, seed=9, abnormalities=[[abnormality] if abnormality else []]).signals[0]):
            r_c, s_c = ecg_pacing_spikes(x, FS, backend="cpp")
            r_n, s_n = ecg_pacing_spikes(x, FS, backend="numpy")
            assert np.array_equal(r_c, r_n) and np.array_equal(s_c, s_n)


def test_paced_qrs_onset_starts_after_the_stimulus():
    """Without the rule the 40 Hz-smeared stimulus passes for the QRS's first limb."""
    x, stim, onsets = _paced()
    d = ecg_delineate(x, FS)
    glob_on = d.global_fiducials["qrs_on"]
    for s, true_on in zip(stim, onsets):
        b = int(np.argmin(np.abs(glob_on - true_on)))
        assert glob_on[b] >= s + int(0.010 * FS) - 1
        assert abs(glob_on[b] - true_on) <= 8  # the synthetic QRS-onset tolerance of test_delineate
    lead_on = d["qrs_on"]
    ok = lead_on >= 0
    assert ok.any()
    for s in stim:  # no lead's onset sits on the stimulus either
        assert not ((lead_on[ok] >= s - 5) & (lead_on[ok] < s + int(0.010 * FS) - 1)).any()


def test_low_rate_nan_and_degenerate_input():
    x, _, _ = _paced()
    _, spikes = ecg_pacing_spikes(x[:, ::5], 100)  # 100 Hz: a stimulus is not told from a limb
    assert (spikes == -1).all()
    y = x.copy()
    y[3, 1000:1400] = np.nan
    r, spikes = ecg_pacing_spikes(y, FS)
    assert spikes.shape == r.shape
    for backend in ("cpp", "numpy"):
        r, spikes = ecg_pacing_spikes(np.zeros((12, 5000)), FS, backend=backend)
        assert r.size == 0 and spikes.size == 0
    with pytest.raises(ValueError, match="backend"):
        ecg_pacing_spikes(x, FS, backend="scipy")


def test_paced_fraction_measurement():
    x, stim, _ = _paced()
    r, spikes = ecg_pacing_spikes(x, FS)
    for backend in ("cpp", "numpy"):
        m = ecg_measure(x, FS, backend=backend)
        assert m["paced_fraction"] == pytest.approx(stim.size / r.size), backend
        assert ecg_measure(x[:, ::5], 100, backend=backend)["paced_fraction"] != ecg_measure(x[:, ::5], 100, backend=backend)["paced_fraction"]  # NaN below 250 Hz
    clean = synthetic.generate(1, seed=4).signals[0]
    assert ecg_measure(clean, FS)["paced_fraction"] == 0.0


@pytest.mark.realdata
def test_ludb_paced_records_and_no_false_stimuli(shared_data):
    """Stimuli in the paced dev records; none at all in the unpaced ones (all of them checked)."""
    wfdb = pytest.importorskip("wfdb")
    records = sorted((shared_data / "ludb" / "data").glob("*.hea"), key=lambda p: int(p.stem))
    assert records
    for hea in records:
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        x = rec.p_signal.T
        r, spikes = ecg_pacing_spikes(x, rec.fs)
        if hea.stem in PACED_LUDB:
            assert (spikes >= 0).mean() >= 0.5, (hea.stem, spikes)
            assert ecg_measure(x, rec.fs)["paced_fraction"] == (spikes >= 0).mean()
            r_n, s_n = ecg_pacing_spikes(x, rec.fs, backend="numpy")
            assert np.array_equal(s_n, spikes)
        elif hea.stem not in ("93",):  # 93: biventricular pacing, double stimuli, may or may not be found
            assert (spikes == -1).all(), (hea.stem, spikes)


@pytest.mark.realdata
def test_mitbih_100_has_no_stimuli(shared_data):
    wfdb = pytest.importorskip("wfdb")
    path = shared_data / "wfdb-samples" / "100"
    if not path.with_suffix(".hea").exists():
        pytest.skip("MIT-BIH 100 absent")
    rec = wfdb.rdrecord(str(path))
    _, spikes = ecg_pacing_spikes(rec.p_signal.T, rec.fs)
    assert (spikes == -1).all()
