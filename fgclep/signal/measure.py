"""Waveform measurements of a record (or a batch) from its delineation; definitions in
docs/measurements.md.

``ecg_measure`` = condition + R peaks + delineation + ``measure_from_fiducials``, all in C++ (a
batch runs in parallel over records with the GIL released). ``backend="numpy"`` measures with the
readable NumPy twin (same fiducials), ``backend="neurokit2"`` with NeuroKit2's delineation.
"""
from __future__ import annotations

import numpy as np

from fgclep.leads import FIDUCIALS, LEADS_12_LOWER, measurement_columns
from fgclep.signal._validate import as_signal_array, check_backend, check_sampling_rate
from fgclep.signal.delineate import Delineation, ecg_delineate, resolve_lead_names
from fgclep.signal.peaks import ecg_peaks

# ecg_peaks and ecg_delineate are re-exported: this module is the front of the whole pipeline.
__all__ = ["analyze_record", "ecg_delineate", "ecg_measure", "ecg_peaks", "measure_from_fiducials",
           "std_lead_index"]

MEASURE_BACKENDS = ("cpp", "numpy", "neurokit2")


def std_lead_index(lead_names) -> np.ndarray:
    """int32 (12,): row of each LEADS_12 lead in ``lead_names`` (case-insensitive), -1 if absent."""
    lower = [str(n).lower() for n in lead_names]
    return np.array([lower.index(s) if s in lower else -1 for s in LEADS_12_LOWER], dtype=np.int32)


def _as_dict(values: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(measurement_columns(), values)}


