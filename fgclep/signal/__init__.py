"""ECG signal processing over the C++ core: filtering, baseline removal, resampling.

Functions read like NeuroKit2's (``ecg_clean(signal, sampling_rate, ...)``) and take
``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)`` arrays; every fast path
has a scipy twin behind ``backend="scipy"``.
"""
from __future__ import annotations

from fgclep.signal.filters import bandpass, ecg_clean, notch, remove_baseline, resample

__all__ = ["bandpass", "ecg_clean", "notch", "remove_baseline", "resample"]
# Delineation and measurements (issue 3) are exported below.
from fgclep.signal.measure import ecg_delineate, ecg_measure, ecg_peaks, measure_from_fiducials  # noqa: E402,F401 (issue 3)
from fgclep.signal.peaks import ecg_pacing_spikes  # noqa: E402,F401
