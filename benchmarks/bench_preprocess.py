"""Benchmark ``fgclep preprocess`` and cache reads.

1. Writes N WFDB records (500 Hz, 10 s, 12 leads, format 16) to a temporary folder.
2. Runs ``preprocess("wfdb", ...)`` with 1 and 2 workers for both ``ecg_clean`` methods on N
   and 4N records and reports records/s (wall time of the whole job: listing, worker start-up,
   shards, index).
3. Peak RSS of the job (the process and its workers, measured in a subprocess) for N and 4N
   records, to show memory does not grow with the dataset.
4. Random-access read throughput from the cache: ``ECGCache.signals`` batches of 256 in one
   process, and a torch DataLoader on 2 workers drawing 20,000 random indices with per-item
   fetches (batch_size=256) and whole-batch fetches (BatchSampler, batch_size=None), and the
   whole-batch fetch with num_workers=0, for float16 and float32 caches of N records.

Usage::

    python benchmarks/bench_preprocess.py [--n-records 400] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_records(folder: Path, n: int, seed: int = 0) -> None:
    import wfdb

    from fgclep.leads import LEADS_12

    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500.0
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        hr = rng.uniform(0.8, 2.0)
        beat = np.exp(-((t * hr) % 1.0 - 0.3) ** 2 / 0.0008)
        sig = rng.uniform(0.3, 1.5, (12, 1)) * beat + 0.03 * rng.standard_normal((12, 5000))
        sig += 0.2 * np.sin(2 * np.pi * 0.2 * t + rng.uniform(0, 6))  # baseline wander
        wfdb.wrsamp(f"r{i:05d}", fs=500, units=["mV"] * 12, sig_name=list(LEADS_12),
                    p_signal=sig.T, fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                    write_dir=str(folder))


def run_preprocess(root: Path, out: Path, workers: int, method: str, dtype: str = "float16"
                   ) -> float:
    from fgclep.data.preprocess import PreprocessConfig, preprocess

    res = preprocess(PreprocessConfig("wfdb", out, root=root, workers=workers, shard_size=64,
                                      clean_method=method, dtype=dtype, progress=False,
                                      overwrite=True))
    return res.n_records / res.seconds


_RSS_SNIPPET = """
import resource, sys
from pathlib import Path
from fgclep.data.preprocess import PreprocessConfig, preprocess
if __name__ == "__main__":
    preprocess(PreprocessConfig("wfdb", Path(sys.argv[2]), root=Path(sys.argv[1]), workers=1,
                                shard_size=64, progress=False, overwrite=True, limit=int(sys.argv[3])))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_mb(root: Path, out: Path, limit: int) -> float:
    script = out.parent / "rss_job.py"
    script.write_text(_RSS_SNIPPET)
    res = subprocess.run([sys.executable, str(script), str(root), str(out), str(limit)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"peak-RSS job failed:\n{res.stderr[-2000:]}")
    return int(res.stdout.strip().splitlines()[-1]) / 1024.0


def read_throughput(cache: Path, batched: bool, n_samples: int = 20000, workers: int = 2
                    ) -> float:
    """DataLoader records/s over ``n_samples`` random indices (with replacement) of the cache."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler

    from fgclep.data import open_cache

    ds = open_cache(cache)
    sampler = RandomSampler(ds, replacement=True, num_samples=n_samples)
    if batched:
        loader = DataLoader(ds, batch_size=None, num_workers=workers,
                            persistent_workers=workers > 0,
                            sampler=BatchSampler(sampler, 256, drop_last=False))
    else:
        loader = DataLoader(ds, batch_size=256, sampler=sampler, num_workers=workers,
                            persistent_workers=workers > 0)
    for i, _ in enumerate(loader):  # warm-up: worker start-up and page cache
        if i == 8:
            break
    n = 0
    start = time.perf_counter()
    for batch in loader:
        n += int(batch["signal"].shape[0])
    return n / (time.perf_counter() - start)


def read_in_process(cache: Path, repeats: int = 5) -> float:
    """Random-access batches of 256 with ``ECGCache.signals`` in this process (no workers)."""
    from fgclep.data import open_cache

    ds = open_cache(cache)
    rng = np.random.default_rng(0)
    ds.signals(np.arange(len(ds)))  # page cache warm-up
    n = 0
    start = time.perf_counter()
    for _ in range(repeats):
        for batch in np.array_split(rng.permutation(len(ds)), max(1, len(ds) // 256)):
            n += len(ds.signals(batch))
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-records", type=int, default=400)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    n = args.n_records
    results: dict = {"n_records": n, "preprocess": {}, "peak_rss_mb": {}, "read": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_records(tmp / "in", 4 * n)
        small = tmp / "in_small"
        small.mkdir()
        for hea in sorted((tmp / "in").glob("*.hea"))[:n]:
            for ext in (".hea", ".dat"):
                (small / (hea.stem + ext)).symlink_to(hea.with_suffix(ext))
        for folder, size in ((small, n), (tmp / "in", 4 * n)):
            for method in ("fgclep", "bandpass"):
                for workers in (1, 2):
                    rate = run_preprocess(folder, tmp / f"c_{method}_{workers}", workers, method)
                    results["preprocess"][f"{size} records, {method}, {workers} worker(s)"] = rate
                    print(f"preprocess {size:>5} records clean={method:<8} workers={workers}: "
                          f"{rate:8.1f} records/s", flush=True)
        for limit in (n, 4 * n):
            rss = peak_rss_mb(tmp / "in", tmp / "rss_cache", limit)
            results["peak_rss_mb"][str(limit)] = rss
            print(f"peak RSS, {limit} records, 1 worker: {rss:.0f} MB", flush=True)
        for dtype in ("float16", "float32"):
            cache = tmp / f"read_{dtype}"
            run_preprocess(small, cache, 2, "bandpass", dtype)
            rate = read_in_process(cache)
            results["read"][f"{dtype}, in-process signals()"] = rate
            print(f"read {dtype + ', in-process signals()':<32}: {rate:10.0f} records/s",
                  flush=True)
            for batched, workers in ((False, 2), (True, 2), (True, 0)):
                rate = read_throughput(cache, batched, workers=workers)
                key = f"{dtype}, {'batch fetch' if batched else 'per-item'}, {workers} workers"
                results["read"][key] = rate
                print(f"read {key:<32}: {rate:10.0f} records/s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
