"""The preprocessing cache: sharded ``.npy`` signal files plus a CSV index.

Layout of a cache directory::

    meta.json             sampling_rate, n_samples, lead_names, dtype, dataset, settings
    index.csv             one row per record: id, source, report, labels, split, shard, row,
                          then dataset extras as ``meta_<name>`` columns
    skipped.csv           source, reason: every input that did not make it, and why
    shards/shard_NNNNN.npy          float16 or float32 (k, 12, 5000)
    shards/shard_NNNNN.index.csv    the index rows of that shard (written last: its presence
    shards/shard_NNNNN.skipped.csv  marks the shard complete, which makes runs resumable)
    enhanced_reports.csv  optional, written by ``fgclep recover-features`` (id, enhanced_report)
    synthetic_params.jsonl / ludb_fiducials.jsonl   ground truth per record id (synthetic
                          corpus parameters; LUDB's annotated fiducials as FIDUCIALS arrays)

Reading never loads a whole shard: each shard is opened with ``np.load(mmap_mode="r")`` the
first time a process touches it (so forked or spawned DataLoader workers each map their own).
"""
from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["ECGCache", "open_cache", "write_shard", "shard_done", "shard_paths",
           "INDEX_COLUMNS", "CACHE_FORMAT_VERSION"]

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
INDEX_COLUMNS = ("id", "source", "report", "labels", "split", "shard", "row")
SKIPPED_COLUMNS = ("source", "reason")
_REPORT_KINDS = ("original", "enhanced")
_TORCH_CHUNK = 30000


def shard_paths(cache_dir: str | os.PathLike, shard: int) -> dict[str, Path]:
    """Paths of one shard's files (``npy``, ``index``, ``skipped``)."""
    base = Path(cache_dir) / "shards" / f"shard_{shard:05d}"
    return {"npy": base.with_suffix(".npy"), "index": Path(f"{base}.index.csv"),
            "skipped": Path(f"{base}.skipped.csv")}


def shard_done(cache_dir: str | os.PathLike, shard: int) -> bool:
    """True when a shard was completely written (its index part exists)."""
    return shard_paths(cache_dir, shard)["index"].is_file()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_shard(cache_dir: str | os.PathLike, shard: int, signals: np.ndarray,
                index_rows: "Any", skipped_rows: "Any") -> None:
    """Write one shard atomically: signals, skipped part, then the index part (the marker).

    Parameters
    ----------
    cache_dir : path
        The cache directory.
    shard : int
        Shard number.
    signals : numpy.ndarray
        ``(k, 12, n_samples)`` in the cache dtype; row ``r`` belongs to ``index_rows`` row ``r``.
    index_rows, skipped_rows : pandas.DataFrame
        Index part (columns INDEX_COLUMNS minus split, plus extras) and skipped part.
    """
    paths = shard_paths(cache_dir, shard)
    paths["npy"].parent.mkdir(parents=True, exist_ok=True)
    tmp = paths["npy"].with_name(paths["npy"].name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(signals))
    os.replace(tmp, paths["npy"])
    _atomic_write_text(paths["skipped"], skipped_rows.to_csv(index=False))
    _atomic_write_text(paths["index"], index_rows.to_csv(index=False))


def _read_csv(path: Path) -> "Any":
    import pandas as pd

    return pd.read_csv(path, dtype={"id": str, "source": str, "report": str, "labels": str,
                                    "split": str, "reason": str},
                       keep_default_na=False, na_values={"shard": [""], "row": [""]},
                       encoding="utf-8")


def _copy_record(dst: np.ndarray, src: np.ndarray, backend: str = "auto") -> None:
    """Copy one cached record into float32 ``dst``.

    float16 -> float32 goes through torch when it is available (``backend="auto"``): its
    vectorised conversion is ~7x faster than NumPy's; ``backend="numpy"`` is the plain twin.
    ``dst`` and ``src`` are C-contiguous ``(leads, samples)``.
    Both conversions are exact.
    """
    if src.dtype == np.float32 or backend == "numpy":
        np.copyto(dst, src)
        return
    try:
        import torch
    except ImportError:  # torch is a dependency, but keep reading possible without it
        np.copyto(dst, src)
        return
    # In chunks under torch's parallel grain size (32768), so each copy runs on the calling
    # thread (waking the intra-op pool for a 60k-element copy is far slower on busy cores).
    flat_dst, flat_src = dst.reshape(-1), src.reshape(-1)
    for start in range(0, flat_dst.size, _TORCH_CHUNK):
        torch.from_numpy(flat_dst[start:start + _TORCH_CHUNK]).copy_(
            torch.from_numpy(flat_src[start:start + _TORCH_CHUNK]))


