"""The in-memory ECG record every reader returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from fgclep.leads import LEADS_12

__all__ = ["ECGRecord", "reorder_leads", "canonical_lead_name"]

_LEAD_LOOKUP = {name.lower(): name for name in LEADS_12}


def canonical_lead_name(name: str) -> str:
    """Map a lead name to fgclep's spelling (``"AVR"`` -> ``"aVR"``); unknown names unchanged."""
    return _LEAD_LOOKUP.get(str(name).strip().lower(), str(name).strip())


def reorder_leads(signal: np.ndarray, lead_names: Sequence[str], *,
                  source: str = "signal") -> tuple[np.ndarray, tuple[str, ...]]:
    """Reorder leads by name (case-insensitive) to :data:`fgclep.leads.LEADS_12`.

    Records that contain all 12 standard leads come back with exactly those 12 leads in
    LEADS_12 order (extra leads such as Frank X/Y/Z are dropped). Other records keep their own
    order, with standard names canonicalised (``AVR`` -> ``aVR``).

    Parameters
    ----------
    signal : numpy.ndarray
        ``(leads, samples)`` array.
    lead_names : sequence of str
        One name per row of ``signal``.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    signal, lead_names

    Raises
    ------
    ValueError
        If the number of names differs from the number of rows, or two leads share a name.
    """
    names = [canonical_lead_name(n) for n in lead_names]
    if signal.ndim != 2 or signal.shape[0] != len(names):
        raise ValueError(f"{source}: {len(names)} lead names for a signal of shape "
                         f"{tuple(signal.shape)}")
    lowered = [n.lower() for n in names]
    duplicates = sorted({n for n in names if lowered.count(n.lower()) > 1})
    if duplicates:
        raise ValueError(f"{source}: duplicate lead names {duplicates}")
    if all(lead.lower() in lowered for lead in LEADS_12):
        order = [lowered.index(lead.lower()) for lead in LEADS_12]
        if order != list(range(len(names))):
            signal = signal[order]
        return signal, LEADS_12
    return signal, tuple(names)


@dataclass
class ECGRecord:
    """One ECG recording with its text and labels.

    Attributes
    ----------
    signal : numpy.ndarray
        float32 ``(leads, samples)`` in mV. Missing samples are NaN.
    sampling_rate : float
        Samples per second.
    lead_names : tuple of str
        One per row; :data:`fgclep.leads.LEADS_12` order when the 12 standard leads are present.
    report : str
        Free-text report (may be empty).
    labels : list of str
        Dataset label codes (e.g. SCP codes, benchmark abbreviations).
    meta : dict
        Dataset-specific extras (machine measurements, age, sex, fold, ...).
    record_id : str
        Identifier unique within the dataset.
    source : str
        Path of the file the signal came from.

    Examples
    --------
    >>> import numpy as np
    >>> rec = ECGRecord(np.zeros((12, 5000), np.float32), 500.0, LEADS_12, record_id="x")
    >>> rec.duration
    10.0
    """

    signal: np.ndarray
    sampling_rate: float
    lead_names: tuple[str, ...]
    report: str = ""
    labels: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    record_id: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        signal = np.asarray(self.signal)
        if signal.ndim != 2:
            raise ValueError(f"ECGRecord({self.record_id or self.source!r}): signal must be "
                             f"(leads, samples), got shape {signal.shape}")
        if signal.dtype != np.float32:
            signal = signal.astype(np.float32)
        self.signal = signal
        self.lead_names = tuple(self.lead_names)
        if len(self.lead_names) != signal.shape[0]:
            raise ValueError(f"ECGRecord({self.record_id or self.source!r}): "
                             f"{len(self.lead_names)} lead names for {signal.shape[0]} leads")
        rate = float(self.sampling_rate)
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"ECGRecord({self.record_id or self.source!r}): sampling_rate must "
                             f"be a positive number, got {self.sampling_rate!r}")
        self.sampling_rate = rate
        self.labels = list(self.labels)

    @property
    def n_samples(self) -> int:
        """Number of samples per lead."""
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sampling_rate

    @property
    def has_standard_leads(self) -> bool:
        """True when the record holds exactly the 12 standard leads in LEADS_12 order."""
        return self.lead_names == LEADS_12
