"""R-peak detection from all leads of a record together (C++ core, NeuroKit2 reference twin).

The detector follows Pan & Tompkins (1985) on a multi-lead energy: every lead is band-passed
5-15 Hz, differentiated and squared, divided by its own 98th percentile (so inverted, small or
large leads weigh alike, and one saturated lead cannot dominate), summed over leads and integrated
over 100 ms. Peaks are classified with Pan-Tompkins' adaptive signal and noise levels, a 250 ms
refractory period, T-wave rejection within 360 ms and search-back after 1.66 mean RR, then moved
to the dominant-polarity extremum of the most deflected lead within +-60 ms. What we changed from
the paper: the multi-lead, per-lead normalised energy; zero-phase filters instead of causal ones.
"""
from __future__ import annotations

import numpy as np

from fgclep.signal._validate import as_signal_array, check_backend, check_sampling_rate

__all__ = ["ecg_peaks"]

PEAK_BACKENDS = ("cpp", "neurokit2")


def record_rows(signal, sampling_rate, func: str) -> tuple[np.ndarray, float]:
    """Validate one record and return it as float64 ``(leads, samples)`` plus the rate.

    NaN/inf samples are allowed: the C++ core interpolates over them.
    """
    fs = check_sampling_rate(sampling_rate, func)
    batch = as_signal_array(signal, func, check_finite=False)
    if len(batch.shape) == 3:
        raise ValueError(
            f"{func}: signal must be one record, shape (samples,) or (leads, samples), "
            f"got shape {batch.shape}"
        )
    return np.ascontiguousarray(batch.rows, dtype=np.float64), fs


def ecg_peaks(signal, sampling_rate, backend: str = "cpp") -> np.ndarray:
    """Detect R peaks using all leads of one record together.

    Parameters
    ----------
    signal : array_like
        One record, ``(samples,)`` or ``(leads, samples)`` in mV, float32 or float64; raw or
        cleaned (the detector band-passes internally); NaN/inf runs are interpolated over.
    sampling_rate : float
        Sampling rate in Hz.
    backend : {"cpp", "neurokit2"}
        ``"cpp"``: the multi-lead detector above. ``"neurokit2"``: NeuroKit2's ``ecg_peaks`` on the
        first lead after ``ecg_clean`` (reference, single lead, much slower).

    Returns
    -------
    numpy.ndarray
        int64 sample indices of the R peaks, ascending (empty when none is found).

    Examples
    --------
    >>> import numpy as np
    >>> fs = 500
    >>> t = np.arange(10 * fs) / fs
    >>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01 ** 2))  # one spike a second
    >>> ecg_peaks(np.stack([ecg, -ecg]), fs)[:3]
    array([ 250,  750, 1250])
    """
    func = "ecg_peaks"
    check_backend(backend, func, PEAK_BACKENDS)
    x, fs = record_rows(signal, sampling_rate, func)
    if backend == "neurokit2":
        from fgclep.signal._neurokit_twin import nk_peaks

        return nk_peaks(x, fs)
    from fgclep import _core

    return np.asarray(_core.delin_peaks(x, fs), dtype=np.int64)
