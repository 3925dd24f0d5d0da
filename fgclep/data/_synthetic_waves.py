"""Wave, lead and noise building blocks of the synthetic ECG generator (internal).

A beat is a sum of *lobes*. Each lobe has an integer onset, peak and offset (samples) and a
3-D dipole vector (Frank axes: X right-to-left, Y superior-to-inferior, Z anterior-to-posterior),
and its time course is an asymmetric raised cosine that is exactly zero outside
``[onset, offset]`` and exactly one at the peak. The dipole is projected onto the 8 independent
leads (I, II, V1-V6) with Dower's matrix (Dower, Machado & Osborne, Clin. Cardiol. 1980); the four
other limb leads are then *derived* from I and II with the Einthoven/Goldberger identities, after
noise has been added, so that ``III = II - I``, ``aVR = -(I + II)/2``, ``aVL = I - II/2`` and
``aVF = II - I/2`` hold for every output sample.

Everything here is deterministic given its arguments; randomness comes from the caller's
``numpy.random.Generator``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

# Dower's forward transform, rows in INDEPENDENT order: lead = row @ [X, Y, Z] (mV).
DOWER = np.array([
    [0.632, -0.235, 0.059],    # I
    [0.235, 1.066, -0.132],    # II
    [-0.515, 0.157, -0.917],   # V1
    [0.044, 0.164, -1.387],    # V2
    [0.882, 0.098, -1.277],    # V3
    [1.213, 0.127, -0.601],    # V4
    [1.125, 0.127, -0.086],    # V5
    [0.831, 0.076, 0.230],     # V6
])
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

# Rows of the 12 x 8 matrix that maps the independent leads to LEADS_12 (I, II, III, aVR, aVL,
# aVF, V1..V6); used for lead projections of vectors (the signals themselves use derive_12).
_DERIVE = np.zeros((12, 8))
_DERIVE[0, 0] = 1.0
_DERIVE[1, 1] = 1.0
_DERIVE[2, :2] = (-1.0, 1.0)
_DERIVE[3, :2] = (-0.5, -0.5)
_DERIVE[4, :2] = (1.0, -0.5)
_DERIVE[5, :2] = (-0.5, 1.0)
_DERIVE[6:, 2:] = np.eye(6)
LEAD_MATRIX = _DERIVE @ DOWER          # (12, 3): projection of a dipole onto LEADS_12
LIMB = slice(0, 6)
PRECORDIAL = slice(6, 12)

# Territories (indices into LEADS_12) and the dipole direction that points into each one.
TERRITORY_LEADS = {
    "inferior": (1, 2, 5),            # II, III, aVF
    "anterior": (6, 7, 8, 9),         # V1-V4
    "lateral": (0, 4, 10, 11),        # I, aVL, V5, V6
}
TERRITORY_VECTOR = {
    "inferior": np.array([0.0, 1.0, 0.0]),
    "anterior": np.array([0.0, -0.5, -1.0]),
    "lateral": np.array([1.0, -0.4, 0.2]),
}


def derive_12(independent: np.ndarray) -> np.ndarray:
    """Build LEADS_12 from the 8 independent leads ``(..., 8, T)`` with the limb identities."""
    lead_i = independent[..., 0, :]
    lead_ii = independent[..., 1, :]
    out = np.empty(independent.shape[:-2] + (12, independent.shape[-1]), dtype=independent.dtype)
    out[..., 0, :] = lead_i
    out[..., 1, :] = lead_ii
    out[..., 2, :] = lead_ii - lead_i
    out[..., 3, :] = -(lead_i + lead_ii) / 2
    out[..., 4, :] = lead_i - lead_ii / 2
    out[..., 5, :] = lead_ii - lead_i / 2
    out[..., 6:, :] = independent[..., 2:, :]
    return out


@functools.lru_cache(maxsize=8192)
def lobe(n: int, onset: int, peak: int, offset: int, power: float = 1.0) -> np.ndarray:
    """Asymmetric raised-cosine lobe on ``0..n-1``: 0 outside [onset, offset], 1 at ``peak``.

    Cached (records share most integer timings); the returned array is read-only.
    """
    if not onset < peak < offset:
        raise ValueError(f"lobe: need onset < peak < offset, got {onset}, {peak}, {offset}")
    out = np.zeros(n)
    rise = np.arange(max(onset, 0), min(peak, n - 1) + 1, dtype=np.float64)
    out[rise.astype(np.intp)] = 0.5 * (1.0 - np.cos(np.pi * (rise - onset) / (peak - onset)))
    fall = np.arange(max(peak + 1, 0), min(offset, n - 1) + 1, dtype=np.float64)
    out[fall.astype(np.intp)] = 0.5 * (1.0 + np.cos(np.pi * (fall - peak) / (offset - peak)))
    out = out ** power if power != 1.0 else out
    out.flags.writeable = False
    return out


def plateau(n: int, start: int, ramp_end: int, fall_start: int, end: int) -> np.ndarray:
    """0 before ``start``, raised-cosine ramp to 1 at ``ramp_end``, 1 until ``fall_start``,
    raised-cosine fall to 0 at ``end`` (the ST-segment component)."""
    if not start < ramp_end <= fall_start < end:
        raise ValueError(f"plateau: need start < ramp_end <= fall_start < end, got "
                         f"{start}, {ramp_end}, {fall_start}, {end}")
    t = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    up = (t >= start) & (t < ramp_end)
    out[up] = 0.5 * (1.0 - np.cos(np.pi * (t[up] - start) / (ramp_end - start)))
    out[(t >= ramp_end) & (t <= fall_start)] = 1.0
    down = (t > fall_start) & (t <= end)
    out[down] = 0.5 * (1.0 + np.cos(np.pi * (t[down] - fall_start) / (end - fall_start)))
    return out


@dataclass
class Lobe:
    """One wave component: integer times relative to the beat template start, dipole (3,)."""
    kind: str          # "p", "qrs", "st" or "t"
    onset: int
    peak: int
    offset: int
    vector: np.ndarray
    power: float = 1.0
    ramp: int = 1      # "st" lobes only: samples from onset to the plateau


@dataclass
class BeatTemplate:
    """A beat laid out on its own axis: ``signal`` (8, length) independent leads in mV."""
    signal: np.ndarray
    qrs_on: int                        # template index of the global QRS onset
    offsets: dict = field(default_factory=dict)   # fiducial -> (12,) int offset from qrs_on, or -1
    present: dict = field(default_factory=dict)   # fiducial -> (12,) bool
    glob: dict = field(default_factory=dict)      # fiducial -> int offset from qrs_on, or None


def lobe_shapes(lobes: list[Lobe], length: int) -> np.ndarray:
    """Time courses ``(n_lobes, length)`` of the lobes (``st`` lobes use :func:`plateau`)."""
    shapes = np.empty((len(lobes), length))
    for k, lb in enumerate(lobes):
        if lb.kind == "st":
            ramp_end = min(lb.onset + max(1, lb.ramp), lb.peak)
            shapes[k] = plateau(length, lb.onset, ramp_end, lb.peak, lb.offset)
        else:
            shapes[k] = lobe(int(length), int(lb.onset), int(lb.peak), int(lb.offset),
                             float(lb.power))
    return shapes


# Smallest per-lead projection (mV) for a wave to count as present in a lead.
P_MIN_MV = 0.03
QRS_MIN_MV = 0.05
T_MIN_MV = 0.05


def build_template(lobes: list[Lobe], length: int, qrs_on: int) -> BeatTemplate:
    """Sum the lobes into an 8-lead template and derive exact per-lead fiducial offsets.

    Per-lead definitions (offsets are relative to the global QRS onset ``qrs_on``):

    * P: onset/peak/offset of the P lobe, present where its projection is >= ``P_MIN_MV``.
    * QRS: among the QRS lobes whose projection on the lead is >= ``QRS_MIN_MV``, ``qrs_on``
      is the earliest onset and ``qrs_off`` the latest offset; ``r_peak`` is the sample of the largest absolute deflection
      of the summed QRS lobes strictly inside that window (the dominant QRS peak: R, or S/QS
      where the complex is negative). Absent where no lobe qualifies.
    * T: ``t_peak`` is the T-lobe peak (present where the T projection is >= ``T_MIN_MV``);
      ``t_off`` is the end of the T lobe, which is also where the ST component returns to zero
      (present where the T or the ST projection is >= ``T_MIN_MV``).
    """
    shapes = lobe_shapes(lobes, length)
    vectors = np.stack([lb.vector for lb in lobes])             # (n_lobes, 3)
    signal = DOWER @ (vectors.T @ shapes)                        # (8, length)
    proj = vectors @ LEAD_MATRIX.T                               # (n_lobes, 12)
    kinds = np.array([lb.kind for lb in lobes])
    onsets = np.array([lb.onset for lb in lobes])
    peaks = np.array([lb.peak for lb in lobes])
    offsets_ = np.array([lb.offset for lb in lobes])
    tpl = BeatTemplate(signal=signal, qrs_on=qrs_on)
    none = np.full(12, -1, dtype=np.int64)

    p_idx = np.flatnonzero(kinds == "p")
    if p_idx.size:
        k = p_idx[0]
        pres = np.abs(proj[k]) >= P_MIN_MV
        for name, val in (("p_on", onsets[k]), ("p_peak", peaks[k]), ("p_off", offsets_[k])):
            tpl.offsets[name] = np.where(pres, val - qrs_on, -1)
            tpl.present[name] = pres
            tpl.glob[name] = int(val - qrs_on)
    else:
        for name in ("p_on", "p_peak", "p_off"):
            tpl.offsets[name], tpl.present[name], tpl.glob[name] = none.copy(), none >= 0, None

    q_idx = np.flatnonzero(kinds == "qrs")
    qproj = np.abs(proj[q_idx])                                  # (n_qrs, 12)
    sig = qproj >= QRS_MIN_MV
    lead_on = np.where(sig, onsets[q_idx][:, None], np.iinfo(np.int64).max).min(axis=0)
    lead_off = np.where(sig, offsets_[q_idx][:, None], -1).max(axis=0)
    pres = sig.any(axis=0)
    qrs_12 = proj[q_idx].T @ shapes[q_idx]                       # (12, length)
    r_peak = np.full(12, -1, dtype=np.int64)
    for lead in np.flatnonzero(pres):
        seg = np.abs(qrs_12[lead, lead_on[lead] + 1:lead_off[lead]])
        r_peak[lead] = lead_on[lead] + 1 + int(np.argmax(seg))
    tpl.offsets["qrs_on"] = np.where(pres, lead_on - qrs_on, -1)
    tpl.offsets["qrs_off"] = np.where(pres, lead_off - qrs_on, -1)
    tpl.offsets["r_peak"] = np.where(pres, r_peak - qrs_on, -1)
    for name in ("qrs_on", "r_peak", "qrs_off"):
        tpl.present[name] = pres
    main = q_idx[int(np.argmax([np.linalg.norm(lobes[k].vector) for k in q_idx]))]
    tpl.glob["qrs_on"] = int(onsets[q_idx].min() - qrs_on)
    tpl.glob["r_peak"] = int(peaks[main] - qrs_on)
    tpl.glob["qrs_off"] = int(offsets_[q_idx].max() - qrs_on)

    t_k = np.flatnonzero(kinds == "t")[0]
    st_idx = np.flatnonzero(kinds == "st")
    st_amp = np.abs(proj[st_idx]).max(axis=0) if st_idx.size else np.zeros(12)
    t_pres = np.abs(proj[t_k]) >= T_MIN_MV
    off_pres = t_pres | (st_amp >= T_MIN_MV)
    tpl.offsets["t_peak"] = np.where(t_pres, peaks[t_k] - qrs_on, -1)
    tpl.offsets["t_off"] = np.where(off_pres, offsets_[t_k] - qrs_on, -1)
    tpl.present["t_peak"], tpl.present["t_off"] = t_pres, off_pres
    tpl.glob["t_peak"] = int(peaks[t_k] - qrs_on)
    tpl.glob["t_off"] = int(offsets_[t_k] - qrs_on)
    return tpl


def qrs_lead_signal(lobes: list[Lobe], length: int) -> np.ndarray:
    """Summed QRS lobes projected on LEADS_12, ``(12, length)`` (amplitude bookkeeping)."""
    q = [lb for lb in lobes if lb.kind == "qrs"]
    shapes = lobe_shapes(q, length)
    return (np.stack([lb.vector for lb in q]) @ LEAD_MATRIX.T).T @ shapes


def baseline_wander(rng: np.random.Generator, n: int, fs: float, n_leads: int = 8,
                    amplitude: float = 0.2) -> np.ndarray:
    """Sum of 2-4 sinusoids below 0.5 Hz per lead, total amplitude about ``amplitude`` mV."""
    k = int(rng.integers(2, 5))
    freqs = rng.uniform(0.05, 0.5, size=k)
    phases = rng.uniform(0, 2 * np.pi, size=(n_leads, k))
    amps = rng.uniform(0.3, 1.0, size=(n_leads, k))
    amps *= amplitude / amps.sum(axis=1, keepdims=True)
    # sin(wt + phi) = sin(wt) cos(phi) + cos(wt) sin(phi): two small matrix products.
    arg = (2 * np.pi / fs) * freqs[:, None] * np.arange(n)
    return (amps * np.cos(phases)) @ np.sin(arg) + (amps * np.sin(phases)) @ np.cos(arg)


def muscle_noise(rng: np.random.Generator, n: int, fs: float, n_leads: int,
                 amplitude: float) -> np.ndarray:
    """Broadband (differenced white) noise in slow bursts, about ``amplitude`` mV RMS at peak."""
    white = rng.standard_normal((n_leads, n + 1), dtype=np.float32)
    hp = np.diff(white, axis=1) / np.sqrt(2.0)
    t = np.arange(n) / fs
    envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6.3)))
    return amplitude * hp * envelope ** 2


def fibrillatory_waves(rng: np.random.Generator, n: int, fs: float,
                       amplitude: float) -> np.ndarray:
    """AF f-waves: 3 sinusoids of 4-8 Hz with slowly varying amplitude, ``(n,)`` peak ~amplitude."""
    t = np.arange(n) / fs
    freqs = rng.uniform(4.0, 8.0, size=3)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    mod = 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5, size=3)[:, None] * t
                           + rng.uniform(0, 6.3, size=3)[:, None])
    wave = (mod * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    return amplitude * wave / 3.0
