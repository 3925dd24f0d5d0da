"""Delineation: synthetic ground truth for every abnormality, LUDB accuracy floors, structure,
degenerate input, NeuroKit2 twin."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fgclep.data import synthetic
from fgclep.leads import FIDUCIALS, LEADS_12
from fgclep.signal.delineate import Delineation, ecg_delineate

FS = 500

# Largest allowed median |error| (samples at 500 Hz) against the generator's exact fiducials.
# Peaks and QRS/T limits: a few samples. P on/off: 8 samples, because our limits are where the
# P deviation falls to 20 % of its amplitude, whereas the truth is the mathematical start of a
# raised-cosine lobe (zero slope there), 5-6 samples earlier/later by construction.
# QRS on: 8 samples, as the truth starts at the first lobe projecting >= 0.05 mV (a small q wave
# whose raised-cosine start has zero slope), which the slope knee finds ~7 samples later.
TOLERANCE = {"p_on": 8, "p_peak": 3, "p_off": 8, "qrs_on": 8, "r_peak": 3, "qrs_off": 4,
             "t_peak": 4, "t_off": 5}
# Known limitation: with a sloping ST segment starting at J (bundle branch block, ST shifts) the
# knee of the QRS's terminal limb lies up to ~16 samples (32 ms) after the last QRS lobe's end.
QRS_OFF_SLOPED_ST = {"bundle_branch_block": 20, "st_elevation": 20, "st_depression": 20, "low_voltage": 10}


def _errors(corpus, i: int, d: Delineation):
    """Per fiducial: errors (samples) where both exist, and the share of true waves found."""
    truth = corpus.fiducials[i]
    true_r = corpus.params[i]["global_fiducials"]["r_peak"]
    errs = {k: [] for k in FIDUCIALS}
    found = {k: [0, 0] for k in FIDUCIALS}
    for b, r in enumerate(d.r_peaks):
        j = int(np.argmin(np.abs(true_r - r)))
        if abs(true_r[j] - r) > 0.1 * FS:
            continue
        for k in FIDUCIALS:
            g, v = truth[k][:, j], d[k][:, b]
            ok = (g >= 0) & (v >= 0)
            errs[k].extend(v[ok] - g[ok])
            found[k][0] += int(ok.sum())
            found[k][1] += int((g >= 0).sum())
    return errs, found


@pytest.mark.parametrize("abnormality", [None, *synthetic.ABNORMALITIES])
def test_synthetic_ground_truth(abnormality):
    corpus = synthetic.generate(3, seed=21, abnormalities=[abnormality] if abnormality else [])
    errs = {k: [] for k in FIDUCIALS}
    found = {k: [0, 0] for k in FIDUCIALS}
    for i in range(3):
        e, f = _errors(corpus, i, ecg_delineate(corpus.signals[i], FS))
        for k in FIDUCIALS:
            errs[k].extend(e[k])
            found[k] = [found[k][0] + f[k][0], found[k][1] + f[k][1]]
    for k in ("qrs_on", "r_peak", "qrs_off", "t_peak", "t_off"):
        assert found[k][0] >= 0.97 * found[k][1], (k, found[k])
        tol = QRS_OFF_SLOPED_ST.get(abnormality, TOLERANCE[k]) if k == "qrs_off" else TOLERANCE[k]
        assert np.median(np.abs(errs[k])) <= tol, (k, np.median(np.abs(errs[k])))
    if abnormality == "atrial_fibrillation":
        assert found["p_peak"][1] == 0 and found["p_on"][0] == 0
    else:
        assert found["p_peak"][0] >= 0.6 * found["p_peak"][1], found["p_peak"]
        for k in ("p_on", "p_peak", "p_off"):
            assert np.median(np.abs(errs[k])) <= TOLERANCE[k], (k, np.median(np.abs(errs[k])))


def test_atrial_fibrillation_reports_no_p_waves():
    corpus = synthetic.generate(4, seed=3, abnormalities=["atrial_fibrillation"])
    for i in range(4):
        d = ecg_delineate(corpus.signals[i], FS)
        for k in ("p_on", "p_peak", "p_off"):
            assert (d[k] == -1).all() and (d.global_fiducials[k] == -1).all()


def test_structure_and_order():
    x = synthetic.generate(1, seed=9).signals[0]
    d = ecg_delineate(x, FS)
    assert d.lead_names == LEADS_12 and d.n_leads == 12
    for k in FIDUCIALS:
        assert d[k].dtype == np.int64 and d[k].shape == (12, d.n_beats)
        assert d.global_fiducials[k].shape == (d.n_beats,)
        assert ((d[k] == -1) | ((d[k] >= 0) & (d[k] < x.shape[1]))).all()
    arr = d.to_array()
    assert arr.shape == (8, 12, d.n_beats)
    # Temporal order within each lead and beat, wherever both points exist.
    for a, b in zip(FIDUCIALS[:-1], FIDUCIALS[1:]):
        both = (d[a] >= 0) & (d[b] >= 0)
        assert (d[a][both] <= d[b][both]).all(), (a, b)
    g = d.global_fiducials
    ok = (g["qrs_on"] >= 0) & (g["qrs_off"] >= 0)
    assert (g["qrs_on"][ok] <= g["r_peak"][ok]).all() and (g["r_peak"][ok] <= g["qrs_off"][ok]).all()
    rows = d.to_rows("rec")
    assert len(rows) == 13 * d.n_beats and rows[-1]["lead"] == "global" and rows[0]["lead"] == "i"


def test_global_onset_needs_two_leads():
    x = synthetic.generate(1, seed=9).signals[0]
    d = ecg_delineate(x, FS)
    on = d["qrs_on"]
    for b in range(d.n_beats):
        v = np.sort(on[:, b][on[:, b] >= 0])
        g = d.global_fiducials["qrs_on"][b]
        close = np.flatnonzero(np.diff(v) <= 5)  # 10 ms at 500 Hz
        assert g == (v[close[0]] if close.size else v[(v.size - 1) // 2])


def test_lead_qrs_limit_stays_near_the_other_leads():
    """A narrow spike 24 ms before every QRS in lead I alone (pacing-spike-like) would pull that
    lead's onset ~25 samples early; the 20 ms cross-lead hold keeps it within 10 samples of the
    leads' median, and since no lead can see the ventricles activate before the global onset,
    lead I's onset is then moved to it (the hold alone leaves it up to 9 samples before it)."""
    corpus = synthetic.generate(1, seed=9)
    x = corpus.signals[0].copy()
    on = corpus.params[0]["global_fiducials"]["qrs_on"]
    t = np.arange(x.shape[1])
    for o in on[on >= 0]:
        x[0] += 1.5 * np.exp(-0.5 * ((t - (o - 12)) / 1.0) ** 2)
    d = ecg_delineate(x, FS)
    q, g = d["qrs_on"], d.global_fiducials["qrs_on"]
    ok = (q >= 0).all(axis=0)
    # Median of the other 11 leads; the hold uses all 12, which can sit one sample earlier.
    dev = q[0, ok] - np.median(q[1:, ok], axis=0)
    assert ok.sum() >= 10 and (dev >= -11).all(), dev
    ok = (q[0] >= 0) & (g >= 0)
    assert ok.sum() >= 10 and (q[0, ok] >= g[ok]).all(), q[0, ok] - g[ok]
    # The global onset itself comes from the other leads, close to the generator's.
    beats = [int(np.argmin(np.abs(d.r_peaks - r))) for r in corpus.params[0]["global_fiducials"]["r_peak"]]
    assert (np.abs(g[beats] - on) <= 8).all(), g[beats] - on


