"""Delineation accuracy on LUDB against the cardiologists' per-lead annotations.

For every lead, each annotated fiducial is matched to the nearest detection of the same kind within
+-150 ms (sensitivity, error); for PPV only detections inside the lead's annotated span count. Reported per fiducial kind:
sensitivity, PPV and mean +- SD of the error (detection - annotation, ms). Record-level HR, PR, QRS
and QT from ``ecg_measure`` are compared with ``measure_from_fiducials`` applied to the annotations
(the same definitions). NeuroKit2 (dwt, prominence) runs in the same process on a subset.

Usage::

    .venv/bin/python benchmarks/bench_ludb.py [--data ../shared/data/ludb] [--nk-records 20]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from fgclep.leads import FIDUCIALS

KINDS = ("p_on", "p_peak", "p_off", "qrs_on", "qrs_off", "t_peak", "t_off")
LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
INTERVALS = ("heart_rate", "pr_interval", "p_duration", "qrs_duration", "qt_interval")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb"


def read_annotations(record_path: Path) -> tuple[np.ndarray, float, list[list[tuple]]]:
    """Signal (12, n) float64, fs, and per lead a list of waves (kind, on, peak, off)."""
    import wfdb

    rec = wfdb.rdrecord(str(record_path))
    names = [s.lower() for s in rec.sig_name]
    x = rec.p_signal.T[[names.index(ld) for ld in LEADS]].astype(np.float64)
    waves = []
    for ld in LEADS:
        ann = wfdb.rdann(str(record_path), ld)
        sym, smp = list(ann.symbol), np.asarray(ann.sample)
        lead_waves = []
        for i, s in enumerate(sym):
            if s not in ("p", "N", "t"):
                continue
            on = int(smp[i - 1]) if i > 0 and sym[i - 1] == "(" else -1
            off = int(smp[i + 1]) if i + 1 < len(sym) and sym[i + 1] == ")" else -1
            lead_waves.append((s, on, int(smp[i]), off))
        waves.append(lead_waves)
    return x, float(rec.fs), waves


def annotation_points(lead_waves) -> dict[str, np.ndarray]:
    """Annotated sample indices of each fiducial kind in one lead."""
    pts = {k: [] for k in KINDS}
    for s, on, pk, off in lead_waves:
        if s == "p":
            pts["p_on"].append(on), pts["p_peak"].append(pk), pts["p_off"].append(off)
        elif s == "N":
            pts["qrs_on"].append(on), pts["qrs_off"].append(off)
        else:
            pts["t_peak"].append(pk), pts["t_off"].append(off)
    return {k: np.array([v for v in vals if v >= 0], dtype=np.int64) for k, vals in pts.items()}


def annotation_fiducials(waves, fs: float) -> np.ndarray:
    """Annotations as aligned (8, 12, beats) fiducials: beats = QRS clusters over all leads."""
    qrs = sorted(pk for lw in waves for s, _, pk, _ in lw if s == "N")
    centers, cluster = [], []
    for q in qrs:
        if cluster and q - cluster[-1] > 0.15 * fs:
            centers.append(int(np.median(cluster)))
            cluster = []
        cluster.append(q)
    if cluster:
        centers.append(int(np.median(cluster)))
    c = np.asarray(centers, dtype=np.int64)
    fid = np.full((len(FIDUCIALS), len(LEADS), c.size), -1, dtype=np.int64)
    if c.size == 0:
        return fid
    f = {k: i for i, k in enumerate(FIDUCIALS)}
    for li, lw in enumerate(waves):
        for s, on, pk, off in lw:
            if s == "N":
                b = int(np.argmin(np.abs(c - pk)))
                fid[f["qrs_on"], li, b], fid[f["r_peak"], li, b], fid[f["qrs_off"], li, b] = on, pk, off
            elif s == "p":  # belongs to the next beat
                b = int(np.searchsorted(c, pk))
                if b < c.size:
                    fid[f["p_on"], li, b], fid[f["p_peak"], li, b], fid[f["p_off"], li, b] = on, pk, off
            else:  # T belongs to the previous beat
                b = int(np.searchsorted(c, pk)) - 1
                if b >= 0:
                    fid[f["t_peak"], li, b], fid[f["t_off"], li, b] = pk, off
    return fid


def score_lead(ann: dict[str, np.ndarray], det: dict[str, np.ndarray], span, fs: float, acc: dict) -> None:
    """Accumulate TP/FN/FP counts and errors (ms) of one lead into ``acc``."""
    tol = 0.150 * fs
    for k in KINDS:
        a = ann[k]
        d_all = det[k][det[k] >= 0]
        d = d_all[(d_all >= span[0]) & (d_all <= span[1])]
        st = acc.setdefault(k, {"tp": 0, "fn": 0, "det_ok": 0, "det": 0, "err": []})
        for v in a:
            if d_all.size and np.min(np.abs(d_all - v)) <= tol:
                j = int(np.argmin(np.abs(d_all - v)))
                st["tp"] += 1
                st["err"].append((d_all[j] - v) * 1000.0 / fs)
            else:
                st["fn"] += 1
        for v in d:  # PPV: only detections inside the annotated span count
            st["det"] += 1
            st["det_ok"] += int(a.size > 0 and np.min(np.abs(a - v)) <= tol)


def summarise(acc: dict) -> dict[str, tuple]:
    """kind -> (sensitivity %, PPV %, mean error ms, SD ms)."""
    out = {}
    for k in KINDS:
        st = acc.get(k, {"tp": 0, "fn": 0, "det_ok": 0, "det": 0, "err": []})
        n = st["tp"] + st["fn"]
        e = np.asarray(st["err"])
        out[k] = (100.0 * st["tp"] / n if n else float("nan"),
                  100.0 * st["det_ok"] / st["det"] if st["det"] else float("nan"),
                  float(e.mean()) if e.size else float("nan"), float(e.std()) if e.size else float("nan"))
    return out


def evaluate(records, method: str = "fgclep") -> tuple[dict, dict, int]:
    """Score a method over LUDB records; returns (summary, interval diffs, n_exceptions)."""
    from fgclep.signal import _neurokit_twin
    from fgclep.signal.delineate import ecg_delineate
    from fgclep.signal.measure import ecg_measure, measure_from_fiducials

    acc, diffs, errors = {}, {k: [] for k in INTERVALS}, 0
    for path in records:
        x, fs, waves = read_annotations(path)
        try:
            if method == "fgclep":
                d = ecg_delineate(x, fs)
                lead = d.to_array()
            else:
                lead, _ = _neurokit_twin.nk_delineate(x, fs, method=method)
        except Exception:  # noqa: BLE001 - a benchmark counts failures instead of stopping
            errors += 1
            continue
        for li, lw in enumerate(waves):
            if not lw:
                continue
            samples = [v for w in lw for v in w[1:] if v >= 0]
            span = (min(samples), max(samples))
            det = {k: lead[FIDUCIALS.index(k), li] for k in KINDS}
            score_lead(annotation_points(lw), det, span, fs, acc)
        if method == "fgclep":
            ref = measure_from_fiducials(x, fs, annotation_fiducials(waves, fs))
            got = ecg_measure(x, fs)
            for k in INTERVALS:
                if np.isfinite(ref[k]) and np.isfinite(got[k]):
                    diffs[k].append(got[k] - ref[k])
    return summarise(acc), diffs, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--nk-records", type=int, default=20, help="records for NeuroKit2 (slow); 0 = skip")
    args = ap.parse_args()
    records = sorted((args.data / "data").glob("*.hea"), key=lambda p: int(p.stem))
    records = [p.with_suffix("") for p in records]
    print(f"LUDB records: {len(records)} ({args.data})")
    rows = []
    t0 = time.perf_counter()
    summ, diffs, err = evaluate(records, "fgclep")
    rows.append((f"fgclep ({len(records)} rec)", summ, err))
    print(f"fgclep: {time.perf_counter() - t0:.1f} s")
    if args.nk_records:
        sub = records[: args.nk_records]
        summ_sub, _, err_sub = evaluate(sub, "fgclep")
        rows.append((f"fgclep ({len(sub)} rec)", summ_sub, err_sub))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in ("dwt", "prominence"):
                s, _, e = evaluate(sub, m)
                rows.append((f"NeuroKit2 {m} ({len(sub)} rec)", s, e))
    print("\n| method | fiducial | sensitivity % | PPV % | error mean ± SD (ms) |")
    print("|---|---|---|---|---|")
    for name, summ, err in rows:
        for k in KINDS:
            se, ppv, mu, sd = summ[k]
            print(f"| {name} | {k} | {se:.1f} | {ppv:.1f} | {mu:+.1f} ± {sd:.1f} |")
        print(f"| {name} | exceptions | {err} | | |")
    print("\n| interval | records | bias (ms or bpm) | SD |")
    print("|---|---|---|---|")
    for k in INTERVALS:
        v = np.asarray(diffs[k])
        print(f"| {k} | {v.size} | {v.mean():+.2f} | {v.std():.2f} |" if v.size else f"| {k} | 0 | | |")


if __name__ == "__main__":
    main()
