"""Measurement tables for many records: the library behind ``fgclep extract-features``.

Inputs may be WFDB records (path with or without ``.hea``), directories (every ``*.hea`` below
them) or preprocessed caches (a directory with ``meta.json``, see :func:`fgclep.data.open_cache`).
Each record is delineated and measured in C++ (:func:`fgclep.signal.measure.analyze_record`);
threads overlap reading and measuring since the C++ core releases the GIL. A record that cannot be
read or measured is listed in ``skipped.csv`` beside the output with the reason; the rest complete.
"""
from __future__ import annotations

import csv
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from fgclep.leads import FIDUCIALS, measurement_columns

__all__ = ["ExtractResult", "extract_features", "iter_sources"]

logger = logging.getLogger(__name__)

FIDUCIAL_COLUMNS = ("record", "lead", "beat", *FIDUCIALS)


@dataclass
class ExtractResult:
    """What :func:`extract_features` wrote."""

    features_path: Path
    fiducials_path: Path | None
    skipped_path: Path
    n_records: int
    n_skipped: int


@dataclass
class _Source:
    name: str                       # the ``record`` column
    load: Callable[[], tuple]       # -> (signal, sampling_rate, lead_names)
    low_passed: bool = False        # a cleaned cache: pacing stimuli were filtered out


def _wfdb_loader(path: Path) -> Callable[[], tuple]:
    def load():
        from fgclep.data import read_wfdb

        rec = read_wfdb(path)
        return rec.signal, rec.sampling_rate, rec.lead_names
    return load


def _cache_loader(ds, i: int) -> Callable[[], tuple]:
    def load():
        return ds.signals([i])[0], float(ds.meta["sampling_rate"]), tuple(ds.meta["lead_names"])
    return load


def iter_sources(inputs: Sequence[str | os.PathLike]) -> Iterator[_Source]:
    """Expand the INPUT arguments into named record loaders (ValueError for a missing input)."""
    for item in inputs:
        given = str(item)
        path = Path(item)
        if path.is_dir() and (path / "meta.json").is_file():
            from fgclep.data import open_cache

            ds = open_cache(path)
            for i, rid in enumerate(ds.index["id"].tolist()):
                yield _Source(str(rid), _cache_loader(ds, i), low_passed=True)
        elif path.is_dir():
            headers = sorted(path.rglob("*.hea"))
            if not headers:
                raise ValueError(f"extract_features: directory {given!r} holds no WFDB records (*.hea)")
            for hea in headers:
                yield _Source(hea.relative_to(path).with_suffix("").as_posix(), _wfdb_loader(hea))
        elif (path.suffix == ".hea" and path.is_file()) or path.with_name(path.name + ".hea").is_file():
            yield _Source(given, _wfdb_loader(path))
        else:
            raise ValueError(f"extract_features: input {given!r} is not a WFDB record, a directory or a cache")


def _process(src: _Source, want_fiducials: bool):
    from fgclep.signal.measure import analyze_record

    try:
        signal, fs, names = src.load()
        signal = np.asarray(signal)
        if signal.ndim != 2 or signal.shape[1] < 2:
            raise ValueError(f"signal has shape {signal.shape}, expected (leads, samples)")
        if not np.isfinite(signal).any():
            raise ValueError("signal has no finite samples")
        d, values = analyze_record(signal, fs, names)
        if src.low_passed:  # a cache's 40 Hz cleaning removed any stimulus: not measurable there
            values["paced_fraction"] = float("nan")
    except Exception as exc:  # noqa: BLE001 - a batch job records the reason and goes on
        return src.name, None, None, f"{type(exc).__name__}: {exc}"
    return src.name, values, d.to_rows(src.name) if want_fiducials else None, None


def extract_features(inputs: Sequence[str | os.PathLike], out: str | os.PathLike,
                     fiducials: str | os.PathLike | None = None, workers: int = 1,
                     progress: bool = True) -> ExtractResult:
    """Measure every record of ``inputs`` and write one CSV row per record.

    Parameters
    ----------
    inputs : sequence of path
        WFDB record paths (with or without ``.hea``), directories, or preprocessed caches.
    out : path
        FEATURES.csv: column ``record`` (the path as given; for a directory the record's path
        relative to it without extension; for a cache the record id), then
        ``fgclep.leads.measurement_columns()``.
    fiducials : path, optional
        FIDUCIALS.csv: ``record, lead, beat, p_on, ..., t_off`` in samples at the record's own
        rate; ``lead`` is the lower-case signal name or ``global``; ``-1`` = absent.
    workers : int
        Threads (reading and C++ measuring overlap; the C++ core releases the GIL).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ExtractResult
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"extract_features: workers must be an int >= 1, got {workers!r}")
    if not inputs:
        raise ValueError("extract_features: no inputs given")
    sources = list(iter_sources(inputs))
    from fgclep._paths import check_file_path, make_dir
    out = check_file_path(out, "extract_features")
    fid_path = check_file_path(fiducials, "extract_features", "fiducials") if fiducials is not None else None
    make_dir(out.parent, "extract_features", "folder of out")
    if fid_path is not None:
        make_dir(fid_path.parent, "extract_features", "folder of fiducials")
    skipped_path = out.parent / "skipped.csv"
    columns = measurement_columns()
    from tqdm.auto import tqdm

    n_ok = n_skip = 0
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            open(out, "w", newline="", encoding="utf-8") as f_out, \
            open(skipped_path, "w", newline="", encoding="utf-8") as f_skip, \
            (open(fid_path, "w", newline="", encoding="utf-8") if fid_path else open(os.devnull, "w")) as f_fid:
        w_out = csv.writer(f_out)
        w_out.writerow(["record", *columns])
        w_skip = csv.writer(f_skip)
        w_skip.writerow(["record", "reason"])
        w_fid = csv.DictWriter(f_fid, fieldnames=FIDUCIAL_COLUMNS)
        if fid_path:
            w_fid.writeheader()
        results = pool.map(lambda s: _process(s, fid_path is not None), sources)
        for name, values, rows, reason in tqdm(results, total=len(sources), disable=not progress,
                                              desc="extract-features", unit="rec"):
            if reason is not None:
                logger.warning("skipped %s: %s", name, reason)
                w_skip.writerow([name, reason])
                n_skip += 1
                continue
            w_out.writerow([name, *(repr(float(values[c])) if np.isfinite(values[c]) else "nan" for c in columns)])
            if rows:
                w_fid.writerows(rows)
            n_ok += 1
    return ExtractResult(out, fid_path, skipped_path, n_ok, n_skip)


def plot_record(record: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Draw a WFDB record on ECG paper with its fiducials (``fgclep plot-ecg``).

    Parameters
    ----------
    record : path
        WFDB record path, with or without ``.hea``.
    out : path
        Image file to write.

    Returns
    -------
    Path
        ``out``.
    """
    from fgclep.data import read_wfdb
    from fgclep.plot import ecg_grid
    from fgclep.signal.measure import analyze_record

    rec = read_wfdb(record)
    d, m = analyze_record(rec.signal, rec.sampling_rate, rec.lead_names)
    hr = m["heart_rate"]
    title = f"{Path(record).name}: {d.n_beats} beats" + (f", {hr:.0f} bpm" if np.isfinite(hr) else "")
    from fgclep._paths import check_file_path, make_dir
    out = check_file_path(out, "plot_record")
    make_dir(out.parent, "plot_record", "folder of out")
    fig = ecg_grid(np.nan_to_num(rec.signal), rec.sampling_rate, lead_names=rec.lead_names,
                   fiducials=d.per_lead, title=title)
    fig.savefig(out)
    return out
