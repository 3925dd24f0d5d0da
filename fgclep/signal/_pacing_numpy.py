"""Readable NumPy twin of the C++ pacing-stimulus detector (csrc/pacing.hpp; parity-tested)."""
from __future__ import annotations

import numpy as np

PACE_RATIO = 2.5  # one-sample step / steepest 8 ms slope of the window
PACE_QUIET = 0.10  # steepest 8 ms slope 4-30 ms before the step / the window's steepest
MIN_FS = 250.0


def _secs(s: float, fs: float) -> int:
    v = s * fs  # std::lround: halves away from zero
    return int(np.floor(v + 0.5)) if v >= 0 else -int(np.floor(-v + 0.5))


def _summed_slope(raw: np.ndarray, a: int, b: int) -> np.ndarray:
    """Sum over leads of ``|x[i + b] - x[i - a]| / (a + b)``; non-finite pairs count 0."""
    n = raw.shape[1]
    out = np.zeros(n)
    d = raw[:, a + b:] - raw[:, : n - a - b]
    out[a: n - b] = np.where(np.isfinite(d), np.abs(d), 0.0).sum(axis=0)
    return out / (a + b)


def pacing_spikes(raw: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """Per beat, the pacing stimulus sample before it or -1 (raw ``(leads, samples)`` leads)."""
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    spikes = np.full(r_peaks.size, -1, dtype=np.int64)
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.shape[1]
    if fs < MIN_FS or raw.shape[0] < 1 or n < 8 or r_peaks.size == 0:
        return spikes
    h1 = max(1, _secs(0.001, fs))
    h8 = max(h1 + 1, _secs(0.004, fs))
    step = _summed_slope(raw, 0, h1)
    slope = _summed_slope(raw, h8, h8)
    for b, r in enumerate(r_peaks):
        lo = max(h8 + _secs(0.030, fs), r - _secs(0.200, fs))
        hi = min(n - 1 - h8, r + _secs(0.050, fs))
        if hi - lo < 4:
            continue
        at = lo + int(np.argmax(step[lo: hi + 1]))
        steepest = slope[lo: hi + 1].max()
        if not steepest > 0.0 or step[at] < PACE_RATIO * steepest:
            continue
        # a biphasic stimulus: its first jump of at least half the largest within 6 ms before it
        largest = at
        for i in range(largest - 1, max(lo, largest - _secs(0.006, fs)) - 1, -1):
            if step[i] >= 0.5 * step[largest]:
                at = i
        before = slope[at - _secs(0.030, fs): at - max(1, _secs(0.004, fs)) + 1].max()
        if before < PACE_QUIET * steepest:
            spikes[b] = at + h1  # the first sample after the jump
    return spikes
