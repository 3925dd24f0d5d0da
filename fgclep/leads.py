"""Standard 12-lead names and order, shared by every module.

fgclep always stores 12-lead signals in the order I, II, III, aVR, aVL, aVF, V1-V6. Readers
reorder by the header's signal names (MIMIC-IV-ECG stores aVF before aVL), matching names
case-insensitively. Column names in tables use the lower-case form (``i``, ``avl``, ``v5``).
"""
from __future__ import annotations

LEADS_12: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                             "V1", "V2", "V3", "V4", "V5", "V6")
LEADS_12_LOWER: tuple[str, ...] = tuple(name.lower() for name in LEADS_12)

# Fiducial point names, per lead and per beat, in temporal order (sample indices, -1 = absent).
FIDUCIALS: tuple[str, ...] = ("p_on", "p_peak", "p_off", "qrs_on", "r_peak", "qrs_off",
                              "t_peak", "t_off")

# Record-level measurements (units: ms, bpm, degrees, mV; NaN = could not be measured).
RECORD_MEASUREMENTS: tuple[str, ...] = (
    "heart_rate",        # bpm, 60000 / rr_mean
    "rr_mean",           # ms
    "rr_std",            # ms
    "rr_irregularity",   # dimensionless, see docs/measurements.md
    "pr_interval",       # ms, global P onset -> global QRS onset
    "p_duration",        # ms
    "qrs_duration",      # ms, global QRS onset -> global QRS offset
    "qt_interval",       # ms, global QRS onset -> global T offset
    "qtc_bazett",        # ms
    "qtc_fridericia",    # ms
    "p_axis",            # degrees, from net areas in leads I and aVF
    "qrs_axis",          # degrees
    "t_axis",            # degrees
    "sokolow_lyon",      # mV, S(V1) + max(R(V5), R(V6))
    "cornell_voltage",   # mV, R(aVL) + S(V3)
    "low_voltage",       # 0/1: all limb-lead QRS peak-to-peak < 0.5 mV or all precordial < 1.0 mV
    "p_wave_fraction",   # share of beats with a detected P wave (0..1)
    "n_beats",           # number of detected beats
    "paced_fraction",    # share of beats preceded by a pacing stimulus (0..1; NaN below 250 Hz)
)

# Per-lead measurements; column name is f"{prefix}_{lead}" with lead in LEADS_12_LOWER.
PER_LEAD_MEASUREMENTS: tuple[str, ...] = (
    "p_amp",    # mV, P peak relative to PR baseline (signed)
    "q_amp",    # mV, Q wave amplitude (<= 0; 0 when no Q)
    "r_amp",    # mV, R wave amplitude (>= 0)
    "s_amp",    # mV, S wave amplitude (<= 0; 0 when no S)
    "t_amp",    # mV, T peak relative to PR baseline (signed)
    "st",       # mV, ST level at J + 60 ms relative to PR baseline (signed)
    "q_dur",    # ms, Q wave duration (0 when no Q)
    "q_depth",  # mV, Q wave depth (>= 0)
)


def measurement_columns() -> list[str]:
    """All measurement column names in the order ``ecg_measure`` tables use."""
    cols = list(RECORD_MEASUREMENTS)
    for prefix in PER_LEAD_MEASUREMENTS:
        cols.extend(f"{prefix}_{lead}" for lead in LEADS_12_LOWER)
    return cols
