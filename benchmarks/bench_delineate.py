"""Speed of fgclep's delineation + measurements vs NeuroKit2 (10 s, 12-lead, 500 Hz records).

Per record on one thread: fgclep ``ecg_clean`` + ``ecg_measure`` (end to end), ``ecg_measure``
alone (it conditions the signal itself), vs NeuroKit2 ``ecg_process`` and ``ecg_clean`` +
``ecg_peaks`` + ``ecg_delineate(method="dwt")`` run on all 12 leads of a record (a subset of
records: NeuroKit2 is slow). Then batch throughput of ``ecg_measure`` on 1 and 2 threads.

Usage::

    .venv/bin/python benchmarks/bench_delineate.py [--data ../shared/data/ludb] [--nk-records 10]

Records: LUDB's dev half when present, else the synthetic corpus.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

import fgclep
from fgclep.signal import ecg_clean, ecg_measure

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb"


def load_records(data: Path, n: int) -> tuple[np.ndarray, str]:
    heads = sorted((data / "data").glob("*.hea"), key=lambda p: int(p.stem))[:n] if data.is_dir() else []
    if heads:
        from fgclep.data import read_wfdb

        return np.stack([read_wfdb(h).signal for h in heads]).astype(np.float32), f"LUDB ({len(heads)} records)"
    from fgclep.data import synthetic

    return synthetic.generate(n, seed=0).signals, f"synthetic ({n} records)"


def per_record_ms(fn, records, repeat: int = 1) -> float:
    fn(records[0])  # warm-up
    t = time.perf_counter()
    for _ in range(repeat):
        for x in records:
            fn(x)
    return 1000.0 * (time.perf_counter() - t) / (repeat * len(records))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--nk-records", type=int, default=10)
    args = ap.parse_args()
    signals, what = load_records(args.data, args.records)
    fs = 500
    print(f"records: {what}, shape {signals.shape}")
    threads = fgclep.get_num_threads()
    fgclep.set_num_threads(1)
    rows = []
    end_to_end = per_record_ms(lambda x: ecg_measure(ecg_clean(x, fs), fs), signals, repeat=3)
    rows.append(("fgclep ecg_clean + ecg_measure", len(signals), end_to_end))
    rows.append(("fgclep ecg_measure (conditions internally)", len(signals),
                 per_record_ms(lambda x: ecg_measure(x, fs), signals, repeat=3)))
    if args.nk_records:
        import neurokit2 as nk

        sub = signals[: args.nk_records].astype(np.float64)

        def nk_process(x):
            for lead in x:
                nk.ecg_process(lead, sampling_rate=fs)

        def nk_dwt(x):
            for lead in x:
                clean = nk.ecg_clean(lead, sampling_rate=fs)
                _, info = nk.ecg_peaks(clean, sampling_rate=fs)
                nk.ecg_delineate(clean, info["ECG_R_Peaks"], sampling_rate=fs, method="dwt")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(("NeuroKit2 ecg_process (12 leads)", len(sub), per_record_ms(nk_process, sub)))
            rows.append(("NeuroKit2 clean+peaks+ecg_delineate(dwt) (12 leads)", len(sub), per_record_ms(nk_dwt, sub)))
    print("\n| method (one thread) | records | ms / record | time relative to fgclep end to end |")
    print("|---|---|---|---|")
    for name, n, ms in rows:
        print(f"| {name} | {n} | {ms:.2f} | {ms / end_to_end:.1f}x |")
    batch = np.concatenate([signals] * max(1, 400 // len(signals)))
    print(f"\n| ecg_measure batch {batch.shape} | threads | records / s | ms / record |")
    print("|---|---|---|---|")
    for t in (1, 2):
        fgclep.set_num_threads(t)
        ecg_measure(batch[:4], fs)
        t0 = time.perf_counter()
        ecg_measure(batch, fs)
        dt = time.perf_counter() - t0
        print(f"| | {t} | {len(batch) / dt:.0f} | {1000 * dt / len(batch):.2f} |")
    fgclep.set_num_threads(threads)


if __name__ == "__main__":
    main()
