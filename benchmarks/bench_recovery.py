"""Waveform-feature recovery on LUDB: do the diagnoses' implied features show in the signal?

For each LUDB dev record (real diagnoses, cardiologist fiducials) the kb backend proposes the
features implied by the record's diagnoses. A diagnosis with a measurable implication counts as
*supported* when at least one of its alternative feature sets has every verifiable feature
confirmed; we report the share of records whose diagnosis is supported using

* fgclep measurements (``ecg_measure`` on the raw signal), and
* measurements from the annotations themselves (``measure_from_fiducials`` on the
  cardiologists' per-lead fiducials),

plus the refuted rate of deliberately wrong proposals: every core feature that the annotation
measurements contradict (predicate False) is injected and validated against fgclep's
measurements (target >= 95 % refuted). Throughput of the kb backend and of validation.

Usage::

    .venv/bin/python benchmarks/bench_recovery.py [--data ../shared/data/ludb] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from fgclep.recovery.backends import KBBackend
from fgclep.recovery.kb import load_kb
from fgclep.recovery.validate import validate_features
from fgclep.recovery.vocabulary import VOCABULARY

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb"
# Features injected when the annotation measurements contradict them: timing/rhythm features,
# and amplitude features (axis from I/aVF areas, voltages), reported apart because the shared
# LUDB copy has every lead scaled to exactly 1 mV peak to peak (see ``amplitude_normalised``).
WRONG_TIMING = ("hr_low", "hr_high", "rr_irregular", "p_absent", "pr_prolonged", "pr_short",
                "qrs_wide", "qtc_prolonged", "qtc_short")
WRONG_AMPLITUDE = ("axis_left", "axis_right", "low_voltage", "lvh_voltage")
AMPLITUDE_PREFIXES = ("axis_", "low_voltage", "lvh_", "r_", "p_tall", "q_", "st_", "t_")
# Concepts reported in the table (those with a measurable implication), in this order.
REPORTED = ("sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia", "sinus_arrhythmia",
            "atrial_fibrillation", "atrial_flutter", "av_block_1", "lbbb", "rbbb", "irbbb",
            "ilbbb", "ivcd", "lafb", "left_axis_deviation", "right_axis_deviation",
            "normal_axis", "lvh", "lv_strain", "rvh", "lae", "rae", "early_repolarization",
            "paced", "ventricular_paced")


def load_records(data: Path):
    """LUDB records via fgclep's reader: (id, statements, signal, fs, fiducials, sex, age)."""
    from fgclep.data.readers.ludb import read_ludb

    out = []
    for hea in sorted((data / "data").glob("*.hea"), key=lambda p: int(p.stem)):
        rec = read_ludb(hea.with_suffix(""), annotations=True)
        age = rec.meta.get("age", "")
        out.append((hea.stem, list(rec.labels), rec.signal, rec.sampling_rate,
                    rec.meta["fiducials"], rec.meta.get("sex", ""),
                    float(age) if str(age).replace(".", "", 1).isdigit() else float("nan")))
    return out


def amplitude_normalised(records) -> bool:
    """True when every lead of every record spans exactly 1 mV peak to peak (a per-lead
    rescaled copy: amplitudes, voltages and amplitude ratios carry no information)."""
    ptp = np.array([np.ptp(r[2], axis=1) for r in records])
    return bool(np.allclose(ptp, 1.0, atol=1e-3))


def needs_amplitude(concept) -> bool:
    """Whether every measurable feature set of a concept uses an amplitude feature."""
    sets = [[f for f in s if VOCABULARY[f].verifiable] for s in concept.feature_sets]
    sets = [s for s in sets if s]
    return bool(sets) and all(any(f.startswith(AMPLITUDE_PREFIXES) for f in s) for s in sets)


def supported(concept, confirmed: set, refuted: set) -> bool | None:
    """True if one alternative set has all verifiable features confirmed; None if no set is
    decided (all unverifiable); False otherwise."""
    decided = False
    for fset in concept.feature_sets:
        verifiable = [f for f in fset if VOCABULARY[f].verifiable]
        if not verifiable:
            continue
        if all(f in confirmed for f in verifiable):
            return True
        if any(f in refuted for f in verifiable):
            decided = True
    return False if decided else None