def test_lead_t_wave_stays_near_the_other_leads():
    """A large U-wave-like bump 80 ms after every T end in lead I alone takes that lead's T peak
    ~80 samples and T end ~70 samples late; both are held within 40 ms (20 samples) of the leads'
    median."""
    corpus = synthetic.generate(1, seed=9)
    x = corpus.signals[0].copy()
    t_off = corpus.params[0]["global_fiducials"]["t_off"]
    t = np.arange(x.shape[1])
    for o in t_off[t_off >= 0]:
        x[0] += 1.0 * np.exp(-0.5 * ((t - (o + 40)) / 10.0) ** 2)
    d = ecg_delineate(x, FS)
    for k in ("t_peak", "t_off"):
        q = d[k]
        ok = (q >= 0).all(axis=0)
        dev = q[0, ok] - np.median(q[1:, ok], axis=0)
        assert ok.sum() >= 10 and (np.abs(dev) <= 21).all(), (k, dev)



def test_lead_limits_lie_inside_the_global_wave():
    """One activation: no lead's QRS, T or P starts before (or ends after) the global wave, on a
    record with every abnormality."""
    for seed in (3, 9, 11):
        x = synthetic.generate(1, seed=seed).signals[0]
        d = ecg_delineate(x, FS)
        g = d.global_fiducials
        for on, off in (("qrs_on", "qrs_off"), ("p_on", "p_off"), (None, "t_off")):
            for k, later in ((on, True), (off, False)):
                if k is None:
                    continue
                v, gv = d[k], g[k][None, :]
                ok = (v >= 0) & (gv >= 0)
                inside = v[ok] >= np.broadcast_to(gv, v.shape)[ok] if later else v[ok] <= np.broadcast_to(gv, v.shape)[ok]
                assert ok.any() and inside.all(), (seed, k)


