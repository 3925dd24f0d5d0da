"""``fgclep download``: fetch an open PhysioNet dataset, verified against its SHA256SUMS.txt.

PhysioNet publishes every project version at ``https://physionet.org/files/<slug>/<version>/``
with a ``SHA256SUMS.txt`` listing ``<sha256>  <path>`` for each file. This module downloads the
listed files (a dataset may use a subset, e.g. CPSC2018 from the Challenge 2021 files) with a
thread pool, resumes partial files with HTTP ``Range`` requests, verifies each file's SHA-256,
re-fetches a file once from scratch when its hash is wrong, and skips files already verified on a
previous run (``.fgclep-download.json`` records size, mtime and hash). ``base_url`` points at a
mirror with the same layout.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DOWNLOADS", "DownloadResult", "download", "parse_sha256sums", "default_base_url"]

logger = logging.getLogger(__name__)

# dataset -> (PhysioNet slug, version, path prefixes kept from SHA256SUMS.txt; () = all)
DOWNLOADS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ptbxl": ("ptb-xl", "1.0.3", ()),
    "ludb": ("ludb", "1.0.1", ()),
    "cpsc2018": ("challenge-2021", "1.0.3", ("training/cpsc_2018/",)),
    "csn": ("challenge-2021", "1.0.3", ("training/chapman_shaoxing/", "training/ningbo/")),
    "mimic-iv-ecg": ("mimic-iv-ecg", "1.0", ()),
}
_STATE_FILE = ".fgclep-download.json"
_CHUNK = 1 << 20


@dataclass
class DownloadResult:
    """Outcome of :func:`download`."""

    to: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)    # already present and verified
    failed: dict[str, str] = field(default_factory=dict)  # path -> reason
    bytes: int = 0


def default_base_url(dataset: str) -> str:
    """PhysioNet URL of a dataset's files."""
    slug, version, _ = _spec(dataset)
    return f"https://physionet.org/files/{slug}/{version}/"


def _spec(dataset: str) -> tuple[str, str, tuple[str, ...]]:
    if dataset not in DOWNLOADS:
        raise ValueError(f"download: dataset must be one of {sorted(DOWNLOADS)}, got {dataset!r}")
    return DOWNLOADS[dataset]


def parse_sha256sums(text: str, source: str = "SHA256SUMS.txt") -> dict[str, str]:
    """``<hex>  <path>`` lines (``*`` binary marker allowed) -> {path: hex}."""
    out = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef"
                                                          for c in digest):
            raise ValueError(f"{source} line {n}: not '<sha256>  <path>': {line[:80]!r}")
        path = parts[1].strip().lstrip("*")
        if path.startswith("/") or ".." in Path(path).parts:
            raise ValueError(f"{source} line {n}: unsafe path {path!r}")
        out[path] = digest
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _open(url: str, start: int = 0, timeout: float = 60.0):
    headers = {"User-Agent": "fgclep-download"}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _fetch(url: str, dest: Path, timeout: float) -> int:
    """Download ``url`` to ``dest`` via ``dest.part``, resuming a partial file; return bytes."""
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the open response; its code and reason stay readable
        if exc.code == 416 and start:  # partial file already complete (or larger): restart
            part.unlink()
            return _fetch(url, dest, timeout)
        raise
    with response:
        status = getattr(response, "status", 200)
        mode = "ab" if start and status == 206 else "wb"  # 200: server ignored Range
        received = 0
        with open(part, mode) as fh:
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                fh.write(block)
                received += len(block)
    os.replace(part, dest)
    return received


class _State:
    """Thread-safe record of verified files (path -> [size, mtime_ns, sha256])."""

    def __init__(self, root: Path) -> None:
        self.path = root / _STATE_FILE
        self.lock = threading.Lock()
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            self.data = {}

    def verified(self, rel: str, dest: Path, digest: str) -> bool:
        entry = self.data.get(rel)
        if not dest.is_file() or entry is None:
            return False
        st = dest.stat()
        return entry == [st.st_size, st.st_mtime_ns, digest]

    def mark(self, rel: str, dest: Path, digest: str) -> None:
        st = dest.stat()
        with self.lock:
            self.data[rel] = [st.st_size, st.st_mtime_ns, digest]
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.data), encoding="utf-8")
            os.replace(tmp, self.path)


