"""Readable NumPy/SciPy twin of the C++ measurements (``backend="numpy"``; parity-tested).

It follows docs/measurements.md line by line: condition the leads, combine per-lead fiducials into
global ones, then measure. Slow (Python loops over beats) but easy to check.
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps

from fgclep.leads import FIDUCIALS, LEADS_12, PER_LEAD_MEASUREMENTS, RECORD_MEASUREMENTS
from fgclep.signal._pacing_numpy import MIN_FS as PACING_MIN_FS

_F = {name: i for i, name in enumerate(FIDUCIALS)}
VOTES = 3                          # global onsets/offsets: earliest/latest value on which 3 leads agree,
QRS_AGREE, PT_AGREE = 0.010, 0.020  # i.e. lie within 10 ms (QRS) or 20 ms (P, T) of each other


def condition(x: np.ndarray, fs: float) -> np.ndarray:
    """NaN runs interpolated, zero-phase Butterworth(2) high-pass 0.5 Hz then low-pass 40 Hz."""
    x = np.array(x, dtype=np.float64, copy=True)
    n = x.shape[-1]
    idx = np.arange(n)
    for row in x:
        ok = np.isfinite(row)
        if not ok.any():
            row[:] = 0.0
        elif not ok.all():
            row[~ok] = np.interp(idx[~ok], idx[ok], row[ok])
    if n < 2:
        return x
    pad = max(0, min(n - 1, int(round(1.0 * fs))))
    for kind, fc in (("highpass", 0.5), ("lowpass", 40.0)):
        b, a = sps.butter(2, min(fc, 0.45 * fs), btype=kind, fs=fs)
        x = sps.filtfilt(b, a, x, axis=-1, padtype="odd", padlen=pad)
    return x


def combine_leads(lead: np.ndarray, fs: float, r_peaks=None) -> np.ndarray:
    """Global ``(8, n_beats)`` fiducials from per-lead ``(8, n_leads, n_beats)`` ones."""
    tol_qrs = max(1, int(round(QRS_AGREE * fs)))
    tol_pt = max(1, int(round(PT_AGREE * fs)))
    n_beats = lead.shape[2]
    glob = np.full((len(FIDUCIALS), n_beats), -1, dtype=np.int64)
    for name, f in _F.items():
        tol = tol_qrs if name in ("qrs_on", "qrs_off") else tol_pt
        for b in range(n_beats):
            if name == "r_peak" and r_peaks is not None:
                glob[f, b] = r_peaks[b]
                continue
            v = np.sort(lead[f, :, b][lead[f, :, b] >= 0])
            if v.size == 0:
                continue
            glob[f, b] = v[(v.size - 1) // 2]
            if v.size == 1:
                continue
            # VOTES leads agree when they lie within tol of each other (fewer leads: all of them)
            span = min(v.size, VOTES) - 1
            close = np.flatnonzero(v[span:] - v[:-span] <= tol)
            if close.size and name in ("p_on", "qrs_on"):
                glob[f, b] = v[close[0]]
            elif close.size and name in ("p_off", "qrs_off", "t_off"):
                glob[f, b] = v[close[-1] + span]
    return glob


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def measure(x: np.ndarray, fs: float, lead: np.ndarray, glob: np.ndarray, std_index,
            pacing=None) -> np.ndarray:
    """Measurements (``measurement_columns()`` order) of conditioned leads ``x``.

    ``pacing``: per beat the pacing stimulus sample or -1 (``_pacing_numpy.pacing_spikes`` on the
    raw leads); ``paced_fraction`` is NaN without it, below 250 Hz or without beats.
    """
    out = {name: float("nan") for name in RECORD_MEASUREMENTS}
    if pacing is not None and len(pacing) and fs >= PACING_MIN_FS:
        out["paced_fraction"] = float(np.mean(np.asarray(pacing) >= 0))
    per = {p: [float("nan")] * len(LEADS_12) for p in PER_LEAD_MEASUREMENTS}
    n = x.shape[1]
    ms = 1000.0 / fs
    g = {name: glob[i] for name, i in _F.items()}
    nb = glob.shape[1]
    out["n_beats"] = float(nb)
    if nb:
        rr = np.diff(g["r_peak"]).astype(np.float64) * ms
        if rr.size:
            m = rr.mean()
            out["rr_mean"] = m
            out["heart_rate"] = 60000.0 / m if m > 0 else float("nan")
            if rr.size >= 2:
                out["rr_std"] = float(np.sqrt(np.mean((rr - m) ** 2)))
                out["rr_irregularity"] = float(np.mean(np.abs(np.diff(rr))) / m) if m > 0 else float("nan")
        pon, poff, qon, qoff, toff = g["p_on"], g["p_off"], g["qrs_on"], g["qrs_off"], g["t_off"]
        out["pr_interval"] = _median([(q - p) * ms for p, q in zip(pon, qon) if p >= 0 and q > p])
        out["p_duration"] = _median([(e - p) * ms for p, e in zip(pon, poff) if p >= 0 and e > p])
        out["qrs_duration"] = _median([(e - q) * ms for q, e in zip(qon, qoff) if q >= 0 and e > q])
        out["qt_interval"] = _median([(t - q) * ms for q, t in zip(qon, toff) if q >= 0 and t > q])
        if np.isfinite(out["qt_interval"]) and np.isfinite(out["rr_mean"]) and out["rr_mean"] > 0:
            out["qtc_bazett"] = out["qt_interval"] / np.sqrt(out["rr_mean"] / 1000.0)
            out["qtc_fridericia"] = out["qt_interval"] / np.cbrt(out["rr_mean"] / 1000.0)
        out["p_wave_fraction"] = float(np.mean(g["p_peak"] >= 0))
        wb = max(1, int(round(0.020 * fs)))
        st_off = int(round(0.060 * fs))
        areas = {k: ([], []) for k in ("p", "qrs", "t")}
        for k, l in enumerate(std_index):
            if l < 0 or l >= x.shape[0]:
                continue
            xl = x[l]
            v = {p: [] for p in PER_LEAD_MEASUREMENTS}
            for b in range(nb):
                a0, a1 = int(qon[b]), int(qoff[b])
                if a0 - wb < 0 or a0 >= n:
                    continue
                base = xl[a0 - wb:a0].mean()
                pp, tp = lead[_F["p_peak"], l, b], lead[_F["t_peak"], l, b]
                if 0 <= pp < n:
                    v["p_amp"].append(xl[pp] - base)
                if 0 <= tp < n:
                    v["t_amp"].append(xl[tp] - base)
                if a0 < a1 < n:
                    seg = xl[a0:a1 + 1] - base
                    r = int(np.argmax(seg))
                    qi = int(np.argmin(seg[:r + 1]))
                    q = min(0.0, seg[qi])
                    v["r_amp"].append(max(0.0, seg[r]))
                    v["q_amp"].append(q)
                    v["s_amp"].append(min(0.0, seg[r:].min()))
                    v["q_depth"].append(-q)
                    qdur = 0.0
                    if q < 0:
                        s, e = qi, qi
                        while s > 0 and seg[s - 1] < 0:
                            s -= 1
                        while e < r and seg[e + 1] < 0:
                            e += 1
                        qdur = (e - s + 1) * ms
                    v["q_dur"].append(qdur)
                    if a1 + st_off < n:
                        v["st"].append(xl[a1 + st_off] - base)
                slot = 0 if k == 0 else (1 if k == 5 else -1)
                if slot >= 0:
                    for key, (s, e) in (("p", (pon[b], poff[b])), ("qrs", (a0, a1)), ("t", (a1, toff[b]))):
                        if s >= 0 and s < e < n:
                            areas[key][slot].append((xl[s:e + 1] - base).sum() / fs)
            for p in PER_LEAD_MEASUREMENTS:
                per[p][k] = _median(v[p])
        for key in ("p", "qrs", "t"):
            xi, yf = _median(areas[key][0]), _median(areas[key][1])
            if np.isfinite(xi) and np.isfinite(yf):
                out[f"{key}_axis"] = float(np.degrees(np.arctan2(yf, xi)))
        r, s = per["r_amp"], per["s_amp"]
        out["sokolow_lyon"] = -s[6] + max(r[10], r[11]) if not np.isnan([r[10], r[11]]).any() else float("nan")
        out["cornell_voltage"] = r[4] - s[8]
        pp = [per["r_amp"][k] - min(per["q_amp"][k], per["s_amp"][k]) for k in range(12)]
        limb, prec = np.array(pp[:6]), np.array(pp[6:])
        limb_low = bool(np.isfinite(limb).all() and (limb < 0.5).all())
        prec_low = bool(np.isfinite(prec).all() and (prec < 1.0).all())
        if limb_low or prec_low:
            out["low_voltage"] = 1.0
        elif np.isfinite(limb).all() and np.isfinite(prec).all():
            out["low_voltage"] = 0.0
    values = [out[name] for name in RECORD_MEASUREMENTS]
    for p in PER_LEAD_MEASUREMENTS:
        values.extend(per[p])
    return np.asarray(values, dtype=np.float64)
