"""Paper-style 12-lead ECG figures (matplotlib, Agg; no pyplot state).

:func:`ecg_grid` draws the clinical layout: a 3 x 4 grid (columns I/II/III, aVR/aVL/aVF,
V1/V2/V3, V4/V5/V6, each a quarter of the record, 2.5 s of a 10 s ECG) and a lead II rhythm strip
over the whole record, on pink paper with 1 mm and 5 mm lines at 25 mm/s and 10 mm/mV, with a
1 mV calibration pulse at the start of every row. Signals that are not the 12 standard leads are
drawn one lead per row over the whole record.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fgclep.leads import FIDUCIALS, LEADS_12

MM_PER_S = 25.0          # paper speed
MM_PER_MV = 10.0         # gain
ROW_MM = 35.0            # vertical space per row
LEFT_MM = 15.0           # room for the calibration pulse
RIGHT_MM = 5.0
TOP_MM = 12.0
BOTTOM_MM = 5.0
GRID_COLUMNS = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"),
                ("V4", "V5", "V6"))
RHYTHM_LEAD = "II"
_MARK_STYLE = {   # fiducial -> (colour, marker)
    "p_on": ("tab:green", "|"), "p_peak": ("tab:green", "o"), "p_off": ("tab:green", "|"),
    "qrs_on": ("tab:red", "|"), "r_peak": ("tab:red", "o"), "qrs_off": ("tab:red", "|"),
    "t_peak": ("tab:blue", "o"), "t_off": ("tab:blue", "|"),
}


def _validate(signal, sampling_rate, lead_names, fiducials, overlay):
    if not isinstance(signal, np.ndarray) or signal.ndim != 2:
        raise ValueError("ecg_grid: signal must be a 2-D array (leads, samples), got "
                         f"{type(signal).__name__} with shape {getattr(signal, 'shape', None)}")
    if not np.issubdtype(signal.dtype, np.floating) and not np.issubdtype(signal.dtype,
                                                                           np.integer):
        raise TypeError(f"ecg_grid: signal must be numeric, got dtype {signal.dtype}")
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, float, np.number)) \
            or not sampling_rate > 0:
        raise ValueError(f"ecg_grid: sampling_rate must be a positive number, got "
                         f"{sampling_rate!r}")
    if signal.shape[1] < 2:
        raise ValueError(f"ecg_grid: signal has {signal.shape[1]} samples, need at least 2")
    if isinstance(lead_names, str) or len(lead_names) != signal.shape[0]:
        raise ValueError(f"ecg_grid: lead_names has {len(lead_names)} names but signal has "
                         f"{signal.shape[0]} leads (shape {signal.shape})")
    if not np.isfinite(signal).all():
        raise ValueError("ecg_grid: signal contains NaN or inf")
    if overlay is not None:
        overlay = np.asarray(overlay)
        if overlay.shape != signal.shape:
            raise ValueError(f"ecg_grid: overlay shape {overlay.shape} differs from signal "
                             f"shape {signal.shape}")
        if not np.isfinite(overlay).all():
            raise ValueError("ecg_grid: overlay contains NaN or inf")
    if fiducials is not None:
        if not isinstance(fiducials, Mapping):
            raise TypeError(f"ecg_grid: fiducials must be a dict name -> (leads, beats) array, "
                            f"got {type(fiducials).__name__}")
        for name, arr in fiducials.items():
            if name not in FIDUCIALS:
                raise ValueError(f"ecg_grid: unknown fiducial {name!r}; expected names from "
                                 f"{FIDUCIALS}")
            arr = np.asarray(arr)
            if arr.ndim != 2 or arr.shape[0] != signal.shape[0] \
                    or not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(f"ecg_grid: fiducials[{name!r}] must be an integer array "
                                 f"({signal.shape[0]}, n_beats), got {arr.dtype} {arr.shape}")
    return overlay


def _paper(ax, width_mm: float, height_mm: float) -> None:
    """Pink millimetre paper in data units of mm."""
    ax.set_facecolor("#fff5f5")
    for step, colour, lw in ((1.0, "#f7c8c8", 0.3), (5.0, "#e88a8a", 0.7)):
        xs = np.arange(0.0, width_mm + 1e-9, step)
        ys = np.arange(0.0, height_mm + 1e-9, step)
        ax.vlines(xs, 0, height_mm, colors=colour, linewidth=lw, zorder=0)
        ax.hlines(ys, 0, width_mm, colors=colour, linewidth=lw, zorder=0)


def _calibration(ax, y0: float) -> None:
    """1 mV x 200 ms calibration pulse at the left of a row whose baseline is ``y0`` mm."""
    x = np.array([3.0, 5.0, 5.0, 10.0, 10.0, 12.0])
    y = y0 + np.array([0, 0, MM_PER_MV, MM_PER_MV, 0, 0])
    ax.plot(x, y, color="black", linewidth=0.9, zorder=3)


def _trace(ax, sig, sl, fs, x0, y0, colour, lw, zorder, centre):
    seg = sig[sl]
    t = np.arange(seg.size) / fs
    ax.plot(x0 + t * MM_PER_S, y0 + (seg - centre) * MM_PER_MV, color=colour, linewidth=lw,
            zorder=zorder)


def _marks(ax, sig, fid_lead: dict, sl: slice, fs, x0, y0, centre):
    for name, samples in fid_lead.items():
        samples = samples[(samples >= sl.start) & (samples < sl.stop)]
        if samples.size:
            colour, marker = _MARK_STYLE[name]
            ax.scatter(x0 + (samples - sl.start) / fs * MM_PER_S,
                       y0 + (sig[samples] - centre) * MM_PER_MV, s=14 if marker == "o" else 40,
                       c=colour, marker=marker, zorder=5, linewidths=1.0)


def ecg_grid(signal: np.ndarray, sampling_rate: float,
             lead_names: Sequence[str] = LEADS_12, fiducials: Mapping | None = None,
             path: str | Path | None = None, title: str | None = None,
             overlay: np.ndarray | None = None, dpi: int = 100) -> Figure:
    """Draw a 12-lead ECG on paper (3 x 4 grid plus a lead II rhythm strip).

    Parameters
    ----------
    signal : np.ndarray
        ``(leads, samples)`` in mV.
    sampling_rate : float
        Samples per second.
    lead_names : sequence of str
        One name per row of ``signal``. When they are the 12 standard leads (any order) the
        clinical 3 x 4 + rhythm layout is used; otherwise one row per lead.
    fiducials : dict, optional
        Fiducial name (from :data:`fgclep.leads.FIDUCIALS`) -> integer ``(leads, beats)`` sample
        indices, ``-1`` absent (the format of ``ecg_delineate`` and the synthetic corpus). Peaks
        are drawn as dots, on/offsets as ticks (P green, QRS red, T blue).
    path : str or Path, optional
        Write a PNG there (parent folders are created).
    title : str, optional
        Figure title.
    overlay : np.ndarray, optional
        A second signal of the same shape drawn under ``signal`` in light blue (e.g. the raw
        record under the cleaned one).
    dpi : int
        Resolution of the saved PNG. The figure is ``(duration * 25 mm + 20 mm)`` wide.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from fgclep.data import synthetic
    >>> c = synthetic.generate(1, seed=0)
    >>> fig = ecg_grid(c.signals[0], c.sampling_rate, title="SYNTHETIC record")
    >>> round(fig.get_size_inches()[0] * 25.4)
    270
    """
    overlay = _validate(signal, sampling_rate, lead_names, fiducials, overlay)
    fs = float(sampling_rate)
    names = [str(n) for n in lead_names]
    n_leads, n = signal.shape
    sig = signal.astype(np.float64)
    over = None if overlay is None else overlay.astype(np.float64)
    duration_mm = n / fs * MM_PER_S
    standard = sorted(names) == sorted(LEADS_12)
    rows = 4 if standard else n_leads
    width_mm = LEFT_MM + duration_mm + RIGHT_MM
    height_mm = TOP_MM + rows * ROW_MM + BOTTOM_MM
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.set_axis_off()
    _paper(ax, width_mm, height_mm)

    # Panels: (lead index, sample slice, x offset mm, row).
    panels = []
    if standard:
        quarter = n // 4
        for col, leads in enumerate(GRID_COLUMNS):
            stop = n if col == 3 else (col + 1) * quarter
            for row, lead in enumerate(leads):
                panels.append((names.index(lead), slice(col * quarter, stop),
                               LEFT_MM + col * quarter / fs * MM_PER_S, row))
        panels.append((names.index(RHYTHM_LEAD), slice(0, n), LEFT_MM, 3))
    else:
        panels = [(k, slice(0, n), LEFT_MM, k) for k in range(n_leads)]
    for row in range(rows):
        _calibration(ax, height_mm - TOP_MM - (row + 0.5) * ROW_MM)
    for lead, sl, x0, row in panels:
        y0 = height_mm - TOP_MM - (row + 0.5) * ROW_MM
        centre = float(np.median(sig[lead, sl]))
        if over is not None:
            _trace(ax, over[lead], sl, fs, x0, y0, "tab:blue", 0.7, 2,
                   float(np.median(over[lead, sl])))
        _trace(ax, sig[lead], sl, fs, x0, y0, "black", 0.8, 4, centre)
        if fiducials is not None:
            fid_lead = {k: np.asarray(v)[lead] for k, v in fiducials.items()}
            fid_lead = {k: v[v >= 0] for k, v in fid_lead.items()}
            _marks(ax, sig[lead], fid_lead, sl, fs, x0, y0, centre)
        ax.text(x0 + 1.5, y0 + 0.3 * ROW_MM, names[lead], fontsize=9, fontweight="bold",
                zorder=6)
        if standard and x0 > LEFT_MM:
            ax.vlines(x0, y0 - 5, y0 + 5, colors="black", linewidth=0.8, zorder=4)
    footer = f"{MM_PER_S:g} mm/s   {MM_PER_MV:g} mm/mV   {fs:g} Hz"
    if over is not None:
        footer += "   black: signal, blue: overlay"
    ax.text(LEFT_MM, BOTTOM_MM * 0.4, footer, fontsize=7, zorder=6)
    if title:
        ax.text(LEFT_MM, height_mm - TOP_MM * 0.55, title, fontsize=11, zorder=6)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, format="png")
    return fig
