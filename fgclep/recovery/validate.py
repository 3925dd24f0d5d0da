"""Validation of proposed features against an ECG's own measurements.

Each proposed feature is ``confirmed`` (its predicate is True on the measurements), ``refuted``
(False: a hallucination, dropped from the enhanced report) or ``unverifiable`` (no predicate, or
an input was NaN). Measurements come from fgclep (``ecg_measure`` / ``extract-features``), from
MIMIC-IV-ECG's machine measurements (:func:`machine_row`), or from both: with ``both`` a feature
is confirmed when one source confirms and none refutes, refuted when one refutes and none
confirms, and unverifiable when the sources disagree or neither can tell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from fgclep.recovery.vocabulary import Row, get_feature, value

MEASUREMENT_MODES: tuple[str, ...] = ("fgclep", "machine", "both")
MIMIC_MISSING = 29999.0


@dataclass(frozen=True)
class Validation:
    """Outcome for one record; each tuple keeps the proposal order."""

    confirmed: tuple[str, ...]
    refuted: tuple[str, ...]
    unverifiable: tuple[str, ...]


def machine_row(mm: Mapping[str, object]) -> dict[str, float]:
    """Measurements row from one MIMIC-IV-ECG ``machine_measurements.csv`` row.

    ``rr_interval, p_onset, p_end, qrs_onset, qrs_end, t_end`` (ms, fiducials relative to the
    record's reference beat) and ``p_axis, qrs_axis, t_axis`` (degrees) become heart_rate,
    rr_mean, pr_interval, p_duration, qrs_duration, qt_interval, qtc_bazett,
    qtc_fridericia and the axes. 29999 (MIMIC's missing sentinel), blanks and non-positive
    intervals are NaN.

    Examples
    --------
    >>> r = machine_row({"rr_interval": 1000, "p_onset": 40, "qrs_onset": 240, "qrs_end": 330,
    ...                  "t_end": 700, "qrs_axis": -45, "p_end": 29999})
    >>> r["heart_rate"], r["pr_interval"], r["qrs_duration"], r["qtc_bazett"], r["p_duration"]
    (60.0, 200.0, 90.0, 460.0, nan)
    """
    def get(key: str) -> float:
        v = value(mm, key)
        return math.nan if v == MIMIC_MISSING or abs(v) >= MIMIC_MISSING else v

    def interval(a: float, b: float) -> float:
        d = b - a
        return d if d > 0 else math.nan

    rr = get("rr_interval")
    rr = rr if rr > 0 else math.nan
    p_on, p_end, q_on, q_end, t_end = (get(k) for k in
                                       ("p_onset", "p_end", "qrs_onset", "qrs_end", "t_end"))
    qt = interval(q_on, t_end)
    rr_s = rr / 1000.0
    return {"heart_rate": 60000.0 / rr, "rr_mean": rr, "pr_interval": interval(p_on, q_on),
            "p_duration": interval(p_on, p_end), "qrs_duration": interval(q_on, q_end),
            "qt_interval": qt, "qtc_bazett": qt / math.sqrt(rr_s),
            "qtc_fridericia": qt / rr_s ** (1.0 / 3.0), "p_axis": get("p_axis"),
            "qrs_axis": get("qrs_axis"), "t_axis": get("t_axis")}


def evaluate_feature(feature_id: str, row: Optional[Row] = None,
                     machine: Optional[Row] = None, mode: str = "fgclep") -> Optional[bool]:
    """True / False / None for one feature under a measurement mode (see module docstring)."""
    if mode not in MEASUREMENT_MODES:
        raise ValueError(f"evaluate_feature: mode must be one of {MEASUREMENT_MODES}, "
                         f"got {mode!r}")
    feat = get_feature(feature_id)
    ours = feat.evaluate(row) if row is not None and mode != "machine" else None
    theirs = feat.evaluate(machine) if machine is not None and mode != "fgclep" else None
    if mode == "fgclep":
        return ours
    if mode == "machine":
        return theirs
    votes = {v for v in (ours, theirs) if v is not None}
    return votes.pop() if len(votes) == 1 else None


def validate_features(features: Sequence[str], row: Optional[Row] = None,
                      machine: Optional[Row] = None, mode: str = "fgclep") -> Validation:
    """Split proposed features into confirmed / refuted / unverifiable.

    Examples
    --------
    >>> v = validate_features(["hr_low", "pr_prolonged", "delta_wave"],
    ...                       {"heart_rate": 52.0, "pr_interval": 160.0})
    >>> v.confirmed, v.refuted, v.unverifiable
    (('hr_low',), ('pr_prolonged',), ('delta_wave',))
    """
    out: dict[Optional[bool], list[str]] = {True: [], False: [], None: []}
    for fid in dict.fromkeys(features):
        out[evaluate_feature(fid, row, machine, mode)].append(fid)
    return Validation(tuple(out[True]), tuple(out[False]), tuple(out[None]))