class ECGCache:
    """Random-access view of a preprocessing cache (a map-style torch Dataset).

    ``ds[i]`` returns ``dict(signal=float32 (12, n_samples), report=str, id=str, index=int)``.
    ``ds[list_of_indices]`` returns the same keys batched (``signal`` ``(k, 12, n_samples)``,
    ``report``/``id`` lists, ``index`` int64 array): with a ``BatchSampler`` and
    ``batch_size=None`` a DataLoader then fetches whole batches in one call (inside a
    DataLoader worker the batched ``signal`` is a float32 torch tensor in shared memory).

    Parameters
    ----------
    path : path
        Cache directory written by :func:`fgclep.data.preprocess.preprocess`.
    reports : {"original", "enhanced"}
        Which report text ``report`` holds; ``"enhanced"`` reads ``enhanced_reports.csv``
        and falls back to the original (with a warning) for ids it lacks.
    """

    def __init__(self, path: str | os.PathLike, reports: str = "original") -> None:
        if reports not in _REPORT_KINDS:
            raise ValueError(f"open_cache: reports must be one of {_REPORT_KINDS}, "
                             f"got {reports!r}")
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        index_path = self.path / "index.csv"
        if not meta_path.is_file() or not index_path.is_file():
            raise ValueError(f"open_cache: {self.path} is not a finished fgclep cache "
                             f"(meta.json and index.csv are required)")
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ValueError(f"open_cache: cannot read {meta_path}: {exc}") from None
        if not isinstance(self.meta, dict):
            raise ValueError(f"open_cache: {meta_path} must hold a JSON object")
        try:
            self.index = _read_csv(index_path)
        except (OSError, ValueError) as exc:  # pandas' ParserError is a ValueError
            raise ValueError(f"open_cache: cannot read {index_path}: {exc}") from None
        missing = [c for c in INDEX_COLUMNS if c not in self.index.columns]
        if missing:
            raise ValueError(f"open_cache: {index_path} lacks columns {missing}")
        try:
            self._shard = self.index["shard"].to_numpy(dtype=np.int64)
            self._row = self.index["row"].to_numpy(dtype=np.int64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"open_cache: {index_path}: shard/row columns must be integers "
                             f"({exc})") from None
        self._ids = self.index["id"].tolist()
        self._reports = self._load_reports(reports)
        self.reports_kind = reports
        self._maps: dict[int, np.ndarray] = {}
        self._pid = os.getpid()

    def _load_reports(self, kind: str) -> list[str]:
        original = self.index["report"].tolist()
        if kind == "original":
            return original
        enhanced_path = self.path / "enhanced_reports.csv"
        if not enhanced_path.is_file():
            raise ValueError(f"open_cache: reports='enhanced' but {enhanced_path} does not "
                             f"exist (run `fgclep recover-features` first)")
        import pandas as pd

        table = pd.read_csv(enhanced_path, dtype=str, keep_default_na=False)
        if "id" not in table.columns or "enhanced_report" not in table.columns:
            raise ValueError(f"open_cache: {enhanced_path} needs columns id, enhanced_report")
        lookup = dict(zip(table["id"], table["enhanced_report"]))
        out = [lookup.get(i, r) for i, r in zip(self._ids, original)]
        n_missing = sum(1 for i in self._ids if i not in lookup)
        if n_missing:
            warnings.warn(f"open_cache: {n_missing} of {len(self._ids)} records have no enhanced "
                          f"report in {enhanced_path}; using their original reports",
                          stacklevel=3)
        return out

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def reports(self) -> list[str]:
        """Report text of every record, as opened (enhanced ones substituted), without reading
        any signal."""
        return list(self._reports)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = {}  # memory maps are per process: reopen lazily after unpickling
        return state

    def _shard_array(self, shard: int) -> np.ndarray:
        if self._pid != os.getpid():  # forked worker: do not share the parent's maps
            self._maps = {}
            self._pid = os.getpid()
        arr = self._maps.get(shard)
        if arr is None:
            # Copy-on-write map: never written, but writable views let torch wrap them
            # without a read-only warning.
            npy = shard_paths(self.path, shard)["npy"]
            try:
                arr = np.load(npy, mmap_mode="c")
            except (OSError, ValueError, EOFError) as exc:
                raise ValueError(f"ECGCache: cannot read shard {npy}: {exc} (truncated or corrupt; "
                                 "re-run fgclep preprocess with --overwrite)") from None
            self._maps[shard] = arr
        return arr

    def _check_index(self, i: int) -> int:
        n = len(self._ids)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"ECGCache index {i} out of range for {n} records")
        return i

    def signals(self, indices: Sequence[int] | np.ndarray, out: np.ndarray | None = None
                ) -> np.ndarray:
        """Signals of several records as float32 ``(k, 12, n_samples)``, in the order given
        (written into ``out`` when given)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self._ids)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"ECGCache.signals: indices out of range for {n} records")
        idx = np.where(idx < 0, idx + n, idx)
        shape = (idx.size, len(self.meta["lead_names"]), int(self.meta["n_samples"]))
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32:
            raise ValueError(f"ECGCache.signals: out must be float32 {shape}, got "
                             f"{out.dtype} {out.shape}")
        shards, rows = self._shard[idx], self._row[idx]
        for p in range(idx.size):  # one copy per record, straight from the map into `out`
            _copy_record(out[p], self._shard_array(int(shards[p]))[rows[p]])
        return out

    def __getitem__(self, item: Any) -> dict[str, Any]:
        if isinstance(item, (int, np.integer)):
            i = self._check_index(int(item))
            arr = self._shard_array(int(self._shard[i]))
            signal = np.empty(arr.shape[1:], dtype=np.float32)
            _copy_record(signal, arr[self._row[i]])
            return {"signal": signal, "report": self._reports[i], "id": self._ids[i],
                    "index": i}
        idx = np.asarray(item, dtype=np.int64).reshape(-1)
        idx = np.array([self._check_index(int(i)) for i in idx], dtype=np.int64)
        return {"signal": self._batch_signals(idx), "report": [self._reports[i] for i in idx],
                "id": [self._ids[i] for i in idx], "index": idx}

    def _batch_signals(self, idx: np.ndarray) -> Any:
        """A batch's signals; inside a torch DataLoader worker, a tensor in shared memory.

        Writing straight into shared memory saves the copy torch would otherwise make to send
        the batch to the main process (what ``default_collate`` does for per-item batches).
        """
        torch = sys.modules.get("torch")
        if torch is None or torch.utils.data.get_worker_info() is None:
            return self.signals(idx)
        shape = (idx.size, len(self.meta["lead_names"]), int(self.meta["n_samples"]))
        buffer = torch.empty(shape, dtype=torch.float32).share_memory_()
        self.signals(idx, out=buffer.numpy())
        return buffer

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """Batched fetch used by torch's DataLoader (one shard lookup per batch)."""
        idx = np.array([self._check_index(int(i)) for i in indices], dtype=np.int64)
        sig = self.signals(idx)
        return [{"signal": sig[k], "report": self._reports[i], "id": self._ids[i],
                 "index": int(i)} for k, i in enumerate(idx)]

    def __repr__(self) -> str:
        return (f"ECGCache({str(self.path)!r}, n={len(self)}, dataset="
                f"{self.meta.get('dataset')!r}, dtype={self.meta.get('dtype')!r})")


def open_cache(path: str | os.PathLike, reports: str = "original") -> ECGCache:
    """Open a preprocessing cache for reading.

    Parameters
    ----------
    path : path
        Cache directory (``fgclep preprocess ... --out PATH``).
    reports : {"original", "enhanced"}
        Report text to return (see :class:`ECGCache`).

    Returns
    -------
    ECGCache

    Examples
    --------
    >>> ds = open_cache("cache/synthetic")  # doctest: +SKIP
    >>> ds[0]["signal"].shape  # doctest: +SKIP
    (12, 5000)
    """
    return ECGCache(path, reports=reports)
