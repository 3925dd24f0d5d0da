"""Readable scipy reference twins of the C++ filters (``backend="scipy"``).

Each twin takes validated C-contiguous rows ``(n_rows, n_samples)`` and returns rows of the same
dtype; the public functions in :mod:`fgclep.signal.filters` validate and reshape around them.
The C++ core is tested against these functions (tests/test_filters.py).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy import signal as sps

__all__ = ["bandpass_rows", "median_baseline_rows", "notch_rows", "resample_rows", "butter_sos"]


def butter_sos(order: int, low: float | None, high: float | None, sampling_rate: float) -> np.ndarray:
    """``scipy.signal.butter`` as second-order sections; ``low=None`` low-pass, ``high=None`` high-pass."""
    if low is None:
        return sps.butter(order, high, btype="lowpass", fs=sampling_rate, output="sos")
    if high is None:
        return sps.butter(order, low, btype="highpass", fs=sampling_rate, output="sos")
    return sps.butter(order, [low, high], btype="bandpass", fs=sampling_rate, output="sos")


def bandpass_rows(rows: np.ndarray, sampling_rate: float, low, high, order: int) -> np.ndarray:
    """Zero-phase Butterworth: ``sosfiltfilt(butter(..., output="sos"), rows, axis=-1)`` (odd padding)."""
    sos = butter_sos(order, low, high, sampling_rate)
    return sps.sosfiltfilt(sos, rows, axis=-1).astype(rows.dtype, copy=False)


def notch_rows(rows: np.ndarray, sampling_rate: float, freq: float, quality: float) -> np.ndarray:
    """Zero-phase notch: ``filtfilt(*iirnotch(freq, quality, fs), rows, axis=-1)``.

    ``filtfilt``'s default padding (odd, ``3 * max(len(a), len(b)) = 9`` samples) and
    ``lfilter_zi`` initial conditions equal ``sosfiltfilt``'s for the single section ``[b, a]``,
    which is what the C++ path runs.
    """
    b, a = sps.iirnotch(freq, quality, fs=sampling_rate)
    return sps.filtfilt(b, a, rows, axis=-1).astype(rows.dtype, copy=False)


def median_baseline_rows(rows: np.ndarray, short_window: int, long_window: int) -> np.ndarray:
    """Signal minus its two-stage running median (windows in samples, odd).

    ``scipy.ndimage.median_filter`` along the last axis with ``mode="reflect"`` (the edge sample
    is repeated: ``d c b a | a b c d | d c b a``), first ``short_window`` then ``long_window``.
    """
    base = ndimage.median_filter(rows, size=(1, short_window), mode="reflect")
    base = ndimage.median_filter(base, size=(1, long_window), mode="reflect")
    return rows - base


def resample_rows(rows: np.ndarray, up: int, down: int) -> np.ndarray:
    """``scipy.signal.resample_poly(rows, up, down, axis=-1)`` with its defaults
    (``window=("kaiser", 5.0)``, ``padtype="constant"``)."""
    return sps.resample_poly(rows, up, down, axis=-1).astype(rows.dtype, copy=False)
