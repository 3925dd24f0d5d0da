"""Zero-phase ECG filtering, baseline removal and resampling (C++ core, scipy twins).

All functions take ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)`` arrays
of float32 or float64 (contiguous or not) and return the same shape (``resample`` changes the
sample count); the result is float64 when float64 came in and float32 otherwise. The C++ core
computes in double precision, runs rows on ``fgclep.set_num_threads`` threads and releases the
GIL. ``backend="scipy"`` runs the readable reference in :mod:`fgclep.signal._scipy_twins`.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from fgclep import _core
from fgclep.signal import _scipy_twins as twins
from fgclep.signal._validate import (
    SignalBatch,
    as_signal_array,
    check_backend,
    check_cutoff,
    check_positive_int,
    check_sampling_rate,
    raise_nonfinite,
)

__all__ = ["bandpass", "ecg_clean", "notch", "remove_baseline", "resample", "baseline_windows"]

BACKENDS = ("cpp", "scipy")
BASELINE_METHODS = ("median", "highpass")
CLEAN_METHODS = ("fgclep", "bandpass")
MAX_ORDER = 10
HIGHPASS_BASELINE_HZ = 0.5
HIGHPASS_BASELINE_ORDER = 4
MAX_RESAMPLE_FACTOR = 1000


def _rows(signal, func: str, backend: str, min_samples: int = 1, nan_policy: str = "raise") -> SignalBatch:
    # The C++ core reports non-finite rows itself, so skip the numpy scan on that path.
    return as_signal_array(signal, func, min_samples=min_samples, nan_policy=nan_policy,
                           check_finite=backend != "cpp")


def _run_core(fn, batch: SignalBatch, func: str, *args) -> np.ndarray:
    out, bad_row = fn(batch.rows, *args)
    if bad_row >= 0:
        raise_nonfinite(func, "signal", batch.shape, int(bad_row))
    return out


def _design(func: str, sampling_rate, low, high, order, backend):
    check_backend(backend, func, BACKENDS)
    fs = check_sampling_rate(sampling_rate, func)
    order = check_positive_int(order, func, "order", 1, MAX_ORDER)
    if low is None and high is None:
        raise ValueError(f"{func}: low and high cannot both be None")
    low = None if low is None else check_cutoff(low, func, "low", fs)
    high = None if high is None else check_cutoff(high, func, "high", fs)
    if low is not None and high is not None and low >= high:
        raise ValueError(f"{func}: low must be < high, got low={low!r}, high={high!r}")
    return fs, low, high, order


def bandpass(signal, sampling_rate, low=0.5, high=40.0, order=4, backend="cpp"):
    """Zero-phase Butterworth band-pass (or low-/high-pass) filter.

    The same filter as ``scipy.signal.butter(order, [low, high], btype="band", fs=sampling_rate,
    output="sos")`` run through ``scipy.signal.sosfiltfilt(sos, signal, axis=-1)`` with its
    default odd padding of ``3 * (2 * n_sections + 1 - min(#b2==0, #a2==0))`` samples.

    Parameters
    ----------
    signal : array_like
        ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``, float32/float64.
    sampling_rate : float
        Sampling rate in Hz.
    low, high : float or None
        Cutoffs in Hz in ``(0, sampling_rate / 2)``; ``low=None`` gives a low-pass at ``high``,
        ``high=None`` a high-pass at ``low``.
    order : int
        Butterworth order, 1..10 (the forward-backward pass doubles the attenuation).
    backend : {"cpp", "scipy"}
        ``"scipy"`` runs the reference twin.

    Returns
    -------
    numpy.ndarray
        Filtered signal, same shape; float64 if float64 came in, else float32.

    Examples
    --------
    >>> import numpy as np
    >>> from fgclep.signal import bandpass
    >>> t = np.arange(5000) / 500.0
    >>> x = np.sin(2 * np.pi * 10 * t) + 0.5 * t          # 10 Hz tone on a drift
    >>> y = bandpass(x.astype(np.float32), 500.0, 0.5, 40.0)
    >>> y.dtype, y.shape
    (dtype('float32'), (5000,))
    """
    fs, low, high, order = _design("bandpass", sampling_rate, low, high, order, backend)
    sos = _sos(fs, low, high, order, backend)
    batch = _rows(signal, "bandpass", backend, _core.sosfiltfilt_padlen(sos) + 1)
    return batch.restore(_filter_rows(batch, sos, backend, "bandpass", lambda r: twins.bandpass_rows(r, fs, low, high, order)))


def _sos(fs, low, high, order, backend):
    return twins.butter_sos(order, low, high, fs) if backend == "scipy" else _core.butter_sos(order, low, high, fs)


def _filter_rows(batch: SignalBatch, sos, backend: str, func: str, twin, inplace: bool = False) -> np.ndarray:
    """Zero-phase SOS filtering of validated rows: the C++ core, or ``twin(rows)`` for scipy.

    ``inplace=True`` overwrites ``batch.rows`` (only for arrays this module allocated)."""
    if backend == "scipy":
        return twin(batch.rows)
    return _run_core(_core.sosfiltfilt, batch, func, sos, inplace)


def notch(signal, sampling_rate, freq=50.0, quality=30.0, backend="cpp"):
    """Zero-phase notch (``scipy.signal.iirnotch``) at ``freq`` Hz, e.g. power-line interference.

    The C++ path runs the single section ``[b, a]`` forward and backward exactly like
    ``scipy.signal.filtfilt(b, a, signal, axis=-1)`` (odd padding of 9 samples, ``lfilter_zi``
    initial conditions); the scipy twin calls ``filtfilt``.

    Parameters
    ----------
    signal : array_like
        ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``, float32/float64.
    sampling_rate : float
        Sampling rate in Hz.
    freq : float
        Frequency to remove, in ``(0, sampling_rate / 2)`` Hz.
    quality : float
        Quality factor ``freq / bandwidth(-3 dB)``, > 0.
    backend : {"cpp", "scipy"}

    Returns
    -------
    numpy.ndarray
        Same shape; float64 if float64 came in, else float32.
    """
    check_backend(backend, "notch", BACKENDS)
    fs = check_sampling_rate(sampling_rate, "notch")
    freq = check_cutoff(freq, "notch", "freq", fs)
    if isinstance(quality, bool) or not isinstance(quality, (int, float, np.integer, np.floating)) or not quality > 0:
        raise ValueError(f"notch: quality must be a number > 0, got {quality!r}")
    quality = float(quality)
    sos = _core.iirnotch_sos(freq, quality, fs)
    batch = _rows(signal, "notch", backend, _core.sosfiltfilt_padlen(sos) + 1)
    return batch.restore(_filter_rows(batch, sos, backend, "notch", lambda r: twins.notch_rows(r, fs, freq, quality)))


def baseline_windows(sampling_rate) -> tuple[int, int]:
    """Median window lengths in samples for 200 ms and 600 ms: ``round(d * fs)``, made odd by
    adding one when even (500 Hz: 101 and 301 samples)."""
    fs = check_sampling_rate(sampling_rate, "baseline_windows")

    def odd(seconds: float) -> int:
        w = max(1, int(round(seconds * fs)))
        return w if w % 2 == 1 else w + 1

    return odd(0.2), odd(0.6)


def remove_baseline(signal, sampling_rate, method="median", backend="cpp"):
    """Remove baseline wander.

    ``method="median"``: subtract a two-stage running median (200 ms, then 600 ms on its
    output; windows from :func:`baseline_windows`), the classic de Chazal et al. (2004)
    baseline estimate. Edges use ``scipy.ndimage.median_filter``'s ``mode="reflect"`` (the edge
    sample repeated). Known limitation of any running median: within half a long window (0.3 s)
    of the record's ends, a wave cut by the edge fills most of the window, so the baseline follows
    the wave there and the cleaned trace can dip by a fraction of the wave's amplitude (up to
    ~1 mV after a tall cut-off T wave on synthetic records); use ``method="highpass"`` where the
    first and last 0.3 s matter. ``method="highpass"``: a 0.5 Hz zero-phase Butterworth high-pass of order
    4 (:func:`bandpass` with ``high=None``).

    Parameters
    ----------
    signal : array_like
        ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``, float32/float64;
        at least the long median window (0.6 s) of samples.
    sampling_rate : float
        Sampling rate in Hz.
    method : {"median", "highpass"}
    backend : {"cpp", "scipy"}
        ``"scipy"``: ``scipy.ndimage.median_filter`` twice / ``scipy.signal.sosfiltfilt``.

    Returns
    -------
    numpy.ndarray
        Same shape; float64 if float64 came in, else float32.
    """
    check_backend(backend, "remove_baseline", BACKENDS)
    if method not in BASELINE_METHODS:
        raise ValueError(f"remove_baseline: method must be one of {BASELINE_METHODS}, got {method!r}")
    fs = check_sampling_rate(sampling_rate, "remove_baseline")
    if method == "highpass":
        return bandpass(signal, fs, HIGHPASS_BASELINE_HZ, None, HIGHPASS_BASELINE_ORDER, backend)
    w1, w2 = baseline_windows(fs)
    batch = _rows(signal, "remove_baseline", backend, min_samples=w2)
    return batch.restore(_median_rows(batch, w1, w2, backend, "remove_baseline"))


def _median_rows(batch: SignalBatch, w1: int, w2: int, backend: str, func: str) -> np.ndarray:
    if backend == "scipy":
        return twins.median_baseline_rows(batch.rows, w1, w2)
    return _run_core(_core.median_baseline, batch, func, w1, w2)


def _rate_ratio(sampling_rate: float, target_rate: float) -> tuple[int, int]:
    ratio = Fraction(target_rate).limit_denominator(MAX_RESAMPLE_FACTOR) / Fraction(sampling_rate).limit_denominator(
        MAX_RESAMPLE_FACTOR
    )
    up, down = ratio.numerator, ratio.denominator
    if up > MAX_RESAMPLE_FACTOR or down > MAX_RESAMPLE_FACTOR or abs(up / down - target_rate / sampling_rate) > 1e-9 * (
        target_rate / sampling_rate
    ):
        raise ValueError(
            f"resample: target_rate/sampling_rate = {target_rate!r}/{sampling_rate!r} is not a ratio of integers "
            f"<= {MAX_RESAMPLE_FACTOR}"
        )
    return up, down


def resample(signal, sampling_rate, target_rate, backend="cpp"):
    """Polyphase resampling to ``target_rate`` Hz, agreeing with ``scipy.signal.resample_poly``.

    ``up/down = target_rate/sampling_rate`` reduced by their gcd; the anti-aliasing filter is
    scipy's default ``firwin(2 * 10 * max(up, down) + 1, 1 / max(up, down), window=("kaiser",
    5.0))`` with zero (``padtype="constant"``) edges. Output length ``ceil(n * up / down)``.

    Parameters
    ----------
    signal : array_like
        ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``, float32/float64.
    sampling_rate, target_rate : float
        Rates in Hz whose ratio is a fraction with terms <= 1000 (e.g. 360 -> 500 is 25/18).
    backend : {"cpp", "scipy"}

    Returns
    -------
    numpy.ndarray
        ``(..., ceil(samples * up / down))``; float64 if float64 came in, else float32.
    """
    check_backend(backend, "resample", BACKENDS)
    fs = check_sampling_rate(sampling_rate, "resample")
    target = check_sampling_rate(target_rate, "resample", "target_rate")
    up, down = _rate_ratio(fs, target)
    batch = _rows(signal, "resample", backend)
    if backend == "scipy":
        return batch.restore(twins.resample_rows(batch.rows, up, down))
    return batch.restore(_run_core(_core.resample_poly, batch, "resample", up, down))


def ecg_clean(signal, sampling_rate, method="fgclep", powerline=None, nan_policy="raise", backend="cpp"):
    """Default ECG cleaning used throughout fgclep.

    ``method="fgclep"``: two-stage median baseline removal (:func:`remove_baseline`) followed
    by a zero-phase Butterworth band-pass 0.5-40 Hz of order 4 (:func:`bandpass`).
    ``method="bandpass"``: the band-pass alone (cheaper; its 0.5 Hz edge removes most wander).
    With ``powerline`` (Hz, e.g. 50 or 60, below ``sampling_rate / 2``) a zero-phase notch
    (:func:`notch`, quality 30) follows.

    Parameters
    ----------
    signal : array_like
        ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``, float32/float64.
    sampling_rate : float
        Sampling rate in Hz (> 80 Hz so that the 40 Hz band edge is below Nyquist).
    method : {"fgclep", "bandpass"}
    powerline : float or None
        Power-line frequency to notch out.
    nan_policy : {"raise", "interpolate"}
        ``"interpolate"`` fills NaN/inf runs linearly (all-NaN rows become zeros, with a
        warning) before filtering.
    backend : {"cpp", "scipy"}

    Returns
    -------
    numpy.ndarray
        Same shape; float64 if float64 came in, else float32.

    Examples
    --------
    >>> import numpy as np
    >>> from fgclep.signal import ecg_clean
    >>> x = np.random.default_rng(0).normal(size=(12, 5000)).astype(np.float32)
    >>> ecg_clean(x, 500).shape
    (12, 5000)
    """
    check_backend(backend, "ecg_clean", BACKENDS)
    if method not in CLEAN_METHODS:
        raise ValueError(f"ecg_clean: method must be one of {CLEAN_METHODS}, got {method!r}")
    fs = check_sampling_rate(sampling_rate, "ecg_clean")
    if fs <= 80.0:
        raise ValueError(f"ecg_clean: sampling_rate must be > 80 Hz for the 40 Hz band edge, got {sampling_rate!r}")
    if powerline is not None:
        check_cutoff(powerline, "ecg_clean", "powerline", fs)
    w1, w2 = baseline_windows(fs)
    band = _sos(fs, 0.5, 40.0, 4, backend)
    line = None if powerline is None else _core.iirnotch_sos(float(powerline), 30.0, fs)
    min_samples = _core.sosfiltfilt_padlen(band) + 1
    if method == "fgclep":
        min_samples = max(min_samples, w2)
    batch = as_signal_array(signal, "ecg_clean", min_samples=min_samples, nan_policy=nan_policy,
                            check_finite=backend != "cpp")
    # After the first step the rows are our own array, so later steps overwrite it in place.
    owned = False
    if method == "fgclep":
        batch = SignalBatch(_median_rows(batch, w1, w2, backend, "ecg_clean"), batch.shape)
        owned = True
    batch = SignalBatch(
        _filter_rows(batch, band, backend, "ecg_clean", lambda r: twins.bandpass_rows(r, fs, 0.5, 40.0, 4), owned),
        batch.shape,
    )
    if line is not None:
        batch = SignalBatch(
            _filter_rows(batch, line, backend, "ecg_clean", lambda r: twins.notch_rows(r, fs, float(powerline), 30.0),
                         True),
            batch.shape,
        )
    return batch.restore(batch.rows)
