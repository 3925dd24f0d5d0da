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

__all__ = ["ecg_pacing_spikes", "ecg_peaks"]

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


PACING_BACKENDS = ("cpp", "numpy")


def ecg_pacing_spikes(signal, sampling_rate, backend: str = "cpp") -> tuple[np.ndarray, np.ndarray]:
    """Find pacemaker stimulus artifacts ("pacing spikes") before each QRS complex.

    A stimulus lasts 0.1-2 ms, far shorter than any cardiac wave, so in a record sampled at
    >= 250 Hz it is a jump of about one sample. Per beat, the search covers 200 ms before to 50 ms
    after the R peak on the *raw* leads; the largest one-sample step (summed over leads) is a
    stimulus when it is >= 2.5 times the window's steepest 8 ms slope (a cardiac limb is as steep
    over 8 ms as over one sample) and the 4-30 ms before it are quiet (steepest 8 ms slope under
    10 % of the window's), which rules out jumps inside clipped or notched complexes.
    :func:`ecg_delineate` and :func:`ecg_measure` start a paced beat's QRS 10 ms after its
    stimulus, which the 40 Hz conditioning would otherwise smear into a fake first QRS limb.

    Parameters
    ----------
    signal : array_like
        One record, ``(samples,)`` or ``(leads, samples)`` in mV, raw (not low-pass filtered: a
        filtered stimulus is no longer a jump); NaN/inf samples are ignored.
    sampling_rate : float
        Sampling rate in Hz; below 250 Hz nothing is reported.
    backend : {"cpp", "numpy"}
        ``"cpp"``: the C++ core. ``"numpy"``: the readable twin (same R peaks, same result).

    Returns
    -------
    r_peaks : numpy.ndarray
        int64 R peaks from :func:`ecg_peaks`.
    spikes : numpy.ndarray
        int64, one entry per R peak: the stimulus sample before that beat, ``-1`` when unpaced.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 500
    >>> t = np.arange(10 * fs) / fs
    >>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01 ** 2))
    >>> ecg[(np.arange(10) * fs + 0.45 * fs).astype(int)] += 2.0  # a stimulus 50 ms before each R
    >>> r, spikes = ecg_pacing_spikes(np.stack([ecg, ecg]), fs)
    >>> (r - spikes)[:3]
    array([25, 25, 25])
    """
    func = "ecg_pacing_spikes"
    check_backend(backend, func, PACING_BACKENDS)
    x, fs = record_rows(signal, sampling_rate, func)
    from fgclep import _core

    r, spikes = _core.delin_pacing_spikes(x, fs)
    r = np.asarray(r, dtype=np.int64)
    if backend == "numpy":
        from fgclep.signal._pacing_numpy import pacing_spikes

        return r, pacing_spikes(x, fs, r)
    return r, np.asarray(spikes, dtype=np.int64)