def test_late_lead_t_end_moves_to_the_global_t_end():
    """A slow tail in lead I alone (a bump of half its T height, sd 30 ms, centred on its T end)
    takes that lead's T end ~19 samples late, just inside the 40 ms hold around the leads'
    median; repolarisation ends once, so lead I's T end is moved to the global T end (the latest
    on which 3 leads agree)."""
    corpus = synthetic.generate(1, seed=9)
    x0 = corpus.signals[0]
    x = x0.copy()
    truth = corpus.fiducials[0]
    t = np.arange(x.shape[1])
    for pk, end in zip(truth["t_peak"][0], truth["t_off"][0]):
        if pk >= 0 and end >= 0:
            x[0] += 0.5 * (x0[0, pk] - x0[0, end]) * np.exp(-0.5 * ((t - end) / 15.0) ** 2)
    d = ecg_delineate(x, FS)
    te, g = d["t_off"], d.global_fiducials["t_off"]
    beats = [int(np.argmin(np.abs(d.r_peaks - r))) for r in corpus.params[0]["global_fiducials"]["r_peak"]]
    ok = (te[0, beats] >= 0) & (g[beats] >= 0) & (truth["t_off"][0] >= 0)
    assert ok.sum() >= 10 and (te[0, beats][ok] <= g[beats][ok]).all(), te[0, beats] - g[beats]
    late = te[0, beats][ok] - truth["t_off"][0][ok]
    assert np.median(late) <= 10, late



@pytest.mark.parametrize("cut_after", [10, 20, 30])
def test_t_wave_cut_off_by_the_record_end_has_no_t_end(cut_after):
    """A record that ends 20-60 ms after a T peak (the T wave ends 76 ms after it) holds no T end
    for that beat: the leads with that T wave report it absent instead of placing it on the
    record's last samples; the complete beats before it keep theirs."""
    corpus = synthetic.generate(1, seed=9)
    truth = corpus.params[0]["global_fiducials"]
    b = len(truth["t_peak"]) - 2
    x = corpus.signals[0][:, : truth["t_peak"][b] + cut_after]
    d = ecg_delineate(x, FS)
    j = int(np.argmin(np.abs(d.r_peaks - truth["r_peak"][b])))
    assert abs(d.r_peaks[j] - truth["r_peak"][b]) <= 3
    has_t = corpus.fiducials[0]["t_off"][:, b] >= 0
    t_off = d["t_off"][:, j]
    assert (t_off < x.shape[1] - 8).all(), t_off  # nothing on the last 16 ms
    assert (t_off[has_t] == -1).sum() >= has_t.sum() - 1, t_off
    assert (d["t_peak"][has_t, j] >= 0).all()  # the peak is there and still reported
    assert (d.global_fiducials["t_off"][1:j] >= 0).all()


