"""Zero-phase band-pass: fgclep's C++ core against scipy.signal.sosfiltfilt, same run.

Prints a Markdown table: a (records, 12, 5000) float32 batch and a single (12, 5000) record,
with 1 and 2 threads (scipy is single-threaded), wall and process CPU time (the CPU time of a
2-thread run sums both threads; on a shared machine it shows the work done, the wall time
what a user waits); parity as max |fgclep - scipy| / max |signal| for float32 and float64;
and ecg_clean's cost per record.

    .venv/bin/python benchmarks/bench_filter.py            # the issue's (1000, 12, 5000) batch
    .venv/bin/python benchmarks/bench_filter.py --records 200
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy
import scipy.signal as sps

import fgclep
from fgclep.signal import bandpass, ecg_clean

FS = 500.0


def best_time(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls (the least disturbed by other processes)."""
    return best_times(fn, repeats)[0]


def best_times(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and best process CPU time (all threads) of `repeats` calls."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def ecg_like(n_records: int, seed: int = 0) -> np.ndarray:
    """Random walk (baseline wander) + white noise + a 1.2 Hz spiky 'beat' train, in mV."""
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / FS
    beats = np.exp(-((np.mod(t, 1 / 1.2) - 0.4) ** 2) / (2 * 0.01**2))
    x = np.empty((n_records, 12, 5000), np.float32)
    for i in range(n_records):
        walk = np.cumsum(rng.standard_normal((12, 5000)), axis=-1) * 0.01
        x[i] = walk + 0.05 * rng.standard_normal((12, 5000)) + beats * rng.uniform(0.5, 1.5, (12, 1))
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000, help="records in the batch (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each fgclep batch call (best kept)")
    parser.add_argument("--scipy-repeats", type=int, default=2, help="timed repeats of the scipy batch call")
    args = parser.parse_args()

    sos = sps.butter(4, [0.5, 40.0], btype="band", fs=FS, output="sos")
    batch = ecg_like(args.records)
    record = batch[0]
    threads_before = fgclep.get_num_threads()
    rows = []

    sps.sosfiltfilt(sos, batch[:10], axis=-1)  # warm-up
    t_scipy_batch = best_times(lambda: sps.sosfiltfilt(sos, batch, axis=-1), args.scipy_repeats)
    t_scipy_record = best_times(lambda: sps.sosfiltfilt(sos, record, axis=-1), 50)
    for threads in (1, 2):
        fgclep.set_num_threads(threads)
        bandpass(record, FS)  # warm-up
        t_batch = best_times(lambda: bandpass(batch, FS), args.repeats)
        t_record = best_times(lambda: bandpass(record, FS), 50)
        rows.append((f"batch {batch.shape} float32", threads, t_scipy_batch, t_batch))
        rows.append((f"record {record.shape} float32", threads, t_scipy_record, t_record))

    # Parity on the batch (float32) and a 100-record slice in float64.
    fgclep.set_num_threads(2)
    ref32 = sps.sosfiltfilt(sos, batch, axis=-1)
    err32 = float(np.max(np.abs(bandpass(batch, FS) - ref32)) / np.max(np.abs(batch)))
    del ref32
    x64 = batch[:100].astype(np.float64)
    err64 = float(np.max(np.abs(bandpass(x64, FS) - sps.sosfiltfilt(sos, x64, axis=-1))) / np.max(np.abs(x64)))

    clean = []
    n_clean = min(200, len(batch))
    for threads in (1, 2):
        fgclep.set_num_threads(threads)
        for method in ("fgclep", "bandpass"):
            wall, cpu = best_times(lambda: ecg_clean(batch[:n_clean], FS, method=method), 2)
            t1 = best_time(lambda: ecg_clean(record, FS, method=method), 30)
            clean.append((method, threads, wall / n_clean, cpu / n_clean, t1))
    fgclep.set_num_threads(threads_before)

    print(f"fgclep {fgclep.__version__}, scipy {scipy.__version__}, numpy {np.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, filter kernel {fgclep._core.filter_kernel_name()}, "
          f"load average before/after {os.getloadavg()[0]:.1f}")
    print()
    print("Band-pass 0.5-40 Hz, order 4, zero-phase (scipy: butter(output='sos') + sosfiltfilt(axis=-1))")
    print()
    print("| input | fgclep threads | scipy wall (s) | fgclep wall (s) | speed-up (wall) | scipy CPU (s) | fgclep CPU (s) | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, threads, (ws, cs), (wf, cf) in rows:
        print(f"| {name} | {threads} | {ws:.4f} | {wf:.4f} | {ws / wf:.1f}x | {cs:.4f} | {cf:.4f} | {cs / cf:.1f}x |")
    print()
    print(f"max |fgclep - scipy| / max |signal|: float32 {err32:.1e} (batch), float64 {err64:.1e} (100 records)")
    print()
    print(f"| ecg_clean method | threads | wall ms/record, {n_clean}-record batch | CPU ms/record, same | "
          "wall ms for one (12, 5000) record |")
    print("|---|---|---|---|---|")
    for method, threads, wall, cpu, t1 in clean:
        print(f"| {method} | {threads} | {wall * 1e3:.2f} | {cpu * 1e3:.2f} | {t1 * 1e3:.2f} |")


if __name__ == "__main__":
    main()
