"""WFDB records (``.hea`` + ``.dat``/``.mat``) read into :class:`~fgclep.data.ECGRecord`.

The header is parsed here (strict UTF-8, clear errors, tolerant of the Georgia release's record
line that names ``E00666.mat``), the signal file's size is checked against the header before
reading, and the common cases are read directly with NumPy: format 16 ``.dat`` files (PTB-XL,
MIMIC-IV-ECG, LUDB) and Challenge ``.mat`` files (``val`` matrix, via :func:`scipy.io.loadmat`).
Every other WFDB format goes through the ``wfdb`` package (``backend="wfdb"`` forces it for all).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fgclep.data.record import ECGRecord, reorder_leads

__all__ = ["WfdbHeader", "SignalSpec", "read_header", "read_wfdb", "header_path"]

# Bytes per sample of each WFDB storage format (formats 508/516/524 are FLAC-compressed).
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3, "508": 0, "516": 0, "524": 0}
# Digital value that marks a missing sample, per format (WFDB convention).
_INVALID = {"80": -128, "508": -128, "310": -512, "311": -512, "212": -2048, "16": -32768,
            "61": -32768, "160": -32768, "516": -32768, "24": -8388608, "524": -8388608,
            "32": -2147483648}
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "microvolt": 1e-3,
               "microvolts": 1e-3, "v": 1e3, "nv": 1e-6}
_GAIN_RE = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\((-?\d+)\))?(?:/(.*))?$")
_FMT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_BACKENDS = ("fast", "wfdb")


@dataclass
class SignalSpec:
    """One signal line of a WFDB header."""

    file_name: str
    fmt: str
    samps_per_frame: int = 1
    skew: int = 0
    byte_offset: int = 0
    gain: float = 200.0
    baseline: int = 0
    units: str = "mV"
    description: str = ""


@dataclass
class WfdbHeader:
    """A parsed single-segment WFDB header."""

    path: Path
    record_name: str
    n_sig: int
    fs: float
    sig_len: int | None
    signals: list[SignalSpec] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def header_path(path: str | os.PathLike) -> Path:
    """Return the ``.hea`` path for a record given with or without its extension."""
    p = Path(path)
    if p.suffix.lower() == ".hea":
        return p
    if p.suffix.lower() in (".dat", ".mat"):
        return p.with_suffix(".hea")
    return p.with_name(p.name + ".hea")


def _parse_signal_line(line: str, where: str) -> SignalSpec:
    tokens = line.split()
    if len(tokens) < 2:
        raise ValueError(f"{where}: signal line {line!r} has no format field")
    match = _FMT_RE.match(tokens[1])
    if match is None:
        raise ValueError(f"{where}: cannot parse format field {tokens[1]!r}")
    fmt = match.group(1)
    if fmt not in _BYTES_PER_SAMPLE:
        raise ValueError(f"{where}: unknown WFDB format {fmt} (known: "
                         f"{', '.join(sorted(_BYTES_PER_SAMPLE, key=int))})")
    spec = SignalSpec(file_name=tokens[0], fmt=fmt,
                      samps_per_frame=int(match.group(2) or 1), skew=int(match.group(3) or 0),
                      byte_offset=int(match.group(4) or 0))
    adc_zero = 0
    if len(tokens) > 4:
        try:
            adc_zero = int(tokens[4])
        except ValueError as exc:
            raise ValueError(f"{where}: bad ADC zero {tokens[4]!r}") from exc
    spec.baseline = adc_zero
    if len(tokens) > 2:
        gm = _GAIN_RE.match(tokens[2])
        if gm is None:
            raise ValueError(f"{where}: cannot parse gain field {tokens[2]!r}")
        gain = float(gm.group(1))
        spec.gain = gain if gain != 0 else 200.0  # WFDB: a zero gain means the default 200
        if gm.group(2) is not None:
            spec.baseline = int(gm.group(2))
        if gm.group(3):
            spec.units = gm.group(3)
    spec.description = " ".join(tokens[8:]) if len(tokens) > 8 else ""
    return spec


def read_header(path: str | os.PathLike) -> WfdbHeader:
    """Parse a WFDB header file.

    Parameters
    ----------
    path : str or path-like
        Record path, with or without ``.hea``.

    Returns
    -------
    WfdbHeader

    Raises
    ------
    ValueError
        Naming the file: missing, not UTF-8, multi-segment, malformed record or signal lines,
        unknown storage format.
    """
    hea = header_path(path)
    try:
        raw = hea.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{hea}: header file not found") from None
    except OSError as exc:
        raise ValueError(f"{hea}: cannot read header ({exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{hea}: header text is not valid UTF-8 (byte "
                         f"0x{raw[exc.start]:02x} at offset {exc.start})") from None
    lines, comments = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
        elif stripped:
            lines.append(stripped)
    if not lines:
        raise ValueError(f"{hea}: header has no record line")
    rec = lines[0].split()
    if "/" in rec[0]:
        raise ValueError(f"{hea}: multi-segment records are not supported")
    try:
        n_sig = int(rec[1])
        fs = float(rec[2].split("/")[0]) if len(rec) > 2 else 250.0
        sig_len = int(rec[3]) if len(rec) > 3 else None
    except (IndexError, ValueError):
        raise ValueError(f"{hea}: cannot parse record line {lines[0]!r}") from None
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{hea}: sampling frequency must be positive, got {rec[2]!r}")
    if n_sig < 1:
        raise ValueError(f"{hea}: record declares {n_sig} signals")
    if len(lines) - 1 < n_sig:
        raise ValueError(f"{hea}: record line declares {n_sig} signals but the header has "
                         f"{len(lines) - 1} signal lines")
    signals = [_parse_signal_line(line, str(hea)) for line in lines[1:1 + n_sig]]
    return WfdbHeader(path=hea, record_name=rec[0], n_sig=n_sig, fs=fs, sig_len=sig_len,
                      signals=signals, comments=comments)


def _unit_scale(units: str) -> float:
    return _UNIT_TO_MV.get(units.strip().lower(), 1.0)


def _check_file_size(header: WfdbHeader, file_path: Path, specs: list[SignalSpec]) -> int:
    """Return the number of samples per signal the file holds; raise on a size mismatch."""
    if not file_path.is_file():
        raise ValueError(f"{header.path}: signal file {file_path.name} not found")
    bps = _BYTES_PER_SAMPLE[specs[0].fmt]
    if bps == 0 or file_path.suffix.lower() == ".mat":  # compressed / MATLAB: checked on read
        return header.sig_len if header.sig_len is not None else -1
    frame_samples = sum(s.samps_per_frame for s in specs)
    payload = file_path.stat().st_size - specs[0].byte_offset
    available = int(payload // (bps * frame_samples)) if payload > 0 else 0
    if header.sig_len is None:
        return available
    if available < header.sig_len:
        raise ValueError(f"{file_path}: truncated signal file: header says {header.sig_len} "
                         f"samples per signal, file holds {available}")
    if available > header.sig_len + 1:
        raise ValueError(f"{file_path}: header sample count {header.sig_len} disagrees with "
                         f"the file, which holds {available} samples per signal")
    return header.sig_len


def _read_fmt16(header: WfdbHeader, file_path: Path, specs: list[SignalSpec],
                n_samples: int) -> np.ndarray:
    count = n_samples * len(specs)
    data = np.fromfile(file_path, dtype="<i2", count=count, offset=specs[0].byte_offset)
    return data.reshape(n_samples, len(specs)).T


def _read_mat(header: WfdbHeader, file_path: Path, n_sig: int) -> np.ndarray:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(file_path))
    except Exception as exc:  # scipy raises several types on damaged files
        raise ValueError(f"{file_path}: cannot read MATLAB file ({exc})") from exc
    if "val" not in mat:
        raise ValueError(f"{file_path}: MATLAB file has no 'val' variable "
                         f"(found {sorted(k for k in mat if not k.startswith('__'))})")
    val = np.asarray(mat["val"])
    if val.ndim != 2 or val.shape[0] != n_sig:
        raise ValueError(f"{file_path}: 'val' has shape {val.shape}, header declares "
                         f"{n_sig} signals")
    if header.sig_len is not None and val.shape[1] != header.sig_len:
        raise ValueError(f"{file_path}: header sample count {header.sig_len} disagrees with the "
                         f"file, which holds {val.shape[1]} samples per signal")
    return val


def _read_with_wfdb(header: WfdbHeader) -> np.ndarray:
    import wfdb

    base = str(header.path.with_suffix(""))
    try:
        rec = wfdb.rdrecord(base, physical=False, return_res=64)
    except Exception as exc:  # wfdb raises many types on malformed records
        raise ValueError(f"{header.path}: wfdb could not read the record ({exc})") from exc
    if rec.d_signal is None:
        raise ValueError(f"{header.path}: wfdb returned no samples")
    return np.asarray(rec.d_signal).T


def _to_physical(digital: np.ndarray, specs: list[SignalSpec]) -> np.ndarray:
    out = np.empty(digital.shape, dtype=np.float32)
    for i, spec in enumerate(specs):
        row = digital[i]
        scale = _unit_scale(spec.units) / spec.gain
        out[i] = (row.astype(np.float64) - spec.baseline) * scale
        invalid = _INVALID.get(spec.fmt)
        if invalid is not None:
            out[i][row == invalid] = np.nan
    return out


def _read_digital(header: WfdbHeader, backend: str) -> np.ndarray:
    directory = header.path.parent
    groups: dict[str, list[int]] = {}
    for i, spec in enumerate(header.signals):
        groups.setdefault(spec.file_name, []).append(i)
    simple = all(s.samps_per_frame == 1 and s.skew == 0 for s in header.signals)
    fast_ok = backend == "fast" and simple
    n_samples = None
    for file_name, idx in groups.items():
        specs = [header.signals[i] for i in idx]
        if len({s.fmt for s in specs}) > 1 or len({s.byte_offset for s in specs}) > 1:
            fast_ok = False
        n = _check_file_size(header, directory / file_name, specs)
        if n_samples is not None and n != n_samples:
            raise ValueError(f"{header.path}: signal files hold different sample counts")
        n_samples = n
        if specs[0].fmt != "16" and not file_name.lower().endswith(".mat"):
            fast_ok = False
    if not fast_ok:
        return _read_with_wfdb(header)
    blocks = {}
    for file_name, idx in groups.items():
        specs = [header.signals[i] for i in idx]
        path = directory / file_name
        if file_name.lower().endswith(".mat"):
            blocks[file_name] = _read_mat(header, path, len(idx))
        else:
            blocks[file_name] = _read_fmt16(header, path, specs, n_samples)
    lengths = {b.shape[1] for b in blocks.values()}
    if len(lengths) != 1:
        raise ValueError(f"{header.path}: signal files hold different sample counts {lengths}")
    digital = np.empty((header.n_sig, lengths.pop()), dtype=np.int64)
    for file_name, idx in groups.items():
        digital[idx] = blocks[file_name]
    return digital


def read_wfdb(path: str | os.PathLike, *, backend: str = "fast") -> ECGRecord:
    """Read one WFDB record.

    Parameters
    ----------
    path : str or path-like
        Record path with or without ``.hea`` (``data/1`` or ``data/1.hea``).
    backend : {"fast", "wfdb"}
        ``"fast"`` reads format-16 ``.dat`` and Challenge ``.mat`` files with NumPy and uses the
        ``wfdb`` package for other formats; ``"wfdb"`` uses the ``wfdb`` package for everything
        (the readable reference; the two agree exactly).

    Returns
    -------
    ECGRecord
        float32 signal in mV (``uV`` units converted), missing samples NaN, leads reordered
        to LEADS_12 when the 12 standard leads are present. Header comments are in
        ``meta["comments"]``; the report is empty (dataset readers fill it).

    Raises
    ------
    ValueError
        Naming the file: missing or malformed header, unknown format, truncated signal file,
        header sample count that disagrees with the file, duplicate lead names.

    Examples
    --------
    >>> rec = read_wfdb("../shared/data/ludb/data/1")  # doctest: +SKIP
    >>> rec.signal.shape, rec.lead_names[:3]  # doctest: +SKIP
    ((12, 5000), ('I', 'II', 'III'))
    """
    if backend not in _BACKENDS:
        raise ValueError(f"read_wfdb: backend must be one of {_BACKENDS}, got {backend!r}")
    header = read_header(path)
    digital = _read_digital(header, backend)
    signal = _to_physical(digital, header.signals)
    names = [s.description or f"sig{i}" for i, s in enumerate(header.signals)]
    signal, lead_names = reorder_leads(signal, names, source=str(header.path))
    record_id = header.path.stem
    meta = {"comments": header.comments, "units": [s.units for s in header.signals]}
    if header.record_name != record_id:
        meta["header_record_name"] = header.record_name
    return ECGRecord(signal=signal, sampling_rate=header.fs, lead_names=lead_names,
                     record_id=record_id, source=str(header.path.with_suffix("")), meta=meta)
