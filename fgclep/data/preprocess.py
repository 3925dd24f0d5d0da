"""``fgclep preprocess``: dataset folder -> cleaned 500 Hz 10 s cache (see :mod:`fgclep.data.cache`).

Per record: require the 12 standard leads, check the sampling rate, interpolate short NaN/inf
runs (linear; equals MERL's neighbour mean for single-sample gaps) and reject long ones, reject
flat leads, cut the window of the length policy, ``fgclep.signal.ecg_clean``, resample to
500 Hz with ``fgclep.signal.resample``, zero-pad to 10 s, cast to the cache dtype.

The job is split into shards of ``shard_size`` inputs, processed by ``workers`` processes, each
shard written atomically; a re-run with the same settings keeps finished shards.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fgclep.data import cache as _cache
from fgclep.data.record import ECGRecord
from fgclep.leads import LEADS_12

__all__ = ["PreprocessConfig", "PreprocessResult", "preprocess", "prepare_signal",
           "LENGTH_POLICIES", "TARGET_RATE", "TARGET_SAMPLES"]

logger = logging.getLogger(__name__)

TARGET_RATE = 500
TARGET_SAMPLES = 5000
# Length policies: seconds of the recording kept (from its start) before zero-padding to 10 s.
# "first10": first 10 s (default). "merl_cpsc": MERL's CPSC2018 recipe, first 5 s (2,500
# samples at 500 Hz) then zero-padded to 10 s.
LENGTH_POLICIES = {"first10": 10.0, "merl_cpsc": 5.0}
_DTYPES = ("float16", "float32")
_MIN_RATE, _MAX_RATE = 100.0, 10000.0


@dataclass
class PreprocessConfig:
    """Settings of one preprocessing job (the CLI builds this)."""

    dataset: str                       # one of fgclep.data.sources.DATASETS
    out: Path                          # cache directory
    root: Path | None = None           # dataset folder (not needed for "synthetic")
    workers: int = 1                   # worker processes (1 = in this process)
    limit: int | None = None           # first N inputs only (synthetic: N records)
    dtype: str = "float16"             # cache dtype: float16 (half the disk) or float32
    length_policy: str = "first10"     # see LENGTH_POLICIES
    shard_size: int = 1024             # inputs per shard (memory per worker ~ shard_size rows)
    seed: int = 0                      # split and synthetic seed
    splits_dir: Path | None = None     # MERL split CSVs, read by column name
    clean_method: str = "fgclep"       # fgclep.signal.ecg_clean method
    max_nan_fraction: float = 0.1      # a lead with more non-finite samples is rejected
    progress: bool = True              # tqdm progress bar
    overwrite: bool = False            # delete an existing cache at `out` first
    options: dict[str, Any] = field(default_factory=dict)  # source-specific (e.g. csv, min_words)


@dataclass
class PreprocessResult:
    """What a job did."""

    out: Path
    n_records: int
    n_skipped: int
    seconds: float
    records_per_second: float


def _fix_non_finite(signal: np.ndarray, max_fraction: float) -> np.ndarray:
    bad = ~np.isfinite(signal)
    if not bad.any():
        return signal
    signal = signal.copy()
    n = signal.shape[1]
    x = np.arange(n)
    for lead in np.nonzero(bad.any(axis=1))[0]:
        frac = bad[lead].mean()
        name = LEADS_12[lead] if signal.shape[0] == 12 else str(lead)
        if frac > max_fraction:
            raise ValueError(f"lead {name}: {100 * frac:.1f}% of samples are NaN/inf "
                             f"(limit {100 * max_fraction:.1f}%)")
        good = ~bad[lead]
        signal[lead, bad[lead]] = np.interp(x[bad[lead]], x[good], signal[lead, good])
    return signal


def prepare_signal(record: ECGRecord, *, length_policy: str = "first10",
                   clean_method: str = "fgclep", max_nan_fraction: float = 0.1,
                   expected_rate: float | None = None) -> np.ndarray:
    """Turn one record into the cache's float32 ``(12, 5000)`` cleaned 500 Hz 10 s signal.

    Parameters
    ----------
    record : ECGRecord
        As returned by a reader.
    length_policy : {"first10", "merl_cpsc"}
        Window kept from the start of the recording before zero-padding to 10 s.
    clean_method : str
        Passed to :func:`fgclep.signal.ecg_clean`.
    max_nan_fraction : float
        Largest share of NaN/inf samples per lead that is interpolated instead of rejected.
    expected_rate : float, optional
        Sampling rate the dataset promises; a record with another rate is rejected.

    Raises
    ------
    ValueError
        With the reason (missing leads, wrong sampling rate, NaN runs, flat lead, too short).
    """
    from fgclep.signal import ecg_clean, resample

    if length_policy not in LENGTH_POLICIES:
        raise ValueError(f"prepare_signal: length_policy must be one of "
                         f"{sorted(LENGTH_POLICIES)}, got {length_policy!r}")
    if record.lead_names != LEADS_12:
        missing = [lead for lead in LEADS_12 if lead not in record.lead_names]
        raise ValueError(f"missing leads {missing} (has {list(record.lead_names)})"
                         if missing else f"unexpected leads {list(record.lead_names)}")
    fs = record.sampling_rate
    if expected_rate is not None and abs(fs - expected_rate) > 1e-6:
        raise ValueError(f"wrong sampling rate {fs:g} Hz (dataset uses {expected_rate:g} Hz)")
    if not _MIN_RATE <= fs <= _MAX_RATE:
        raise ValueError(f"implausible sampling rate {fs:g} Hz (accepted {_MIN_RATE:g}-"
                         f"{_MAX_RATE:g} Hz)")
    keep = int(round(LENGTH_POLICIES[length_policy] * fs))
    signal = record.signal[:, :keep]
    if signal.shape[1] < int(fs):
        raise ValueError(f"too short: {signal.shape[1] / fs:.2f} s (need at least 1 s)")
    signal = _fix_non_finite(signal, max_nan_fraction)
    flat = np.ptp(signal, axis=1) == 0
    if flat.any():
        raise ValueError(f"flat lead(s) {[LEADS_12[i] for i in np.nonzero(flat)[0]]} "
                         f"(constant, e.g. all zero)")
    cleaned = ecg_clean(np.ascontiguousarray(signal, dtype=np.float32), fs,
                        method=clean_method)
    if abs(fs - TARGET_RATE) > 1e-6:
        cleaned = resample(cleaned, fs, TARGET_RATE)
    out = np.zeros((12, TARGET_SAMPLES), dtype=np.float32)
    n = min(cleaned.shape[1], int(round(LENGTH_POLICIES[length_policy] * TARGET_RATE)))
    out[:, :n] = cleaned[:, :n]
    if not np.isfinite(out).all():
        raise ValueError("cleaning produced non-finite values")
    return out


# ----------------------------------------------------------------------------- shard workers
_WORKER_SOURCE: dict[str, Any] = {}


def _worker_init(threads: int | None) -> None:
    if threads is not None:
        try:
            import fgclep

            fgclep.set_num_threads(threads)
        except ImportError:  # C++ core not built: nothing to limit
            pass


def _source_for(cfg: PreprocessConfig):
    from fgclep.data.sources import make_source

    key = json.dumps([cfg.dataset, str(cfg.root), cfg.seed, cfg.options], sort_keys=True,
                     default=str)
    if key not in _WORKER_SOURCE:
        _WORKER_SOURCE.clear()
        _WORKER_SOURCE[key] = make_source(cfg.dataset, cfg.root, seed=cfg.seed, **cfg.options)
    return _WORKER_SOURCE[key]


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float, np.integer, np.floating))


def _process_shard(cfg: PreprocessConfig, shard: int, items: list[dict]) -> tuple[int, int, int]:
    import pandas as pd

    source = _source_for(cfg)
    signals = np.zeros((len(items), 12, TARGET_SAMPLES), dtype=cfg.dtype)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    truth: list[str] = []
    for item, result in source.load_many(items):
        where = source.describe(item)
        if isinstance(result, Exception):
            skipped.append({"source": where, "reason": str(result)})
            continue
        try:
            signal = prepare_signal(result, length_policy=cfg.length_policy,
                                    clean_method=cfg.clean_method,
                                    max_nan_fraction=cfg.max_nan_fraction,
                                    expected_rate=source.expected_rate)
        except ValueError as exc:
            skipped.append({"source": where, "reason": f"{result.source}: {exc}"})
            continue
        k = len(rows)
        signals[k] = signal
        row = {"id": result.record_id, "source": result.source, "report": result.report,
               "labels": ";".join(result.labels), "shard": shard, "row": k}
        row.update({f"meta_{key}": val for key, val in result.meta.items() if _scalar(val)})
        rows.append(row)
        if "ground_truth" in result.meta:
            truth.append(json.dumps({"id": result.record_id, **result.meta["ground_truth"]}))
    index = pd.DataFrame(rows, columns=None if rows else
                         [c for c in _cache.INDEX_COLUMNS if c != "split"])
    skipped_df = pd.DataFrame(skipped, columns=list(_cache.SKIPPED_COLUMNS))
    if truth:
        paths = _cache.shard_paths(cfg.out, shard)
        paths["npy"].parent.mkdir(parents=True, exist_ok=True)
        _cache._atomic_write_text(Path(f"{paths['npy'].with_suffix('')}.truth.jsonl"),
                                  "\n".join(truth) + "\n")
    _cache.write_shard(cfg.out, shard, signals[: len(rows)], index, skipped_df)
    return shard, len(rows), len(skipped)


# ----------------------------------------------------------------------------- orchestration
def _settings(cfg: PreprocessConfig, n_items: int) -> dict[str, Any]:
    keys = ("dataset", "limit", "dtype", "length_policy", "shard_size", "seed", "clean_method",
            "max_nan_fraction", "options")
    settings = {k: v for k, v in asdict(cfg).items() if k in keys}
    settings["root"] = str(Path(cfg.root).resolve()) if cfg.root is not None else None
    settings["n_inputs"] = n_items
    return json.loads(json.dumps(settings, default=str))


def _validate(cfg: PreprocessConfig) -> None:
    if cfg.dtype not in _DTYPES:
        raise ValueError(f"preprocess: dtype must be one of {_DTYPES}, got {cfg.dtype!r}")
    if cfg.length_policy not in LENGTH_POLICIES:
        raise ValueError(f"preprocess: length_policy must be one of {sorted(LENGTH_POLICIES)}, "
                         f"got {cfg.length_policy!r}")
    for name in ("workers", "shard_size"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"preprocess: {name} must be a positive int, got {value!r}")
    if cfg.limit is not None and (not isinstance(cfg.limit, int) or cfg.limit < 1):
        raise ValueError(f"preprocess: limit must be a positive int, got {cfg.limit!r}")


def preprocess(cfg: PreprocessConfig) -> PreprocessResult:
    """Run (or resume) a preprocessing job and write the cache described in :mod:`~fgclep.data.cache`.

    Parameters
    ----------
    cfg : PreprocessConfig

    Returns
    -------
    PreprocessResult

    Raises
    ------
    ValueError
        Bad settings, an empty dataset folder, or an existing cache at ``out`` written with
        other settings (use ``overwrite=True`` or another folder).

    Examples
    --------
    >>> preprocess(PreprocessConfig("synthetic", Path("cache"), limit=100))  # doctest: +SKIP
    """
    from fgclep.data.finalize import finalize_cache
    from fgclep.data.sources import make_source

    _validate(cfg)
    start = time.perf_counter()
    out = Path(cfg.out)
    cfg.out = out
    from fgclep._paths import check_dir_path
    check_dir_path(out, "preprocess")
    source = make_source(cfg.dataset, cfg.root, seed=cfg.seed, **cfg.options)
    items, early_skips = source.list_items(cfg.limit)
    if not items and not early_skips:
        raise ValueError(f"preprocess: no {cfg.dataset} records found"
                         + (f" in {cfg.root}" if cfg.root is not None else ""))
    settings = _settings(cfg, len(items))
    meta_path = out / "meta.json"
    if cfg.overwrite and out.exists():
        shutil.rmtree(out)
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text(encoding="utf-8")).get("settings")
        except (OSError, ValueError, AttributeError) as exc:
            raise ValueError(f"preprocess: cannot read {meta_path} of the existing cache ({exc}); "
                             "use another --out or --overwrite") from None
        if old != settings:
            diff = sorted(k for k in set(old or {}) | set(settings)
                          if (old or {}).get(k) != settings.get(k))
            raise ValueError(f"preprocess: {out} holds a cache made with other settings "
                             f"(differs in {diff}); use another --out or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    meta = {"format_version": _cache.CACHE_FORMAT_VERSION, "dataset": cfg.dataset,
            "sampling_rate": TARGET_RATE, "n_samples": TARGET_SAMPLES,
            "lead_names": list(LEADS_12), "dtype": cfg.dtype, "settings": settings,
            "complete": False}
    _cache._atomic_write_text(meta_path, json.dumps(meta, indent=2))

    n_shards = (len(items) + cfg.shard_size - 1) // cfg.shard_size
    todo = [s for s in range(n_shards) if not _cache.shard_done(out, s)]
    if len(todo) < n_shards:
        logger.info("resuming: %d of %d shards already done", n_shards - len(todo), n_shards)
    tasks = [(cfg, s, items[s * cfg.shard_size:(s + 1) * cfg.shard_size]) for s in todo]
    n_todo = sum(len(t[2]) for t in tasks)
    _run_shards(cfg, tasks, n_todo)
    n_ok, n_skip = finalize_cache(out, cfg, source, n_shards, early_skips, meta)
    seconds = time.perf_counter() - start
    rate = n_todo / seconds if seconds > 0 else float("inf")
    logger.info("preprocess: %d records, %d skipped, %.1f s (%.0f records/s)",
                n_ok, n_skip, seconds, rate)
    return PreprocessResult(out=out, n_records=n_ok, n_skipped=n_skip, seconds=seconds,
                            records_per_second=rate)


def _run_shards(cfg: PreprocessConfig, tasks: list[tuple], n_todo: int) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(total=n_todo, unit="rec", disable=not cfg.progress, desc=f"preprocess {cfg.dataset}")
    try:
        if cfg.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                _, n_ok, n_skip = _process_shard(*task)
                bar.update(n_ok + n_skip)
            return
        # forkserver: workers fork from a clean server process (never from a parent that may
        # hold threads); a crashed worker raises BrokenProcessPool instead of hanging.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            from fgclep.data.sources import DATASETS

            # Imported once in the server, inherited by every worker it forks.
            ctx.set_forkserver_preload(["fgclep.data.preprocess", "fgclep.signal", "pandas",
                                        DATASETS[cfg.dataset].split(":")[0]])
        with ProcessPoolExecutor(max_workers=min(cfg.workers, len(tasks)), mp_context=ctx,
                                 initializer=_worker_init, initargs=(1,)) as pool:
            futures = [pool.submit(_process_shard, *task) for task in tasks]
            for future in as_completed(futures):
                _, n_ok, n_skip = future.result()
                bar.update(n_ok + n_skip)
    finally:
        bar.close()
