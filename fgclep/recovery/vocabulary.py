"""Closed vocabulary of waveform features with measurable predicates.

Each :class:`Feature` has an ID, a short clinical phrase for the enhanced report, and a predicate
over one measurements row (a mapping keyed by :func:`fgclep.leads.measurement_columns`, units ms,
bpm, degrees, mV). Predicates are three-valued: ``True`` (the measurements show the feature),
``False`` (they contradict it) or ``None`` (an input is NaN or missing, or the value falls in a
band where the standard criterion depends on unknown demographics). Features with no reliable
predicate on our measurements have ``predicate=None`` and are never verifiable.

Thresholds come from standard criteria:

* AHA/ACCF/HRS 2009 Recommendations for the Standardization and Interpretation of the ECG
  (Part III conduction: Surawicz et al.; Part IV ST/T/QT: Rautaharju et al.; Part V
  hypertrophy: Hancock et al.) — rate, PR, QRS, axis, fascicular blocks, QTc, voltage, atria.
* Fourth Universal Definition of Myocardial Infarction (Thygesen et al. 2018) — ST elevation
  and depression in two contiguous leads, pathological Q waves.
* Sokolow & Lyon 1949 (S V1 + R V5/V6 > 3.5 mV); Casale et al. 1985 Cornell voltage
  (R aVL + S V3 > 2.8 mV men, > 2.0 mV women).

Choices we made, documented here once: ST is measured at J + 60 ms (fgclep's ``st_<lead>``), not
at the J point as the 2018 definition says; ST slope (horizontal/downsloping) is not measured.
"Contiguous" leads are leads of the same territory (inferior II/III/aVF, lateral I/aVL/V5/V6,
anterior V3/V4, septal V1/V2), so a territory feature needs at least two of its leads. When sex
(``sex`` = "M"/"F") or ``age`` are absent, a sex-dependent criterion is True only above the
highest and False only below the lowest threshold; in between the feature is unverifiable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

Row = Mapping[str, object]
Predicate = Callable[[Row], Optional[bool]]

TERRITORIES: dict[str, tuple[str, ...]] = {
    "inferior": ("ii", "iii", "avf"),
    "lateral": ("i", "avl", "v5", "v6"),
    "anterior": ("v3", "v4"),
    "septal": ("v1", "v2"),
}
_AHA = "AHA/ACCF/HRS 2009 ECG recommendations"
_UDMI = "Fourth Universal Definition of MI 2018"


@dataclass(frozen=True)
class Feature:
    """One waveform feature of the closed vocabulary."""

    id: str
    phrase: str
    criterion: str
    source: str
    predicate: Optional[Predicate] = None

    @property
    def verifiable(self) -> bool:
        """Whether the feature has a measurable predicate."""
        return self.predicate is not None

    def evaluate(self, row: Row) -> Optional[bool]:
        """True / False / None (unverifiable) for one measurements row."""
        if self.predicate is None:
            return None
        return self.predicate(row)


# ---------------------------------------------------------------------------- row access
def value(row: Row, key: str) -> float:
    """``row[key]`` as float; NaN when missing, None, non-numeric or non-finite."""
    try:
        v = row[key]
    except (KeyError, IndexError, TypeError):
        return math.nan
    if v is None or isinstance(v, str) and not v.strip():
        return math.nan
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def sex(row: Row) -> Optional[str]:
    """"M", "F" or None from a ``sex`` entry ("M"/"male"/"F"/"female", any case)."""
    try:
        s = row["sex"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(s, str):
        return None
    s = s.strip().lower()
    if s in ("m", "male", "man"):
        return "M"
    if s in ("f", "female", "woman"):
        return "F"
    return None


def _cmp(x: float, op: str, thr: float) -> Optional[bool]:
    if math.isnan(x):
        return None
    return {"<": x < thr, "<=": x <= thr, ">": x > thr, ">=": x >= thr}[op]


def _banded(x: float, true_above: float, false_below: float) -> Optional[bool]:
    """True when x >= true_above, False when x < false_below, None in between or NaN."""
    if math.isnan(x):
        return None
    if x >= true_above:
        return True
    if x < false_below:
        return False
    return None


def _any_of(values: list[Optional[bool]]) -> Optional[bool]:
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def _at_least(states: list[Optional[bool]], k: int) -> Optional[bool]:
    pos = sum(s is True for s in states)
    unknown = sum(s is None for s in states)
    if pos >= k:
        return True
    if pos + unknown < k:
        return False
    return None


# ---------------------------------------------------------------------------- predicates
def _threshold(key: str, op: str, thr: float) -> Predicate:
    return lambda row: _cmp(value(row, key), op, thr)


def _between(key: str, lo: float, hi: float, hi_inclusive: bool = True) -> Predicate:
    def pred(row: Row) -> Optional[bool]:
        x = value(row, key)
        if math.isnan(x):
            return None
        return lo <= x <= hi if hi_inclusive else lo <= x < hi
    return pred


def _qtc_prolonged(row: Row) -> Optional[bool]:
    thr = {"M": (450.0, 450.0), "F": (460.0, 460.0)}.get(sex(row) or "", (460.0, 450.0))
    return _banded(value(row, "qtc_bazett"), *thr)


def _qtc_normal(row: Row) -> Optional[bool]:
    x = value(row, "qtc_bazett")
    prolonged = _qtc_prolonged(row)
    if math.isnan(x) or prolonged is None:
        return None
    return x > 390.0 and not prolonged


def _cornell(row: Row) -> Optional[bool]:
    thr = {"M": (2.8, 2.8), "F": (2.0, 2.0)}.get(sex(row) or "", (2.8, 2.0))
    x = value(row, "cornell_voltage")
    if math.isnan(x):
        return None
    # "> threshold": shift by an ulp-free epsilon so equality is not hypertrophy.
    return _banded(x, thr[0] + 1e-9, thr[1] + 1e-9)


def _rr_cv(row: Row) -> float:
    mean, std = value(row, "rr_mean"), value(row, "rr_std")
    return std / mean if mean > 0 else math.nan


def _p_state(row: Row, absent: bool) -> Optional[bool]:
    frac = value(row, "p_wave_fraction")
    if math.isnan(frac):
        return None
    if frac < 0.5:
        return absent
    if frac >= 0.8:
        return not absent
    return None


def _st_elev_lead(row: Row, lead: str) -> Optional[bool]:
    """ST elevation in one lead, 2018 UDMI thresholds (V2-V3 sex/age specific)."""
    x = value(row, f"st_{lead}")
    if math.isnan(x):
        return None
    if lead not in ("v2", "v3"):
        return x >= 0.1
    s, age = sex(row), value(row, "age")
    if s == "F":
        thr = [0.15]
    elif s == "M" and not math.isnan(age):
        thr = [0.2 if age >= 40 else 0.25]
    elif s == "M":
        thr = [0.2, 0.25]
    else:
        thr = [0.15, 0.2, 0.25]
    if x >= max(thr):
        return True
    if x < min(thr):
        return False
    return None


def _q_lead(row: Row, lead: str) -> Optional[bool]:
    """Pathological Q (2018 UDMI): V1-V3 Q > 20 ms; others Q >= 30 ms and >= 0.1 mV deep."""
    dur, depth = value(row, f"q_dur_{lead}"), value(row, f"q_depth_{lead}")
    if lead in ("v1", "v2", "v3"):
        return _cmp(dur, ">", 20.0)
    if math.isnan(dur) or math.isnan(depth):
        return None
    return dur >= 30.0 and depth >= 0.1


_LEAD_TESTS: dict[str, Callable[[Row, str], Optional[bool]]] = {
    "st_elevation": _st_elev_lead,
    "st_depression": lambda row, lead: _cmp(value(row, f"st_{lead}"), "<=", -0.05),
    "t_inversion": lambda row, lead: _cmp(value(row, f"t_amp_{lead}"), "<=", -0.1),
    "t_flat": lambda row, lead: (None if math.isnan(value(row, f"t_amp_{lead}"))
                                 else abs(value(row, f"t_amp_{lead}")) < 0.1),
    "q_pathologic": _q_lead,
}


def _territory(kind: str, territory: str) -> Predicate:
    test, leads = _LEAD_TESTS[kind], TERRITORIES[territory]
    return lambda row: _at_least([test(row, lead) for lead in leads], 2)


def _any_territory(kind: str) -> Predicate:
    preds = [_territory(kind, t) for t in TERRITORIES]
    return lambda row: _any_of([p(row) for p in preds])


def _q_absent_lateral(row: Row) -> Optional[bool]:
    depths = [value(row, f"q_depth_{lead}") for lead in ("i", "v5", "v6")]
    if any(d >= 0.05 for d in depths if not math.isnan(d)):
        return False
    if any(math.isnan(d) for d in depths):
        return None
    return True


# ---------------------------------------------------------------------------- the vocabulary
def _build() -> dict[str, Feature]:
    feats: list[Feature] = [
        Feature("hr_low", "heart rate below 60 bpm", "heart_rate < 60 bpm", _AHA + " (bradycardia)",
                _threshold("heart_rate", "<", 60.0)),
        Feature("hr_high", "heart rate above 100 bpm", "heart_rate > 100 bpm",
                _AHA + " (tachycardia)", _threshold("heart_rate", ">", 100.0)),
        Feature("hr_normal", "heart rate 60-100 bpm", "60 <= heart_rate <= 100 bpm", _AHA,
                _between("heart_rate", 60.0, 100.0)),
        Feature("rr_irregular", "irregular RR intervals", "rr_std / rr_mean > 0.10",
                "convention: irregularly irregular rhythm (no guideline threshold)",
                lambda row: _cmp(_rr_cv(row), ">", 0.10)),
        Feature("rr_regular", "regular RR intervals", "rr_std / rr_mean < 0.05",
                "convention (no guideline threshold)", lambda row: _cmp(_rr_cv(row), "<", 0.05)),
        Feature("p_absent", "P waves absent", "p_wave_fraction < 0.5 (False when >= 0.8)",
                _AHA + " Part II (AF: no P waves)", lambda row: _p_state(row, True)),
        Feature("p_present", "P waves present", "p_wave_fraction >= 0.8 (False when < 0.5)",
                _AHA + " Part II (sinus rhythm)", lambda row: _p_state(row, False)),
        Feature("pr_prolonged", "prolonged PR interval", "pr_interval > 200 ms",
                _AHA + " Part III (first-degree AV block)", _threshold("pr_interval", ">", 200.0)),
        Feature("pr_short", "short PR interval", "pr_interval < 120 ms", _AHA + " Part III",
                _threshold("pr_interval", "<", 120.0)),
        Feature("pr_normal", "normal PR interval", "120 <= pr_interval <= 200 ms", _AHA,
                _between("pr_interval", 120.0, 200.0)),
        Feature("qrs_wide", "wide QRS complex", "qrs_duration >= 120 ms",
                _AHA + " Part III (complete BBB)", _threshold("qrs_duration", ">=", 120.0)),
        Feature("qrs_incomplete", "QRS duration 110-119 ms", "110 <= qrs_duration < 120 ms",
                _AHA + " Part III (incomplete BBB, adults)",
                _between("qrs_duration", 110.0, 120.0, hi_inclusive=False)),
        Feature("qrs_normal", "normal QRS duration", "qrs_duration < 110 ms", _AHA + " Part III",
                _threshold("qrs_duration", "<", 110.0)),
        Feature("qtc_prolonged", "prolonged QTc interval",
                "qtc_bazett >= 450 ms (men) / >= 460 ms (women)", _AHA + " Part IV",
                _qtc_prolonged),
        Feature("qtc_short", "short QTc interval", "qtc_bazett <= 390 ms", _AHA + " Part IV",
                _threshold("qtc_bazett", "<=", 390.0)),
        Feature("qtc_normal", "normal QTc interval", "390 < qtc_bazett and not prolonged",
                _AHA + " Part IV", _qtc_normal),
        Feature("axis_left", "left axis deviation", "-90 <= qrs_axis < -30 deg", _AHA + " Part I",
                lambda row: (None if math.isnan(value(row, "qrs_axis"))
                             else -90.0 <= value(row, "qrs_axis") < -30.0)),
        Feature("axis_left_marked", "QRS axis -45 to -90 degrees", "-90 <= qrs_axis <= -45 deg",
                _AHA + " Part III (left anterior fascicular block)",
                _between("qrs_axis", -90.0, -45.0)),
        Feature("axis_right", "right axis deviation", "90 < qrs_axis <= 180 deg",
                _AHA + " Part I (adults)", lambda row: (
                    None if math.isnan(value(row, "qrs_axis"))
                    else 90.0 < value(row, "qrs_axis") <= 180.0)),
        Feature("axis_normal", "normal QRS axis", "-30 <= qrs_axis <= 90 deg", _AHA + " Part I",
                _between("qrs_axis", -30.0, 90.0)),
        Feature("low_voltage", "low QRS voltage",
                "low_voltage flag: all limb leads < 0.5 mV or all precordial < 1.0 mV p-p",
                _AHA + " Part V", _threshold("low_voltage", ">=", 0.5)),
        Feature("lvh_voltage", "LVH voltage criteria (Sokolow-Lyon)", "sokolow_lyon > 3.5 mV",
                "Sokolow & Lyon 1949", _threshold("sokolow_lyon", ">", 3.5)),
        Feature("lvh_cornell", "LVH voltage criteria (Cornell)",
                "cornell_voltage > 2.8 mV (men) / > 2.0 mV (women)", "Casale et al. 1985",
                _cornell),
        Feature("r_tall_v1", "tall R wave in V1", "r_amp_v1 >= 0.7 mV",
                _AHA + " Part V (RVH)", _threshold("r_amp_v1", ">=", 0.7)),
        Feature("r_progression_poor", "poor R-wave progression", "r_amp_v3 <= 0.3 mV",
                "convention: R in V3 <= 3 mm", _threshold("r_amp_v3", "<=", 0.3)),
        Feature("p_wide", "broad P wave", "p_duration > 120 ms",
                _AHA + " Part V (left atrial abnormality)", _threshold("p_duration", ">", 120.0)),
        Feature("p_tall", "tall P wave in II", "p_amp_ii >= 0.25 mV",
                _AHA + " Part V (right atrial abnormality)", _threshold("p_amp_ii", ">=", 0.25)),
        Feature("q_absent_lateral", "absent septal q waves in I, V5, V6",
                "q_depth < 0.05 mV in I, V5 and V6", _AHA + " Part III (LBBB)", _q_absent_lateral),
    ]
    kinds = {
        "st_elevation": ("ST elevation", "st >= 0.1 mV (V2-V3: 0.15 F, 0.2 M>=40, 0.25 M<40)",
                         _UDMI),
        "st_depression": ("ST depression", "st <= -0.05 mV", _UDMI),
        "t_inversion": ("T-wave inversion", "t_amp <= -0.1 mV", _UDMI + " / " + _AHA),
        "t_flat": ("flat T waves", "|t_amp| < 0.1 mV", _AHA + " Part IV"),
        "q_pathologic": ("pathological Q waves",
                         "Q > 20 ms in V1-V3; Q >= 30 ms and >= 0.1 mV deep elsewhere", _UDMI),
    }
    for kind, (phrase, crit, src) in kinds.items():
        feats.append(Feature(kind, phrase, f"{crit} in >= 2 leads of one territory", src,
                             _any_territory(kind)))
        for terr, leads in TERRITORIES.items():
            names = "/".join(lead.upper().replace("AV", "aV") for lead in leads)
            feats.append(Feature(f"{kind}_{terr}", f"{phrase} in {terr} leads",
                                 f"{crit} in >= 2 of {names}", src, _territory(kind, terr)))
    # A stimulus is found only on unfiltered data sampled at >= 250 Hz, so its absence refutes
    # nothing: the feature is confirmed or unverifiable, never False.
    feats.append(Feature("pacing_spikes", "pacemaker spikes",
                         "paced_fraction >= 0.3 (a stimulus before >= 30 % of beats); never False",
                         "pacing-stimulus detector, docs/measurements.md",
                         lambda row: True if value(row, "paced_fraction") >= 0.3 else None))
    unverifiable = [
        ("delta_wave", "delta wave", "pre-excitation slurred upstroke (not measured)"),
        ("rsr_prime_v1", "rSR' pattern in V1", "terminal R' in V1 (not measured)"),
        ("broad_r_lateral", "broad notched R in lateral leads", "R morphology (not measured)"),
        ("wide_s_lateral", "wide S wave in I and V6", "S duration (not measured)"),
        ("fibrillatory_waves", "fibrillatory f waves", "f waves (not measured)"),
        ("flutter_waves", "flutter waves", "F waves (not measured)"),
        ("premature_beats", "premature beats", "beat-level prematurity (not measured)"),
        ("av_dissociation", "AV dissociation", "P-QRS relation per beat (not measured)"),
        ("dropped_qrs", "non-conducted P waves", "P without QRS (not measured)"),
        ("u_wave", "prominent U waves", "U waves (not measured)"),
    ]
    feats.extend(Feature(fid, phrase, crit, "not verifiable on fgclep measurements")
                 for fid, phrase, crit in unverifiable)
    return {f.id: f for f in feats}


VOCABULARY: dict[str, Feature] = _build()
FEATURE_IDS: tuple[str, ...] = tuple(VOCABULARY)


def get_feature(feature_id: str) -> Feature:
    """The :class:`Feature` named ``feature_id``; ValueError for an unknown ID."""
    try:
        return VOCABULARY[feature_id]
    except KeyError:
        raise ValueError(f"get_feature: unknown feature id {feature_id!r}; "
                         f"see fgclep.recovery.vocabulary.FEATURE_IDS") from None


def evaluate(feature_id: str, row: Row) -> Optional[bool]:
    """Evaluate feature ``feature_id`` on a measurements row: True, False or None.

    Examples
    --------
    >>> evaluate("pr_prolonged", {"pr_interval": 230.0})
    True
    >>> evaluate("pr_prolonged", {"pr_interval": float("nan")}) is None
    True
    """
    return get_feature(feature_id).evaluate(row)
