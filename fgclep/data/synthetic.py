"""SYNTHETIC 12-lead ECG corpus with exact ground truth (fgclep's embedded default data).

Every record is synthetic: built from explicit P, QRS and T waves of a 3-D cardiac dipole
projected onto the 12 leads; nothing here comes from a patient. Record ids start with
``"synthetic-"``.

Model
-----
Each wave component is a lobe with integer onset, peak and offset (samples) and a dipole vector
(Frank axes). Lobes are asymmetric raised cosines, exactly zero outside ``[onset, offset]``. The
beat's dipole is projected with Dower's matrix (Dower et al., Clin. Cardiol. 1980) onto leads I,
II and V1-V6; noise is added to those 8 leads and III, aVR, aVL, aVF are derived from the noisy
I and II in float32 (``III = II - I``, ``aVR = -(I + II)/2``, ``aVL = I - II/2``,
``aVF = II - I/2``), so Einthoven's and Goldberger's identities hold to float32 rounding.
A normal beat has a septal q, a main R and a late S lobe (V1 rS, V5/V6 qR), one P lobe and one
asymmetric T lobe; an ST component (ramp from the J point to a plateau within 40 ms, plateau up
to the T peak, back to zero at the T end) carries ST elevation/depression. In sinus rhythm the
RR intervals vary slightly (respiratory modulation); in atrial fibrillation they are irregularly
irregular, P waves are absent and small 4-8 Hz f-waves run through the record.

Ground truth
------------
``fiducials[i][name]`` is int64 ``(12, n_beats)`` for every name in :data:`fgclep.leads.FIDUCIALS`
(``p_on, p_peak, p_off, qrs_on, r_peak, qrs_off, t_peak, t_off``), ``-1`` where absent. Only
beats whose whole extent (P onset, or QRS onset without P, to T offset) lies inside the record
are listed; beats cut by the record edges are drawn but not listed. Per lead:

* P on/peak/off: the P lobe's onset/peak/offset; absent in AF and where the P projection on the
  lead is below 0.03 mV.
* QRS on/off: earliest onset and latest offset of the QRS lobes whose projection on the lead is at
  least 0.05 mV (so a lead where the septal q or the late S projects to almost nothing starts or
  ends with the next lobe); R peak: largest *absolute* deflection
  of the lead's noiseless QRS inside that window (R, or S/QS where the complex is negative).
* T peak: the T lobe's peak (absent below 0.05 mV); T off: the end of the T lobe and of the ST
  component (absent where both are below 0.05 mV).

``params[i]["global_fiducials"]`` gives the record-level (lead-independent) version, int64
``(n_beats,)``: P lobe times, the earliest QRS lobe onset, the main R lobe's peak, the latest QRS
lobe offset, the T lobe's peak and end. Intervals in ``params`` are those global fiducials in ms
(``pr_interval`` = P onset to QRS onset, ``qt_interval`` = QRS onset to T end); ``heart_rate`` is
``60000 / mean(rr)`` over the listed beats; ``qtc`` is Bazett's; ``qrs_axis`` is the frontal
axis of the net QRS areas in leads I and aVF of the noiseless signal; ``st_shift`` (12,) is the
ST plateau per lead in mV; ``sokolow_lyon`` is S(V1) + max(R(V5), R(V6)) of the noiseless QRS.

Examples
--------
>>> from fgclep.data import synthetic
>>> corpus = synthetic.generate(4, seed=0)
>>> corpus.signals.shape, corpus.signals.dtype
((4, 12, 5000), dtype('float32'))
>>> corpus.record_ids[0]
'synthetic-0-000000'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fgclep.data import _synthetic_record as R
from fgclep.data import _synthetic_waves as W
from fgclep.leads import FIDUCIALS, LEADS_12

ABNORMALITIES: tuple[str, ...] = (
    "sinus_bradycardia", "sinus_tachycardia", "av_block_1", "bundle_branch_block",
    "left_axis_deviation", "right_axis_deviation", "long_qt", "st_elevation", "st_depression",
    "t_inversion", "atrial_fibrillation", "low_voltage", "lvh",
)
NORMAL = "normal"

# Pairs that cannot be in one record (physiology or label clarity: ST-T changes in bundle-branch
# block are secondary and get no separate primary label).
INCOMPATIBLE: frozenset = frozenset(frozenset(p) for p in (
    ("sinus_bradycardia", "sinus_tachycardia"), ("left_axis_deviation", "right_axis_deviation"),
    ("atrial_fibrillation", "av_block_1"), ("atrial_fibrillation", "sinus_bradycardia"),
    ("atrial_fibrillation", "sinus_tachycardia"), ("low_voltage", "lvh"),
    ("st_elevation", "st_depression"), ("bundle_branch_block", "st_elevation"),
    ("bundle_branch_block", "st_depression"), ("bundle_branch_block", "t_inversion"),
    ("long_qt", "sinus_tachycardia"), ("av_block_1", "sinus_tachycardia"),
    ("lvh", "right_axis_deviation"),
))

_MAX_ATTEMPTS = 200

# Machine-style statements (diagnoses only: no measurements, no numbers). "{t}" is the territory.
_PHRASES: dict[str, tuple[str, ...]] = {
    "av_block_1": ("First degree AV block", "First-degree atrioventricular block",
                   "AV block, first degree"),
    "bundle_branch_block": ("Left bundle branch block", "Complete left bundle branch block",
                            "LBBB"),
    "left_axis_deviation": ("Left axis deviation", "Leftward axis"),
    "right_axis_deviation": ("Right axis deviation", "Rightward axis"),
    "lvh": ("Left ventricular hypertrophy", "Consider left ventricular hypertrophy", "LVH"),
    "low_voltage": ("Low voltage", "Generalized low voltage",
                    "Low voltage, consider pericardial effusion or normal variant"),
    "st_elevation": ("Acute {t} myocardial infarction", "{T} injury pattern",
                     "Acute {t} infarct"),
    "st_depression": ("{T} subendocardial ischemia", "Consider {t} subendocardial injury"),
    "t_inversion": ("Consider {t} ischemia", "Possible {t} ischemia", "{T} ischemia"),
    "long_qt": ("Long QT syndrome pattern", "Consider long QT syndrome"),
}
_ORDER = ("av_block_1", "bundle_branch_block", "left_axis_deviation", "right_axis_deviation",
          "lvh", "low_voltage", "st_elevation", "st_depression", "t_inversion", "long_qt")


@dataclass
class SyntheticCorpus:
    """A SYNTHETIC corpus; see the module docstring for every field's definition.

    Attributes
    ----------
    signals : np.ndarray
        float32 ``(n_records, 12, n_samples)`` in mV, leads in ``lead_names`` order.
    sampling_rate : int
    lead_names : tuple of str
        :data:`fgclep.leads.LEADS_12`.
    fiducials : list of dict
        Per record, fiducial name -> int64 ``(12, n_beats)``, ``-1`` where absent.
    labels : list of list of str
        Abnormality names in :data:`ABNORMALITIES` order, or ``["normal"]``.
    reports : list of str
        Machine-style statements naming the diagnoses (never waveform features or numbers).
    params : list of dict
        True parameters per record.
    record_ids : list of str
        ``"synthetic-{seed}-{index:06d}"``.
    """
    signals: np.ndarray
    sampling_rate: int
    lead_names: tuple
    fiducials: list
    labels: list
    reports: list
    params: list
    record_ids: list

    def __len__(self) -> int:
        return len(self.record_ids)


def compatible(labels: Sequence[str]) -> bool:
    """Whether a set of abnormality names can occur together in one synthetic record."""
    names = list(labels)
    return not any(frozenset((a, b)) in INCOMPATIBLE
                   for k, a in enumerate(names) for b in names[k + 1:])


def _check_labels(labels, where: str) -> list[str]:
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
        raise TypeError(f"generate: {where} must be a list of abnormality names, got {labels!r}")
    names = [x for x in labels if x != NORMAL]
    for name in names:
        if name not in ABNORMALITIES:
            raise ValueError(f"generate: unknown abnormality {name!r} in {where}; "
                             f"choose from {ABNORMALITIES} or {NORMAL!r}")
    for k, a in enumerate(names):
        for b in names[k + 1:]:
            if frozenset((a, b)) in INCOMPATIBLE:
                raise ValueError(f"generate: {a!r} and {b!r} cannot be combined ({where})")
    return [a for a in ABNORMALITIES if a in names]


def _random_labels(rng: np.random.Generator) -> list[str]:
    """About 30 % normal, 50 % one abnormality, 20 % two compatible ones."""
    u = rng.random()
    if u < 0.3:
        return []
    first = str(rng.choice(ABNORMALITIES))
    if u < 0.8:
        return [first]
    others = [a for a in ABNORMALITIES if a != first and compatible((first, a))]
    second = str(rng.choice(others))
    return [a for a in ABNORMALITIES if a in (first, second)]


def _report(rng: np.random.Generator, labels: list[str], params: dict) -> str:
    pick = lambda options: str(options[int(rng.integers(len(options)))])  # noqa: E731
    if "atrial_fibrillation" in labels:
        parts = [pick(("Atrial fibrillation",
                       "Atrial fibrillation with controlled ventricular response"))]
    elif "sinus_bradycardia" in labels:
        parts = ["Sinus bradycardia"]
    elif "sinus_tachycardia" in labels:
        parts = ["Sinus tachycardia"]
    else:
        parts = [pick(("Sinus rhythm", "Normal sinus rhythm"))]
    for name in _ORDER:
        if name in labels:
            terr = params["t_inversion_territory" if name == "t_inversion" else "st_territory"]
            text = pick(_PHRASES[name])
            if terr is not None:
                text = text.format(t=terr, T=terr.capitalize())
            parts.append(text)
    parts.append("Abnormal ECG" if labels else pick(("Normal ECG", "Within normal limits")))
    return ". ".join(parts) + "."


def _record(seed: int, index: int, labels: list[str] | None, fs: int, n: int, noise: bool):
    rng = np.random.default_rng([seed, index, 0])
    if labels is None:
        labels = _random_labels(rng)
    for _ in range(_MAX_ATTEMPTS):
        drawn = R.draw_record(rng, set(labels), float(fs), n)
        if drawn is not None:
            break
    else:  # pragma: no cover - the ranges leave ample room; reaching this is a generator bug
        raise RuntimeError(f"generate: could not draw record {index} with {labels} "
                           f"at {fs} Hz, {n} samples")
    clean, tpl, qrs_on, params = drawn
    if noise:
        signal8, params["noise"] = R.add_noise(np.random.default_rng([seed, index, 1]), clean, fs)
    else:
        signal8, params["noise"] = clean, None
    signal = W.derive_12(signal8.astype(np.float32))
    fid = {}
    for name in FIDUCIALS:
        off = tpl.offsets[name][:, None]
        fid[name] = np.where(tpl.present[name][:, None], qrs_on[None, :] + off,
                             -1).astype(np.int64)
    params["global_fiducials"] = {
        name: (np.full(qrs_on.size, -1, dtype=np.int64) if tpl.glob[name] is None
               else (qrs_on + tpl.glob[name]).astype(np.int64)) for name in FIDUCIALS}
    params["n_beats"] = int(qrs_on.size)
    report = _report(rng, labels, params)
    return signal, fid, labels or [NORMAL], report, params


def generate(n_records: int, seed: int = 0, abnormalities=None, sampling_rate: int = 500,
             duration: float = 10.0, noise: bool = True) -> SyntheticCorpus:
    """Generate a SYNTHETIC 12-lead ECG corpus with exact fiducials, labels and reports.

    Parameters
    ----------
    n_records : int
        Number of records (>= 0).
    seed : int
        Non-negative seed. Record ``i`` depends only on ``(seed, i, its abnormalities, rate,
        duration)``, not on ``n_records``; ``noise`` only adds noise (the clean part is the same).
    abnormalities : None, list of str, or list of lists of str
        ``None``: a random mix per record (~30 % normal, the rest one or two compatible
        abnormalities). A list of names (from :data:`ABNORMALITIES`; ``[]`` or ``["normal"]``
        for normal): every record gets exactly those. A list of ``n_records`` lists: one per
        record. Incompatible pairs (:data:`INCOMPATIBLE`) raise ValueError.
    sampling_rate : int
        Samples per second, 100-2000.
    duration : float
        Seconds per record, 2-60.
    noise : bool
        Add Gaussian noise (8-20 uV), baseline wander (< 0.5 Hz, 0.05-0.3 mV) and, in some
        records, powerline and muscle noise. ``False`` gives the noiseless signals (AF f-waves
        are part of the rhythm and stay).

    Returns
    -------
    SyntheticCorpus

    Examples
    --------
    >>> c = generate(2, seed=1, abnormalities=["atrial_fibrillation"], noise=False)
    >>> c.labels, bool((c.fiducials[0]["p_on"] == -1).all())
    ([['atrial_fibrillation'], ['atrial_fibrillation']], True)
    """
    if isinstance(n_records, bool) or not isinstance(n_records, (int, np.integer)) \
            or n_records < 0:
        raise ValueError(f"generate: n_records must be an int >= 0, got {n_records!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"generate: seed must be an int >= 0, got {seed!r}")
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)) \
            or not 100 <= sampling_rate <= 2000:
        raise ValueError(f"generate: sampling_rate must be an int in [100, 2000], "
                         f"got {sampling_rate!r}")
    if not isinstance(duration, (int, float)) or not 2.0 <= float(duration) <= 60.0:
        raise ValueError(f"generate: duration must be in [2, 60] seconds, got {duration!r}")
    if abnormalities is None:
        per_record = [None] * n_records
    elif isinstance(abnormalities, (list, tuple)) and abnormalities \
            and all(isinstance(x, (list, tuple)) for x in abnormalities):
        if len(abnormalities) != n_records:
            raise ValueError(f"generate: abnormalities has {len(abnormalities)} per-record lists "
                             f"but n_records is {n_records}")
        per_record = [_check_labels(x, f"abnormalities[{i}]") for i, x in enumerate(abnormalities)]
    else:
        forced = _check_labels(abnormalities, "abnormalities")
        per_record = [forced] * n_records
    n = int(round(float(duration) * sampling_rate))
    signals = np.empty((n_records, 12, n), dtype=np.float32)
    fids, labels, reports, params, ids = [], [], [], [], []
    for i in range(n_records):
        sig, fid, lab, rep, par = _record(int(seed), i, per_record[i], int(sampling_rate), n,
                                          bool(noise))
        signals[i] = sig
        fids.append(fid)
        labels.append(list(lab))
        reports.append(rep)
        params.append(par)
        ids.append(f"synthetic-{int(seed)}-{i:06d}")
    return SyntheticCorpus(signals=signals, sampling_rate=int(sampling_rate),
                           lead_names=LEADS_12, fiducials=fids, labels=labels, reports=reports,
                           params=params, record_ids=ids)