SYNTHETIC_TRUE = {"sinus_bradycardia": ["hr_low"], "sinus_tachycardia": ["hr_high"],
                  "av_block_1": ["pr_prolonged"], "bundle_branch_block": ["qrs_wide"],
                  "left_axis_deviation": ["axis_left"], "right_axis_deviation": ["axis_right"],
                  "long_qt": ["qtc_prolonged"], "low_voltage": ["low_voltage"],
                  "lvh": ["lvh_voltage"], "atrial_fibrillation": ["p_absent", "rr_irregular"]}


def synthetic_check(n: int, seed: int = 11) -> dict:
    """SYNTHETIC corpus: share of parameter-guaranteed features confirmed and of clearly absent
    (parameter margin) features refuted, with fgclep measurements."""
    from fgclep.data.synthetic import generate
    from fgclep.signal import ecg_measure

    corpus = generate(n, seed=seed)
    rows = ecg_measure(corpus.signals, corpus.sampling_rate).to_dict("records")
    counts = {"true": 0, "true_confirmed": 0, "wrong": 0, "wrong_refuted": 0}
    for labels, p, row in zip(corpus.labels, corpus.params, rows):
        true = [f for lab in labels for f in SYNTHETIC_TRUE.get(lab, [])]
        true += [f"{lab}_{p['st_territory']}" for lab in ("st_elevation", "st_depression")
                 if lab in labels]
        true += [f"t_inversion_{p['t_inversion_territory']}"] if "t_inversion" in labels else []
        wrong = (["hr_low", "hr_high"] if 65 <= p["heart_rate"] <= 95 else [])
        wrong += [f for f, ok in (("pr_prolonged", "atrial_fibrillation" not in labels
                                   and p["pr_interval"] < 185),
                                  ("p_absent", "atrial_fibrillation" not in labels),
                                  ("qrs_wide", p["qrs_duration"] < 105),
                                  ("axis_left", p["qrs_axis"] > -15),
                                  ("axis_right", p["qrs_axis"] < 75),
                                  ("lvh_voltage", p["sokolow_lyon"] < 3.0),
                                  ("low_voltage", "lvh" in labels)) if ok]
        v, w = validate_features(true, row), validate_features(wrong, row)
        counts["true"] += len(true)
        counts["true_confirmed"] += len(v.confirmed)
        counts["wrong"] += len(wrong)
        counts["wrong_refuted"] += len(w.refuted)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    ap.add_argument("--repeat", type=int, default=20, help="passes for the throughput timings")
    ap.add_argument("--synthetic", type=int, default=120,
                    help="records of the synthetic check (0: skip)")
    args = ap.parse_args()
    from fgclep.signal import ecg_measure, measure_from_fiducials

    records = load_records(args.data)
    normalised = amplitude_normalised(records)
    kb, backend = load_kb(), KBBackend()
    # --- kb backend throughput (statement normalisation + matching + feature union)
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        props = [backend.propose(stmts) for _, stmts, *_ in records]
    kb_rate = args.repeat * len(records) / (time.perf_counter() - t0)
    # --- measurements: fgclep (batch) and from the cardiologists' fiducials
    t0 = time.perf_counter()
    ours = ecg_measure(np.stack([r[2] for r in records]), records[0][3]).to_dict("records")
    t_measure = time.perf_counter() - t0
    ann = [measure_from_fiducials(sig, fs, fid) for _, _, sig, fs, fid, _, _ in records]
    for rows in (ours, ann):
        for row, rec in zip(rows, records):
            row["sex"], row["age"] = rec[5], rec[6]
    # --- validation throughput
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for prop, row in zip(props, ours):
            validate_features(prop.features, row)
    val_rate = args.repeat * len(records) / (time.perf_counter() - t0)
    # --- support of each diagnosis
    table = defaultdict(lambda: {"n": 0, "fgclep": 0, "annotations": 0,
                                 "fgclep_decided": 0, "annotations_decided": 0})
    for prop, row_o, row_a in zip(props, ours, ann):
        results = {}
        for name, row in (("fgclep", row_o), ("annotations", row_a)):
            v = validate_features(prop.features, row)
            results[name] = (set(v.confirmed), set(v.refuted))
        for cid in prop.concepts:
            concept = kb.concept(cid)
            if not any(VOCABULARY[f].verifiable for s in concept.feature_sets for f in s):
                continue
            entry = table[cid]
            entry["n"] += 1
            for name, (conf, ref) in results.items():
                s = supported(concept, conf, ref)
                entry[name] += s is True
                entry[f"{name}_decided"] += s is not None
    # --- wrong proposals contradicting the annotations, validated with fgclep measurements
    wrong = defaultdict(lambda: [0, 0, 0])      # feature -> [injected, refuted, confirmed]
    for row_o, row_a in zip(ours, ann):
        inject = [f for f in WRONG_TIMING + WRONG_AMPLITUDE
                  if VOCABULARY[f].evaluate(row_a) is False]
        v = validate_features(inject, row_o)
        for f in inject:
            wrong[f][0] += 1
            wrong[f][1] += f in v.refuted
            wrong[f][2] += f in v.confirmed
    n_inj = sum(w[0] for f, w in wrong.items() if f in WRONG_TIMING)
    n_ref = sum(w[1] for f, w in wrong.items() if f in WRONG_TIMING)
    n_inj_a = sum(w[0] for f, w in wrong.items() if f in WRONG_AMPLITUDE)
    n_ref_a = sum(w[1] for f, w in wrong.items() if f in WRONG_AMPLITUDE)
    result = {"records": len(records), "kb_records_per_s": kb_rate,
              "validation_records_per_s": val_rate, "ecg_measure_s": t_measure,
              "support": {k: table[k] for k in REPORTED if k in table},
              "wrong": {k: dict(zip(("injected", "refuted", "confirmed"), v))
                        for k, v in wrong.items()},
              "wrong_refuted_rate_timing": n_ref / n_inj if n_inj else None,
              "wrong_refuted_rate_amplitude": n_ref_a / n_inj_a if n_inj_a else None,
              "amplitude_normalised_copy": normalised}
    print(f"LUDB records: {len(records)}")
    if normalised:
        print("NOTE: every lead of this LUDB copy spans exactly 1 mV peak to peak (per-lead "
              "rescaled): amplitude-based features (marked *) cannot be validated on it.")
    print("| diagnosis | records | supported (fgclep) | supported (annotations) |")
    print("|---|---:|---:|---:|")
    for cid, e in result["support"].items():
        mark = "*" if needs_amplitude(kb.concept(cid)) else ""
        print(f"| {cid}{mark} | {e['n']} | {e['fgclep']}/{e['n']} "
              f"({100 * e['fgclep'] / e['n']:.0f} %) | {e['annotations']}/{e['n']} "
              f"({100 * e['annotations'] / e['n']:.0f} %) |")
    print(f"\nwrong proposals contradicted by the annotations, refuted by fgclep measurements: "
          f"timing/rhythm features {n_ref}/{n_inj} = {100 * n_ref / max(n_inj, 1):.1f} %; "
          f"amplitude features {n_ref_a}/{n_inj_a} = {100 * n_ref_a / max(n_inj_a, 1):.1f} %")
    for f, (i, r, c) in sorted(wrong.items()):
        print(f"  {f:16s} injected {i:4d}  refuted {r:4d}  confirmed {c:3d}  "
              f"unverifiable {i - r - c:3d}")
    print(f"\nkb backend: {kb_rate:.0f} records/s; validation: {val_rate:.0f} records/s; "
          f"ecg_measure on {len(records)} records: {t_measure:.2f} s")
    if args.synthetic:
        c = synthetic_check(args.synthetic)
        result["synthetic"] = c
        print(f"SYNTHETIC ({args.synthetic} records): true features confirmed "
              f"{c['true_confirmed']}/{c['true']} = {100 * c['true_confirmed'] / c['true']:.1f} %; "
              f"absent features refuted {c['wrong_refuted']}/{c['wrong']} = "
              f"{100 * c['wrong_refuted'] / c['wrong']:.1f} %")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