def _fiducial_array(fiducials, n_leads: int, func: str) -> np.ndarray:
    """(8, n_leads, n_beats) int64 from a Delineation, a dict of (n_leads, n_beats) or an array."""
    if isinstance(fiducials, Delineation):
        arr = fiducials.to_array()
    elif isinstance(fiducials, dict):
        missing = [k for k in FIDUCIALS if k not in fiducials]
        if missing:
            raise ValueError(f"{func}: fiducials lacks keys {missing}; expected {FIDUCIALS}")
        arr = np.stack([np.asarray(fiducials[k]) for k in FIDUCIALS])
    else:
        arr = np.asarray(fiducials)
    if arr.ndim == 2:  # a single lead: (8, n_beats)
        arr = arr[:, None, :]
    if arr.ndim != 3 or arr.shape[0] != len(FIDUCIALS) or arr.shape[1] != n_leads:
        raise ValueError(f"{func}: fiducials must be (8, {n_leads}, n_beats) in FIDUCIALS order, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.isfinite(arr).all():
            raise ValueError(f"{func}: fiducials must be integers with -1 for absent, found NaN/inf")
        arr = np.rint(arr)
    return np.where(arr >= 0, arr, -1).astype(np.int64)


def measure_from_fiducials(signal, sampling_rate, fiducials, lead_names=None, backend: str = "cpp") -> dict[str, float]:
    """Measure one record from given per-lead fiducials (e.g. a cardiologist's annotations).

    Parameters
    ----------
    signal : array_like
        One record ``(leads, samples)`` (or ``(samples,)``) in mV; conditioned as in
        :func:`ecg_measure` before measuring.
    sampling_rate : float
        Sampling rate in Hz.
    fiducials : Delineation, dict or array_like
        Per-lead fiducials: a :class:`Delineation`, a dict FIDUCIALS name -> ``(leads, beats)``, or
        an int ``(8, leads, beats)`` array in FIDUCIALS order; ``-1`` = absent. Beats must be
        aligned across leads. Global fiducials are rebuilt with the documented rules (global R peak
        = median of the leads' R peaks).
    lead_names : sequence of str, optional
        Row names; default LEADS_12 for 12 rows. Measurements of leads not present are NaN.
    backend : {"cpp", "numpy"}
        The C++ implementation or its NumPy twin.

    Returns
    -------
    dict of str to float
        Keys ``fgclep.leads.measurement_columns()``; NaN = could not be measured.
    """
    func = "measure_from_fiducials"
    check_backend(backend, func, ("cpp", "numpy"))
    x, fs, names = _one_record(signal, sampling_rate, lead_names, func)
    fid = _fiducial_array(fiducials, x.shape[0], func)
    if fid.size and fid.max() >= x.shape[1]:
        raise ValueError(f"{func}: fiducial index {int(fid.max())} is beyond the signal's {x.shape[1]} samples")
    index = std_lead_index(names)
    if backend == "numpy":
        from fgclep.signal import _measure_numpy as twin

        from fgclep.signal._pacing_numpy import pacing_spikes

        glob = twin.combine_leads(fid, fs)
        r = glob[FIDUCIALS.index("r_peak")]
        pacing = pacing_spikes(x, fs, r[r >= 0])
        return _as_dict(twin.measure(twin.condition(x, fs), fs, fid, glob, index, pacing))
    from fgclep import _core

    return _as_dict(np.asarray(_core.delin_measure_fiducials(x, fs, fid, index)))


def ecg_measure(signal, sampling_rate, lead_names=None, backend: str = "cpp"):
    """Measure one record, or a batch of records, end to end.

    Parameters
    ----------
    signal : array_like
        ``(leads, samples)`` for one record or ``(records, leads, samples)`` for a batch, in mV
        (raw or cleaned; NaN runs allowed), float32 or float64.
    sampling_rate : float
        Sampling rate in Hz.
    lead_names : sequence of str, optional
        Row names; default LEADS_12 for 12 rows. Measurements of absent leads are NaN.
    backend : {"cpp", "numpy", "neurokit2"}
        ``"cpp"``: everything in C++ (batches in parallel over records, ``fgclep.set_num_threads``).
        ``"numpy"``: C++ delineation, NumPy twin measurements. ``"neurokit2"``: NeuroKit2 dwt
        delineation, NumPy twin measurements (slow reference).

    Returns
    -------
    dict or pandas.DataFrame
        One record: dict keyed by ``fgclep.leads.measurement_columns()``. A batch: a DataFrame
        with those columns, one row per record. NaN = could not be measured.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 500
    >>> t = np.arange(10 * fs) / fs
    >>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01 ** 2))
    >>> round(ecg_measure(np.stack([ecg, 0.5 * ecg]), fs)["heart_rate"])
    60
    """
    func = "ecg_measure"
    check_backend(backend, func, MEASURE_BACKENDS)
    fs = check_sampling_rate(sampling_rate, func)
    batch = as_signal_array(signal, func, check_finite=False)
    shape = batch.shape
    if len(shape) == 1:
        shape = (1, shape[0])
    n_leads = shape[-2]
    names = resolve_lead_names(lead_names, n_leads, func)
    index = std_lead_index(names)
    records = batch.rows.reshape((-1, n_leads, shape[-1]))
    if backend == "cpp":
        from fgclep import _core

        values = np.asarray(_core.delin_measure_batch(np.ascontiguousarray(records, dtype=np.float64), fs, index))
    else:
        values = np.stack([_measure_one(rec, fs, names, index, backend) for rec in records])
    if len(shape) == 3:
        import pandas as pd

        return pd.DataFrame(values, columns=measurement_columns())
    return _as_dict(values[0])


def analyze_record(signal, sampling_rate, lead_names=None) -> tuple[Delineation, dict[str, float]]:
    """Delineation and measurements of one record in one C++ pass (what the CLI writes).

    Parameters
    ----------
    signal : array_like
        One record ``(leads, samples)`` in mV (NaN runs allowed).
    sampling_rate : float
        Sampling rate in Hz.
    lead_names : sequence of str, optional
        Row names; default LEADS_12 for 12 rows.

    Returns
    -------
    (Delineation, dict)
        The same as ``ecg_delineate`` and ``ecg_measure`` would return, computed once.
    """
    x, fs, names = _one_record(signal, sampling_rate, lead_names, "analyze_record")
    from fgclep import _core

    lead, glob, values = _core.delin_analyze(x, fs, std_lead_index(names))
    return Delineation.from_arrays(lead, glob, names, fs), _as_dict(np.asarray(values))


def _one_record(signal, sampling_rate, lead_names, func: str):
    """Validate one record ``(leads, samples)``: float64 contiguous rows, rate, lead names."""
    fs = check_sampling_rate(sampling_rate, func)
    batch = as_signal_array(signal, func, check_finite=False)
    if len(batch.shape) == 3:
        raise ValueError(f"{func}: signal must be one record (leads, samples), got shape {batch.shape}")
    x = np.ascontiguousarray(batch.rows, dtype=np.float64)
    return x, fs, resolve_lead_names(lead_names, x.shape[0], func)


def _measure_one(x: np.ndarray, fs: float, names, index, backend: str) -> np.ndarray:
    from fgclep.signal import _measure_numpy as twin

    x = np.ascontiguousarray(x, dtype=np.float64)
    d = ecg_delineate(x, fs, lead_names=names, backend="neurokit2" if backend == "neurokit2" else "cpp")
    from fgclep.signal._pacing_numpy import pacing_spikes

    glob = np.stack([d.global_fiducials[k] for k in FIDUCIALS])
    pacing = pacing_spikes(x, fs, d.r_peaks)
    return twin.measure(twin.condition(x, fs), fs, d.to_array(), glob, index, pacing)