def test_t_peak_keeps_its_delay_from_beat_to_beat():
    """A bump twice the T wave 100 ms after the T peak of one beat in every lead (an f wave) takes
    that beat's T peak 50 samples late in all leads at once, where the cross-lead pass cannot see
    it; the other beats fix each lead's delay after R, and the beat's T peak is sought again
    next to it."""
    corpus = synthetic.generate(1, seed=9)
    x = corpus.signals[0].copy()
    n_beats = ecg_delineate(x, FS).n_beats
    truth = corpus.params[0]["global_fiducials"]
    t = np.arange(x.shape[1])
    b = 4
    x += 2.0 * x[:, [truth["t_peak"][b]]] * np.exp(-0.5 * ((t - (truth["t_peak"][b] + 50)) / 15.0) ** 2)
    d = ecg_delineate(x, FS)
    assert d.n_beats == n_beats  # the bump is not taken for a beat
    j = int(np.argmin(np.abs(d.r_peaks - truth["r_peak"][b])))
    peak = d["t_peak"][:, j]
    true_peak = corpus.fiducials[0]["t_peak"][:, b]
    ok = (peak >= 0) & (true_peak >= 0)
    assert ok.sum() >= 10 and (np.abs(peak[ok] - true_peak[ok]) <= 6).all(), peak[ok] - true_peak[ok]


def test_slurred_onset_belongs_to_the_qrs():
    """A delta wave (pre-excitation; also the slow first limb of an aberrant beat): a 50 ms ramp
    before the QRS, in each lead toward the QRS's first deflection, to 30 % of the lead's largest
    QRS deflection. The trapezium knee alone sits at the start of the steep limb, 25 samples late;
    the onset must be where the ramp leaves the baseline."""
    corpus = synthetic.generate(1, seed=5, abnormalities=[], noise=False)
    clean = corpus.signals[0].astype(np.float64)
    truth = corpus.params[0]["global_fiducials"]
    ramp = 25
    t = np.arange(clean.shape[1])
    x = clean.copy()
    height = {}
    for b, (on, r, off) in enumerate(zip(truth["qrs_on"], truth["r_peak"], truth["qrs_off"])):
        qrs = clean[:, on:off + 1] - clean[:, [on]]
        first = np.sign(clean[:, on + 10] - clean[:, on])
        height[b] = 0.3 * first * np.abs(qrs).max(axis=1)
        shape = np.interp(t, [on - ramp, on, r, off], [0.0, 1.0, 1.0, 0.0], left=0.0, right=0.0)
        x += height[b][:, None] * shape
    d = ecg_delineate(x, FS)
    beats = [int(np.argmin(np.abs(d.r_peaks - r))) for r in truth["r_peak"]]
    err = d.global_fiducials["qrs_on"][beats] - (truth["qrs_on"] - ramp)
    assert (np.abs(err) <= 4).all(), err
    for b, j in enumerate(beats):  # per lead, where the ramp rises >= 0.1 mV
        big = np.abs(height[b]) >= 0.1
        lead_err = d["qrs_on"][big, j] - (truth["qrs_on"][b] - ramp)
        assert big.sum() >= 6 and (np.abs(lead_err) <= 6).all(), (b, lead_err)


@pytest.mark.parametrize("fs", [100, 1000])
def test_other_sampling_rates(fs):
    # A record without abnormalities: in low-voltage records whose P waves are as large as the
    # QRS, the onset of small limb leads can run into the P wave (a documented limitation).
    corpus = synthetic.generate(1, seed=5, abnormalities=[])
    x = resample_poly(corpus.signals[0].astype(np.float64), fs, FS, axis=-1)
    d = ecg_delineate(x, fs)
    truth = corpus.params[0]["global_fiducials"]
    # Global QRS onset within 20 ms of the truth for every listed beat (40 ms at 100 Hz, where a
    # QRS spans only ~10 samples and its slope is coarsely sampled).
    tol = 0.04 * fs if fs < 200 else 0.02 * fs
    for on in truth["qrs_on"] * fs / FS:
        assert np.min(np.abs(d.global_fiducials["qrs_on"] - on)) <= tol


