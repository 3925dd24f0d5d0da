"""CPSC2018 in its original release: ``TrainingSet*/A*.mat`` (MATLAB struct ``ECG`` with
``sex``, ``age``, ``data`` 12 x N in mV, 500 Hz, leads I..V6) and ``REFERENCE.csv``
(Recording, First_label, Second_label, Third_label; codes 1-9)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fgclep.data.record import ECGRecord
from fgclep.leads import LEADS_12

__all__ = ["read_cpsc2018", "read_reference", "list_original", "CPSC_CODES"]

CPSC_CODES = {"1": "NORM", "2": "AFIB", "3": "1AVB", "4": "CLBBB", "5": "CRBBB", "6": "PAC",
              "7": "VPC", "8": "STD", "9": "STE"}
_NAMES = {"NORM": "Normal", "AFIB": "Atrial fibrillation", "1AVB": "First-degree AV block",
          "CLBBB": "Left bundle branch block", "CRBBB": "Right bundle branch block",
          "PAC": "Premature atrial contraction", "VPC": "Premature ventricular contraction",
          "STD": "ST-segment depression", "STE": "ST-segment elevation"}


def read_reference(path: str | Path) -> dict[str, list[str]]:
    """``REFERENCE.csv`` -> recording name -> labels (by column name)."""
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "Recording" not in reader.fieldnames:
            raise ValueError(f"{path}: needs a 'Recording' column")
        label_cols = [c for c in reader.fieldnames if c.endswith("_label")]
        for row in reader:
            codes = [row[c].strip() for c in label_cols if row[c] and row[c].strip()]
            unknown = [c for c in codes if c not in CPSC_CODES]
            if unknown:
                raise ValueError(f"{path}: recording {row['Recording']} has unknown codes "
                                 f"{unknown}")
            out[row["Recording"].strip()] = [CPSC_CODES[c] for c in codes]
    return out


def list_original(root: Path, limit: int | None) -> tuple[list[dict], list[tuple[str, str]]]:
    """Items of the original release (one per ``.mat``, sorted by file name)."""
    reference = read_reference(root / "REFERENCE.csv")
    mats = sorted(root.rglob("A*.mat"), key=lambda p: p.stem)
    items, skips = [], []
    for mat in mats[:limit] if limit is not None else mats:
        if mat.stem not in reference:
            skips.append((str(mat), "no row in REFERENCE.csv"))
            continue
        items.append({"source": str(mat), "labels": reference[mat.stem], "original": True})
    return items, skips


def read_cpsc2018(path: str | Path, labels: list[str] | None = None) -> ECGRecord:
    """Read one original-format CPSC2018 ``.mat`` file (ValueError naming it if malformed)."""
    import scipy.io

    path = Path(path)
    try:
        ecg = scipy.io.loadmat(str(path))["ECG"][0, 0]
        data = np.asarray(ecg["data"], dtype=np.float64)
    except (KeyError, IndexError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"{path}: not a CPSC2018 ECG struct ({exc})") from None
    if data.ndim != 2 or data.shape[0] != 12:
        raise ValueError(f"{path}: ECG.data has shape {data.shape}, expected (12, N)")

    def _field(name: str) -> str:
        try:
            return str(np.asarray(ecg[name]).ravel()[0])
        except (IndexError, ValueError):
            return ""

    labels = list(labels or [])
    report = ". ".join(_NAMES[lab] for lab in labels) + ("." if labels else "")
    return ECGRecord(signal=data.astype(np.float32), sampling_rate=500.0, lead_names=LEADS_12,
                     report=report, labels=labels, record_id=path.stem, source=str(path),
                     meta={"age": _field("age"), "sex": _field("sex")})