def _one(base_url: str, root: Path, rel: str, digest: str, state: _State,
         timeout: float) -> tuple[str, str, int]:
    """Return (status, detail, bytes) with status downloaded/skipped/failed."""
    dest = root / rel
    if state.verified(rel, dest, digest):
        return "skipped", "", 0
    if dest.is_file() and _sha256(dest) == digest:
        state.mark(rel, dest, digest)
        return "skipped", "", 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = base_url + urllib.request.pathname2url(rel).lstrip("/")
    total = 0
    for attempt in range(2):  # a wrong hash gets one fresh download
        try:
            total += _fetch(url, dest, timeout)
        except (urllib.error.URLError, OSError) as exc:
            return "failed", f"{url}: {exc}", total
        actual = _sha256(dest)
        if actual == digest:
            state.mark(rel, dest, digest)
            return "downloaded", "", total
        dest.unlink()
        logger.warning("%s: sha256 mismatch (attempt %d)", rel, attempt + 1)
    return "failed", f"{url}: sha256 mismatch after re-download (expected {digest}, got " \
                     f"{actual}); the file was removed", total


def download(dataset: str, to: str | os.PathLike, base_url: str | None = None,
             workers: int = 4, timeout: float = 60.0, progress: bool = True) -> DownloadResult:
    """Download and verify a PhysioNet dataset (see module docstring).

    Parameters
    ----------
    dataset : {"ptbxl", "ludb", "cpsc2018", "csn", "mimic-iv-ecg"}
    to : path
        Destination folder (files keep their PhysioNet relative paths).
    base_url : str, optional
        Mirror URL with the PhysioNet layout (default :func:`default_base_url`).
    workers : int
        Parallel downloads.
    timeout : float
        Seconds per network operation.
    progress : bool
        Show a tqdm progress bar over files.

    Returns
    -------
    DownloadResult
        Lists of downloaded / skipped files and ``failed`` reasons (the caller decides how to
        report them; nothing is left half-written under its final name).

    Raises
    ------
    ValueError
        Unknown dataset, bad ``workers``, or an unreadable / malformed ``SHA256SUMS.txt``.
    """
    _, _, prefixes = _spec(dataset)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"download: workers must be a positive int, got {workers!r}")
    base = (base_url or default_base_url(dataset)).rstrip("/") + "/"
    from fgclep._paths import make_dir
    root = make_dir(to, "download", "to")
    try:
        with _open(base + "SHA256SUMS.txt", timeout=timeout) as response:
            sums_text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # it holds the open response (and its socket) until collected
        raise ValueError(f"download: cannot fetch {base}SHA256SUMS.txt ({exc})") from None
    sums = parse_sha256sums(sums_text, base + "SHA256SUMS.txt")
    if prefixes:
        sums = {p: d for p, d in sums.items() if p.startswith(prefixes)}
    if not sums:
        raise ValueError(f"download: {base}SHA256SUMS.txt lists no files for {dataset}")
    (root / "SHA256SUMS.txt").write_text(sums_text, encoding="utf-8")
    state = _State(root)
    result = DownloadResult(to=root)
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(sums), unit="file", disable=not progress,
                 desc=f"download {dataset}") as bar:
        futures = {pool.submit(_one, base, root, rel, digest, state, timeout): rel
                   for rel, digest in sorted(sums.items())}
        for future in as_completed(futures):
            rel = futures[future]
            status, detail, nbytes = future.result()
            result.bytes += nbytes
            if status == "failed":
                result.failed[rel] = detail
            else:
                getattr(result, status).append(rel)
            bar.update(1)
    for rel, reason in sorted(result.failed.items()):
        logger.error("download failed: %s: %s", rel, reason)
    return result