def test_degenerate_inputs(rng):
    n = 10 * FS
    flat = ecg_delineate(np.zeros((12, n)), FS)
    assert flat.n_beats == 0 and flat["qrs_on"].shape == (12, 0)
    noise = ecg_delineate(rng.normal(0, 0.05, (12, n)), FS)
    for k in FIDUCIALS:
        assert noise[k].shape == (12, noise.n_beats) and noise[k].min(initial=-1) >= -1
    x = synthetic.generate(1, seed=2).signals[0].astype(np.float64)
    nan_run = x.copy()
    nan_run[3:7, 2000:2600] = np.nan
    d = ecg_delineate(nan_run, FS)
    assert d.n_beats >= 8 and all((d[k] >= -1).all() for k in FIDUCIALS)
    clipped = ecg_delineate(np.clip(x, -0.2, 0.2), FS)
    assert clipped.n_beats >= 8
    one_beat = ecg_delineate(x[:, 400:1400], FS)  # ~ one beat
    assert one_beat.n_beats <= 2
    short = ecg_delineate(x[:, :20], FS)
    assert short.n_beats == 0
    one_lead = ecg_delineate(x[1], FS)
    assert one_lead.lead_names == ("lead0",) and one_lead["t_off"].shape[0] == 1


def test_bad_input():
    with pytest.raises(ValueError, match="lead_names has 3 names"):
        ecg_delineate(np.zeros((2, 1000)), FS, lead_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="backend"):
        ecg_delineate(np.zeros((2, 1000)), FS, backend="wavelet")
    with pytest.raises(TypeError, match="lead_names must be a sequence"):
        ecg_delineate(np.zeros((2, 1000)), FS, lead_names="ab")


def test_neurokit2_backend_structure():
    corpus = synthetic.generate(1, seed=4)
    x = corpus.signals[0][[1, 0, 6]]
    d = ecg_delineate(x, FS, lead_names=["II", "I", "V1"], backend="neurokit2")
    assert d.method == "neurokit2-dwt"
    assert d["qrs_on"].shape == (3, d.n_beats) and d.n_beats >= 8
    # The global R peaks are NeuroKit2's own detector's; its per-beat lists map one to one.
    from fgclep.signal.peaks import ecg_peaks

    assert np.array_equal(d.r_peaks, ecg_peaks(x, FS, backend="neurokit2"))
    assert (d["r_peak"] == d.r_peaks[None, :]).all()
    assert ((d["qrs_on"] == -1) | (d["qrs_on"] <= d.r_peaks[None, :])).all()


def _load_bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ludb.py"
    spec = importlib.util.spec_from_file_location("bench_ludb", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.realdata
@pytest.mark.slow
def test_ludb_accuracy_floor(shared_data):
    """Floors a little below what fgclep measures on the first 25 dev records (docs/benchmarks.md)."""
    bench = _load_bench()
    records = sorted((shared_data / "ludb" / "data").glob("*.hea"), key=lambda p: int(p.stem))[:25]
    summary, diffs, errors = bench.evaluate([p.with_suffix("") for p in records], "fgclep")
    assert errors == 0
    sens = {k: v[0] for k, v in summary.items()}
    sd = {k: v[3] for k, v in summary.items()}
    # Measured on these 25 records at 436f22d (leads held inside the global wave, unmeasured T
    # ends absent): sensitivity QRS 100/100, T 100/99.5, P 81.3 %; P PPV 91.0 %; SD QRS on 10.4,
    # QRS off 14.7, T off 21.3, P on 13.7 ms; PR +3.3 +- 6.2, QRS duration -4.7 +- 11.7,
    # QT -2.2 +- 12.5 ms.
    assert sens["qrs_on"] >= 99.0 and sens["qrs_off"] >= 99.0
    assert sens["t_peak"] >= 98.5 and sens["t_off"] >= 98.5 and sens["p_peak"] >= 78.0
    assert summary["p_peak"][1] >= 90.0  # P-wave PPV
    assert sd["qrs_on"] <= 12.0 and sd["qrs_off"] <= 16.5 and sd["t_off"] <= 24.0 and sd["p_on"] <= 17.0
    pr = np.asarray(diffs["pr_interval"])
    assert abs(pr.mean()) <= 6.0 and pr.std() <= 8.0
    qrs, qt = np.asarray(diffs["qrs_duration"]), np.asarray(diffs["qt_interval"])
    assert abs(qrs.mean()) <= 7.0 and qrs.std() <= 13.5
    assert abs(qt.mean()) <= 7.0 and qt.std() <= 14.0
    assert abs(np.mean(diffs["heart_rate"])) <= 1.0
