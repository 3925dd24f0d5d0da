"""NeuroKit2 reference twin (``backend="neurokit2"``): NeuroKit2's detectors on our structure.

R peaks: ``nk.ecg_peaks`` (method "neurokit") on ``nk.ecg_clean`` of the first lead. Delineation:
``nk.ecg_delineate(method=...)`` run on every cleaned lead with those R peaks; its per-beat lists
are aligned with the R peaks, so they map one to one onto our ``(n_leads, n_beats)`` arrays
(NaN -> -1). QRS on/off are NeuroKit2's ``ECG_R_Onsets``/``ECG_R_Offsets``; the R peak of a lead
is the global one. Global fiducials use the same lead-combination rules as the C++ core. Slow:
for comparison and benchmarks only.
"""
from __future__ import annotations

import warnings

import numpy as np

from fgclep.leads import FIDUCIALS

NK_KEYS = {
    "p_on": "ECG_P_Onsets", "p_peak": "ECG_P_Peaks", "p_off": "ECG_P_Offsets",
    "qrs_on": "ECG_R_Onsets", "qrs_off": "ECG_R_Offsets", "t_peak": "ECG_T_Peaks",
    "t_off": "ECG_T_Offsets",
}


def _nk():
    try:
        import neurokit2 as nk
    except ImportError as exc:  # pragma: no cover - neurokit2 is a dependency
        raise ImportError("backend='neurokit2' needs the neurokit2 package") from exc
    return nk


def nk_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """R peaks of the first lead with NeuroKit2 (int64)."""
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(np.nan_to_num(x[0]), sampling_rate=fs)
        try:
            _, info = nk.ecg_peaks(clean, sampling_rate=fs)
        except (ValueError, IndexError, ZeroDivisionError):
            return np.zeros(0, dtype=np.int64)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def nk_delineate(x: np.ndarray, fs: float, method: str = "dwt", r_peaks=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead ``(8, leads, beats)`` and global ``(8, beats)`` fiducials from NeuroKit2."""
    from fgclep.signal._measure_numpy import combine_leads

    nk = _nk()
    r = nk_peaks(x, fs) if r_peaks is None else np.asarray(r_peaks, dtype=np.int64)
    n_leads, n_beats = x.shape[0], r.size
    lead = np.full((len(FIDUCIALS), n_leads, n_beats), -1, dtype=np.int64)
    lead[FIDUCIALS.index("r_peak")] = r[None, :]
    if n_beats >= 2:
        for li in range(n_leads):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    clean = nk.ecg_clean(np.nan_to_num(x[li]), sampling_rate=fs)
                    _, waves = nk.ecg_delineate(clean, r, sampling_rate=fs, method=method)
                except (ValueError, IndexError, ZeroDivisionError, KeyError):
                    continue
            for name, key in NK_KEYS.items():
                vals = np.asarray(waves.get(key, []), dtype=np.float64)
                if vals.size != n_beats:
                    continue
                ok = np.isfinite(vals) & (vals >= 0) & (vals < x.shape[1])
                lead[FIDUCIALS.index(name), li, ok] = vals[ok].astype(np.int64)
    return lead, combine_leads(lead, fs, r_peaks=r)
