"""Where fgclep's remaining LUDB delineation error comes from (the analysis in docs/benchmarks.md).

Uses the matching of ``bench_ludb.py`` (per lead, nearest detection of the same kind within
±150 ms) and splits the error of the per-lead fiducials:

1. beat level vs lead level: each matched error = (our beat median − the annotators' beat median)
   + (our lead's deviation from our beat median − the annotators' lead deviation from theirs),
   over beats with >= 6 matched leads; the annotators' lead scatter is also the SD that a detector
   placing every lead exactly at the annotators' beat median would score;
2. QRS onset without the paced records (``Cardiac pacing`` column of ``ludb.csv``), per-lead bias,
   and the beats that carry most of the squared error;
3. T end split by whether our T peak lies within 20 ms of the annotated one;
4. QRS duration of the records without conduction defects, hypertrophy, pacing or ectopy:
   the annotators' global value (``measure_from_fiducials``), their median single-lead duration,
   and fgclep's;
5. how much the per-lead SD depends on which records are in the set: a 95 % interval from 2,000
   bootstrap resamples of the records (seed 0), and the SD on each half of the records.

Usage::

    .venv/bin/python benchmarks/delineation_error_analysis.py [--data ../shared/data/ludb]
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from bench_ludb import DEFAULT_DATA, LEADS, annotation_fiducials, read_annotations
from fgclep.leads import FIDUCIALS

F = {k: i for i, k in enumerate(FIDUCIALS)}
PLAIN_EXCLUDES = ("Conduction abnormalities", "Hypertrophies", "Cardiac pacing", "Extrasystolies")


def load_table(data: Path) -> dict[str, dict[str, str]]:
    """ludb.csv rows by record id (its quoted fields span lines)."""
    with open(data / "ludb.csv", newline="") as f:
        return {row["ID"].strip(): {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)}


def matched(ann: np.ndarray, ours: np.ndarray, fs: float) -> np.ndarray:
    """Per annotated value, our nearest detection within 150 ms, else -1."""
    det = ours[ours >= 0]
    out = np.full(ann.shape, -1, dtype=np.int64)
    for i, a in enumerate(ann):
        if a >= 0 and det.size:
            j = int(np.argmin(np.abs(det - a)))
            if abs(det[j] - a) <= 0.150 * fs:
                out[i] = det[j]
    return out


def collect(data: Path):
    """Per record: (id, fs, annotated (8, 12, beats), our matches (8, 12, beats), signal)."""
    from fgclep.signal.delineate import ecg_delineate

    recs = sorted((data / "data").glob("*.hea"), key=lambda p: int(p.stem))
    out = []
    for hea in recs:
        x, fs, waves = read_annotations(hea.with_suffix(""))
        ann = annotation_fiducials(waves, fs)
        lead = ecg_delineate(x, fs).to_array()
        ours = np.full_like(ann, -1)
        for k in range(ann.shape[0]):
            for li in range(ann.shape[1]):
                ours[k, li] = matched(ann[k, li], lead[k, li], fs)
        out.append((hea.stem, fs, ann, ours, x))
    return out


def split_errors(rows, kind: str):
    """Per-lead errors, beat-median errors and both lead scatters (ms)."""
    err, beat, sc_a, sc_o = [], [], [], []
    for _, fs, ann, ours, _ in rows:
        a_all, o_all = ann[F[kind]], ours[F[kind]]
        for b in range(a_all.shape[1]):
            a, o = a_all[:, b], o_all[:, b]
            ok = (a >= 0) & (o >= 0)
            if ok.sum() < 6:
                continue
            ms = 1000.0 / fs
            am, om = np.median(a[ok]), np.median(o[ok])
            err += list((o[ok] - a[ok]) * ms)
            beat.append((om - am) * ms)
            sc_a += list((a[ok] - am) * ms)
            sc_o += list((o[ok] - om) * ms)
    return tuple(np.asarray(v) for v in (err, beat, sc_a, sc_o))


def lead_errors(rows, kind: str, skip=()) -> list[tuple[str, int, int, float]]:
    """All matched per-lead errors: (record, lead, beat, ms)."""
    out = []
    for rid, fs, ann, ours, _ in rows:
        if rid in skip:
            continue
        a, o = ann[F[kind]], ours[F[kind]]
        for li, b in zip(*np.nonzero((a >= 0) & (o >= 0))):
            out.append((rid, int(li), int(b), (o[li, b] - a[li, b]) * 1000.0 / fs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    table = load_table(args.data)
    rows = collect(args.data)
    print(f"LUDB records: {len(rows)} ({args.data})\n")

    print("| fiducial | per-lead error | beat-median error | annotators' lead scatter SD | ours | correlation |")
    print("|---|---|---|---|---|---|")
    for kind in ("qrs_on", "qrs_off", "t_off"):
        e, b, sa, so = split_errors(rows, kind)
        print(f"| {kind} | {e.mean():+.1f} ± {e.std():.1f} | {b.mean():+.1f} ± {b.std():.1f} | "
              f"{sa.std():.1f} | {so.std():.1f} | {np.corrcoef(sa, so)[0, 1]:.2f} |")

    paced = {rid for rid, row in table.items() if row.get("Cardiac pacing")}
    e_all = lead_errors(rows, "qrs_on")
    e_np = np.array([v for *_, v in lead_errors(rows, "qrs_on", skip=paced)])
    v_all = np.array([v for *_, v in e_all])
    print(f"\nqrs_on: all {v_all.mean():+.2f} ± {v_all.std():.2f} ms; without the paced records "
          f"{sorted(paced, key=int)}: {e_np.mean():+.2f} ± {e_np.std():.2f} ms")
    print("qrs_on bias ± SD per lead: " + ", ".join(
        f"{LEADS[li]} {np.mean(v):+.1f} ± {np.std(v):.1f}"
        for li in range(12) for v in [[e for _, l, _, e in e_all if l == li]]))
    sq = {}
    mu = v_all.mean()
    for rid, _, b, v in e_all:
        sq[(rid, b)] = sq.get((rid, b), 0.0) + (v - mu) ** 2
    total = sum(sq.values())
    top = sorted(sq.items(), key=lambda kv: -kv[1])[:5]
    print("beats with the largest share of the qrs_on squared error: " + ", ".join(
        f"record {rid} beat {b} {100 * s / total:.1f} %" for (rid, b), s in top))

    near, far = [], []
    for _, fs, ann, ours, _ in rows:
        ap_, op_ = ann[F["t_peak"]], ours[F["t_peak"]]
        ae, oe = ann[F["t_off"]], ours[F["t_off"]]
        for li, b in zip(*np.nonzero((ae >= 0) & (oe >= 0))):
            e = (oe[li, b] - ae[li, b]) * 1000.0 / fs
            good = ap_[li, b] >= 0 and op_[li, b] >= 0 and abs(op_[li, b] - ap_[li, b]) * 1000.0 / fs <= 20
            (near if good else far).append(e)
    near, far = np.asarray(near), np.asarray(far)
    allv = np.concatenate([near, far])
    m = allv.mean()
    share = np.sum((far - m) ** 2) / np.sum((allv - m) ** 2)
    print(f"\nt_off with our T peak within 20 ms of the annotated one: {near.size / allv.size:.1%} of "
          f"{allv.size}, error {near.mean():+.1f} ± {near.std():.1f} ms; the others: "
          f"{far.mean():+.1f} ± {far.std():.1f} ms, {share:.0%} of the squared error")

    rng = np.random.default_rng(0)
    ids = [r[0] for r in rows]
    print("\nper-lead SD over resampled records (95 % bootstrap interval, 2,000 resamples of the "
          f"{len(ids)} records; halves: the first and last {len(ids) // 2} by record number):")
    for kind in ("qrs_on", "qrs_off", "t_off"):
        by_rec = {rid: [] for rid in ids}
        for rid, _, _, v in lead_errors(rows, kind):
            by_rec[rid].append(v)
        per = [np.asarray(by_rec[rid]) for rid in ids]
        sds = [np.concatenate([per[i] for i in rng.integers(0, len(per), len(per))]).std() for _ in range(2000)]
        half = len(per) // 2
        print(f"  {kind}: {np.concatenate(per).std():.2f} ms, interval {np.percentile(sds, 2.5):.2f}-"
              f"{np.percentile(sds, 97.5):.2f}, halves {np.concatenate(per[:half]).std():.2f} / "
              f"{np.concatenate(per[half:]).std():.2f}")

    from fgclep.signal.measure import ecg_measure, measure_from_fiducials

    plain = [r for r in rows if not any(table[r[0]].get(c) for c in PLAIN_EXCLUDES)]
    g_ann, per_ann, g_ours = [], [], []
    for _, fs, ann, _, x in plain:
        g_ann.append(measure_from_fiducials(x, fs, ann)["qrs_duration"])
        on, off = ann[F["qrs_on"]], ann[F["qrs_off"]]
        ok = (on >= 0) & (off >= 0)
        per_ann.append(np.median((off - on)[ok]) * 1000.0 / fs)
        g_ours.append(ecg_measure(x, fs)["qrs_duration"])
    print(f"\nQRS duration, {len(plain)} records without {', '.join(PLAIN_EXCLUDES).lower()}: "
          f"annotators' global (measure_from_fiducials) median {np.nanmedian(g_ann):.0f} ms, their "
          f"median single-lead duration {np.nanmedian(per_ann):.0f} ms, fgclep {np.nanmedian(g_ours):.0f} ms")


if __name__ == "__main__":
    main()
