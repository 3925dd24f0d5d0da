"""Per-lead, per-beat delineation of P, QRS and T waves (C++ core, NeuroKit2 reference twin).

Method (all windows in seconds, so any sampling rate works; definitions in docs/measurements.md):

- Leads are conditioned (NaN runs interpolated, zero-phase 0.5-40 Hz) and R peaks found with
  :func:`fgclep.signal.ecg_peaks`.
- QRS onset/offset per lead: the outermost strong slopes (``|dx/dt|`` >= 30 % of the beat's
  steepest slope in that lead; a 30 ms lull ends the complex), then the knee of each outer limb by
  the trapezium-area method (the sample maximising ``|x(xm) - x(i)| * |i - xr|`` between the
  outermost strong slope ``xm`` and ``xr`` 80 ms before it (onset) or min(140 ms, RR/4) after it (offset)); a paced
  beat's QRS starts 10 ms after its pacing stimulus (:func:`fgclep.signal.ecg_pacing_spikes`).
  A slow ramp before the onset knee that pushes the way of the QRS's first deflection (a delta
  wave, an aberrant beat's slurred first limb) for >= 10 ms and >= 10 % of the complex's amplitude
  moves the onset to where the ramp leaves the baseline.
- T peak: the largest deviation from the chord across the ST-T window (global QRS offset + 40 ms
  to R + min(0.62 RR, 600 ms)); T end: the mean of the trapezium-area knee of Vazquez-Seisdedos
  et al. (BioMed Eng OnLine 2011, between the steepest descent after the peak and 100 ms later)
  and the point where the descent slows to 15 % of its steepest slope (Laguna et al. 1994); ``-1``
  when the descent never slows down within 200 ms or the record ends inside the T wave's tail.
- P wave: the largest deviation from the chord across the PR window (from the previous T end, at
  most 400 ms before the global QRS onset), reported only when it clears 3x the lead's noise and
  0.01 mV, lasts 40-250 ms, is smooth (amplitude / steepest slope >= 10 ms, which rejects pacing
  spikes) and no other deflection in the window reaches 80 % of it; P on/off are the trapezium
  knees of its limbs. A record-level test then removes every P wave when the P-to-R timing is
  unstable (fewer than half the beats, 70 % when RR is irregular, within 25 ms of the median), so
  atrial fibrillation, flutter and paced rhythms report ``-1`` instead of invented P waves, and
  removes single P waves more than 40 ms off the record's PR.
- Global fiducials per beat: onsets = earliest value on which 3 leads agree (within 10 ms for
  QRS, 20 ms for P/T), offsets = latest such value, peaks = median over leads; the global R peak
  is the detector's.
- Cross-lead holds: a lead's QRS limits stay within 20 ms, its T peak/end within 40 ms, of the
  leads' median; then every lead's QRS on/off, T end and P on/off are held inside the beat's global
  wave (no lead sees activation or repolarisation start before, or end after, it does).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fgclep.leads import FIDUCIALS, LEADS_12
from fgclep.signal._validate import check_backend
from fgclep.signal.peaks import record_rows

__all__ = ["Delineation", "ecg_delineate", "resolve_lead_names"]

DELINEATE_BACKENDS = ("cpp", "neurokit2")


def resolve_lead_names(lead_names, n_leads: int, func: str) -> tuple[str, ...]:
    """Lead names for ``n_leads`` rows: given ones, LEADS_12 for 12 rows, else ``lead0..``."""
    if lead_names is None:
        if n_leads == len(LEADS_12):
            return LEADS_12
        return tuple(f"lead{i}" for i in range(n_leads))
    if isinstance(lead_names, str):
        raise TypeError(f"{func}: lead_names must be a sequence of str, got a str")
    names = tuple(str(n) for n in lead_names)
    if len(names) != n_leads:
        raise ValueError(f"{func}: lead_names has {len(names)} names for a signal with {n_leads} leads")
    return names


@dataclass
class Delineation:
    """Fiducials of one record (sample indices at ``sampling_rate``, ``-1`` = absent).

    Attributes
    ----------
    per_lead : dict of str to numpy.ndarray
        Keys ``fgclep.leads.FIDUCIALS``; each int64 ``(n_leads, n_beats)``.
    global_fiducials : dict of str to numpy.ndarray
        Same keys; each int64 ``(n_beats,)``, the all-lead fiducials of each beat.
    lead_names : tuple of str
    sampling_rate : float
    """

    per_lead: dict[str, np.ndarray]
    global_fiducials: dict[str, np.ndarray]
    lead_names: tuple[str, ...]
    sampling_rate: float
    method: str = field(default="fgclep")

    @classmethod
    def from_arrays(cls, lead: np.ndarray, glob: np.ndarray, lead_names, sampling_rate, method="fgclep"):
        """Build from ``(8, n_leads, n_beats)`` and ``(8, n_beats)`` int arrays in FIDUCIALS order."""
        lead = np.asarray(lead, dtype=np.int64)
        glob = np.asarray(glob, dtype=np.int64)
        return cls({k: lead[i].copy() for i, k in enumerate(FIDUCIALS)},
                   {k: glob[i].copy() for i, k in enumerate(FIDUCIALS)},
                   tuple(lead_names), float(sampling_rate), method)

    @property
    def n_beats(self) -> int:
        return int(self.global_fiducials["r_peak"].shape[0])

    @property
    def n_leads(self) -> int:
        return len(self.lead_names)

    @property
    def r_peaks(self) -> np.ndarray:
        """Global R-peak sample indices (int64, ``(n_beats,)``)."""
        return self.global_fiducials["r_peak"]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.per_lead[name]

    def to_array(self) -> np.ndarray:
        """Per-lead fiducials as one int64 ``(8, n_leads, n_beats)`` array in FIDUCIALS order."""
        return np.stack([self.per_lead[k] for k in FIDUCIALS]).astype(np.int64, copy=False)

    def to_rows(self, record: str) -> list[dict]:
        """FIDUCIALS.csv rows: one per lead (lower-case name) and beat, then ``global`` per beat."""
        rows = []
        for li, lead in enumerate(self.lead_names):
            for b in range(self.n_beats):
                rows.append({"record": record, "lead": lead.lower(), "beat": b,
                             **{k: int(self.per_lead[k][li, b]) for k in FIDUCIALS}})
        for b in range(self.n_beats):
            rows.append({"record": record, "lead": "global", "beat": b,
                         **{k: int(self.global_fiducials[k][b]) for k in FIDUCIALS}})
        return rows


def ecg_delineate(signal, sampling_rate, lead_names=None, backend: str = "cpp") -> Delineation:
    """Delineate P, QRS and T waves in every lead and beat of one record.

    Parameters
    ----------
    signal : array_like
        One record, ``(samples,)`` or ``(leads, samples)`` in mV (raw or cleaned; NaN runs allowed).
    sampling_rate : float
        Sampling rate in Hz (any; windows are defined in seconds).
    lead_names : sequence of str, optional
        Names of the rows; default LEADS_12 for 12 rows, ``lead0...`` otherwise.
    backend : {"cpp", "neurokit2"}
        ``"neurokit2"`` maps NeuroKit2's ``ecg_peaks`` + ``ecg_delineate(method="dwt")`` (run per
        lead on the global R peaks) onto the same structure; slow, for comparison.

    Returns
    -------
    Delineation
        Per-lead ``(n_leads, n_beats)`` and global ``(n_beats,)`` int64 arrays, ``-1`` = absent.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 500
    >>> t = np.arange(10 * fs) / fs
    >>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01 ** 2))
    >>> d = ecg_delineate(np.stack([ecg, 0.5 * ecg]), fs)
    >>> d.n_beats, d["qrs_on"].shape
    (10, (2, 10))
    """
    func = "ecg_delineate"
    check_backend(backend, func, DELINEATE_BACKENDS)
    x, fs = record_rows(signal, sampling_rate, func)
    names = resolve_lead_names(lead_names, x.shape[0], func)
    if backend == "neurokit2":
        from fgclep.signal._neurokit_twin import nk_delineate

        lead, glob = nk_delineate(x, fs)
        return Delineation.from_arrays(lead, glob, names, fs, method="neurokit2-dwt")
    from fgclep import _core

    lead, glob = _core.delin_delineate(x, fs)
    return Delineation.from_arrays(lead, glob, names, fs)
