"""Helpers for the data tests: write WFDB / Challenge records (and broken ones) to a folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from fgclep.leads import LEADS_12


def ecg_like(rng: np.random.Generator, n_leads: int = 12, n: int = 5000, fs: float = 500.0
             ) -> np.ndarray:
    """(n_leads, n) mV: a 1.2 Hz spiky rhythm plus noise, different per lead."""
    t = np.arange(n) / fs
    beat = np.exp(-((t * 1.2) % 1.0 - 0.3) ** 2 / 0.0008)
    gains = rng.uniform(0.3, 1.5, size=(n_leads, 1))
    return (gains * beat + 0.02 * rng.standard_normal((n_leads, n))).astype(np.float64)


def write_wfdb(folder: Path, name: str, signal: np.ndarray, fs: float = 500.0,
               lead_names=LEADS_12, fmt: str = "16", comments=None) -> Path:
    """Write ``signal`` (leads, samples) in mV as a WFDB record; return the record path."""
    folder.mkdir(parents=True, exist_ok=True)
    n_leads = signal.shape[0]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * n_leads, sig_name=list(lead_names),
                p_signal=np.ascontiguousarray(signal.T), fmt=[fmt] * n_leads,
                adc_gain=[1000.0] * n_leads, baseline=[0] * n_leads,
                comments=list(comments or []), write_dir=str(folder))
    return folder / name


def write_challenge(folder: Path, name: str, signal_mv: np.ndarray, dx: list[str],
                    fs: int = 500, record_line_name: str | None = None) -> Path:
    """Challenge 2020/21 record: MATLAB v4 ``val`` int16 (uV) + header with ``# Dx:``."""
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    val = np.round(signal_mv * 1000).astype(np.int16)
    scipy.io.savemat(str(folder / f"{name}.mat"), {"val": val}, format="4")
    lines = [f"{record_line_name or name} 12 {fs} {val.shape[1]}"]
    for lead, row in zip(LEADS_12, val):
        lines.append(f"{name}.mat 16+24 1000/mV 16 0 {int(row[0])} 0 0 {lead}")
    lines += ["# Age: 60", "# Sex: Female", f"# Dx: {','.join(dx)}", "# Rx: Unknown"]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / name


def edit_header(record: Path, old: str, new: str) -> None:
    hea = record.with_suffix(".hea")
    hea.write_text(hea.read_text().replace(old, new), encoding="utf-8")
