"""Record-level intervals on the PTB-XL excerpt, by diagnosis group and sampling rate.

LUDB (bench_ludb.py) says how close fgclep comes to cardiologists' fiducials; this says where its
intervals fall on a general population, which is what the clinical thresholds behind the feature
checks assume (AHA: QRS >= 120 ms wide, < 110 ms normal; PR 120-200 ms; QTc). For each PTB-XL
record with a row in ``ptbxl_database.csv`` it runs ``ecg_measure`` and groups the results by
``NORM`` in ``scp_codes`` (a cardiologist's "normal ECG") and by the record's rate (500 Hz
``records500`` / 100 Hz ``records100``); records present at both rates give a paired rate
difference. No reference intervals ship with PTB-XL, so this is a distribution, not an error.

Usage::

    .venv/bin/python benchmarks/bench_ptbxl_intervals.py [--data ../shared/data/ptbxl]
"""
from __future__ import annotations

import argparse
import ast
import csv
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl"
INTERVALS = ("heart_rate", "pr_interval", "qrs_duration", "qt_interval", "qtc_bazett")
COLUMNS = INTERVALS + ("single_lead_qrs",)


def load_labels(data: Path) -> dict[int, bool]:
    """ecg_id -> whether the cardiologist's SCP codes include NORM."""
    with open(data / "ptbxl_database.csv", newline="") as f:
        return {int(float(row["ecg_id"])): "NORM" in ast.literal_eval(row["scp_codes"])
                for row in csv.DictReader(f)}


def single_lead_qrs(delineation, fs: float) -> float:
    """Median over leads and beats of each lead's own QRS duration (ms)."""
    from fgclep.leads import FIDUCIALS

    fid = delineation.to_array()
    on, off = fid[FIDUCIALS.index("qrs_on")], fid[FIDUCIALS.index("qrs_off")]
    ok = (on >= 0) & (off >= 0)
    return float(np.median(off[ok] - on[ok]) * 1000.0 / fs) if ok.any() else float("nan")


def measure_all(data: Path, labels: dict[int, bool]) -> list[tuple[int, int, bool, dict]]:
    """(ecg_id, sampling rate, normal, measurements) for every labelled record; the
    measurements also hold ``single_lead_qrs`` (:func:`single_lead_qrs`)."""
    from fgclep.data import read_wfdb
    from fgclep.signal.measure import analyze_record

    out = []
    for folder, fs in (("records500", 500), ("records100", 100)):
        for hea in sorted((data / folder).glob("*/*.hea")):
            ecg_id = int(hea.stem.split("_")[0])
            if ecg_id not in labels:
                continue
            rec = read_wfdb(hea)
            delineation, m = analyze_record(rec.signal, rec.sampling_rate)  # one C++ pass
            m["single_lead_qrs"] = single_lead_qrs(delineation, rec.sampling_rate)
            out.append((ecg_id, fs, labels[ecg_id], m))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    if not (args.data / "ptbxl_database.csv").is_file():
        raise SystemExit(f"no PTB-XL excerpt at {args.data} (ptbxl_database.csv missing)")
    rows = measure_all(args.data, load_labels(args.data))
    print(f"PTB-XL records with labels: {len(rows)} ({args.data})\n")
    print("| group | rate | records | " + " | ".join(f"{k} median [IQR]" for k in COLUMNS)
          + " | QRS ≥ 120 ms | QRS ≥ 110 ms |")
    print("|---|---|---|" + "---|" * len(COLUMNS) + "---|---|")
    for normal in (True, False):
        for fs in (500, 100):
            sub = [m for _, r, n, m in rows if r == fs and n == normal]
            if not sub:
                continue
            cells = []
            for k in COLUMNS:
                v = np.array([m[k] for m in sub], dtype=float)
                v = v[np.isfinite(v)]
                q = np.percentile(v, [25, 50, 75]) if v.size else [np.nan] * 3
                cells.append(f"{q[1]:.0f} [{q[0]:.0f}–{q[2]:.0f}]")
            qrs = np.array([m["qrs_duration"] for m in sub], dtype=float)
            print(f"| {'NORM' if normal else 'not NORM'} | {fs} Hz | {len(sub)} | " + " | ".join(cells)
                  + f" | {int(np.sum(qrs >= 120))}/{len(sub)} | {int(np.sum(qrs >= 110))}/{len(sub)} |")
    by_id: dict[int, dict[int, dict]] = {}
    for ecg_id, fs, _, m in rows:
        by_id.setdefault(ecg_id, {})[fs] = m
    pairs = [v for v in by_id.values() if 100 in v and 500 in v]
    print(f"\nSame ECG at 100 Hz minus 500 Hz ({len(pairs)} records): median [IQR]")
    for k in INTERVALS:
        d = np.array([p[100][k] - p[500][k] for p in pairs], dtype=float)
        d = d[np.isfinite(d)]
        if d.size:
            q = np.percentile(d, [25, 50, 75])
            print(f"  {k}: {q[1]:+.1f} [{q[0]:+.1f}, {q[2]:+.1f}] (n={d.size})")


if __name__ == "__main__":
    main()
