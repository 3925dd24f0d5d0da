"""Shared input validation for ``fgclep.signal`` (filters, delineation, measurements).

Every public signal function validates at its boundary with these helpers so that errors name
the function, the argument and the offending value, and so that all functions accept the same
shapes: ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np

__all__ = [
    "SignalBatch",
    "as_signal_array",
    "check_backend",
    "check_cutoff",
    "check_positive_int",
    "check_sampling_rate",
    "interpolate_nonfinite",
]

NAN_POLICIES = ("raise", "interpolate")


@dataclass(frozen=True)
class SignalBatch:
    """A validated signal flattened to C-contiguous rows.

    Attributes
    ----------
    rows : numpy.ndarray
        ``(n_rows, n_samples)`` C-contiguous float32 or float64 view/copy of the input.
    shape : tuple of int
        The caller's original shape; ``restore`` reshapes results back to it.
    """

    rows: np.ndarray
    shape: tuple[int, ...]

    @property
    def n_samples(self) -> int:
        return int(self.shape[-1])

    def restore(self, rows: np.ndarray) -> np.ndarray:
        """Reshape ``(n_rows, m)`` results to the caller's leading shape with ``m`` samples."""
        return rows.reshape(self.shape[:-1] + (rows.shape[-1],))


def as_signal_array(
    signal,
    func: str,
    name: str = "signal",
    *,
    min_samples: int = 1,
    nan_policy: str = "raise",
    check_finite: bool = True,
) -> SignalBatch:
    """Validate an ECG array and return it as contiguous float rows.

    Parameters
    ----------
    signal : array_like
        Shape ``(samples,)``, ``(leads, samples)`` or ``(records, leads, samples)``; float32 or
        float64 (integer, bool and complex dtypes are rejected rather than silently cast).
    func : str
        Name of the calling public function, used in error messages.
    name : str
        Name of the argument, used in error messages.
    min_samples : int
        The minimum number of samples along the last axis.
    nan_policy : {"raise", "interpolate"}
        ``"raise"``: NaN or infinity raises ValueError (when ``check_finite``).
        ``"interpolate"``: non-finite runs are replaced by linear interpolation between their
        finite neighbours (edges take the nearest finite value); an all-non-finite row becomes
        zeros with a warning.
    check_finite : bool
        Whether to scan for non-finite values here. Fast paths pass ``False`` and let the C++
        core report the first non-finite row instead (one pass over the data fewer).

    Returns
    -------
    SignalBatch
        Rows ``(n_rows, n_samples)`` (a copy only when the input was not C-contiguous or needed
        interpolation) and the original shape.
    """
    arr = np.asarray(signal)
    if arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8) and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # e.g. big-endian data from a file
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{func}: {name} must be float32 or float64, got dtype {arr.dtype}")
    if arr.ndim < 1 or arr.ndim > 3:
        raise ValueError(
            f"{func}: {name} must have shape (samples,), (leads, samples) or "
            f"(records, leads, samples), got ndim={arr.ndim} (shape {arr.shape})"
        )
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"{func}: nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    n = arr.shape[-1]
    if n < min_samples:
        raise ValueError(f"{func}: {name} needs at least {min_samples} samples along the last axis, got {n}")
    rows = np.ascontiguousarray(arr).reshape(-1, n)
    if nan_policy == "interpolate":
        rows = interpolate_nonfinite(rows, func, name)
    elif check_finite and not np.isfinite(rows).all():
        raise_nonfinite(func, name, arr.shape, int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0]))
    return SignalBatch(rows=rows, shape=arr.shape)


def raise_nonfinite(func: str, name: str, shape: tuple[int, ...], row: int) -> None:
    """Raise the ValueError for a NaN/infinity found in flattened row ``row``."""
    where = np.unravel_index(row, shape[:-1]) if len(shape) > 1 else ()
    raise ValueError(
        f"{func}: {name} contains NaN or infinite values (first at index {tuple(int(i) for i in where)}); "
        "pass nan_policy='interpolate' to fill them"
    )


def interpolate_nonfinite(rows: np.ndarray, func: str = "interpolate_nonfinite", name: str = "signal") -> np.ndarray:
    """Linearly interpolate over NaN/inf runs in each row (copy only when something is bad)."""
    finite = np.isfinite(rows)
    bad_rows = np.flatnonzero(~finite.all(axis=1))
    if bad_rows.size == 0:
        return rows
    out = rows.copy()
    idx = np.arange(rows.shape[1])
    for r in bad_rows:
        ok = finite[r]
        if not ok.any():
            warnings.warn(f"{func}: row {int(r)} of {name} is entirely NaN/inf; set to zeros", RuntimeWarning, stacklevel=3)
            out[r] = 0.0
            continue
        out[r, ~ok] = np.interp(idx[~ok], idx[ok], rows[r, ok])
    return out


def check_sampling_rate(sampling_rate, func: str, name: str = "sampling_rate") -> float:
    """Return ``sampling_rate`` as a float, requiring a finite real number > 0."""
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (Real, np.integer, np.floating)):
        raise TypeError(f"{func}: {name} must be a number, got {type(sampling_rate).__name__}")
    fs = float(sampling_rate)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{func}: {name} must be a finite number > 0, got {sampling_rate!r}")
    return fs


def check_cutoff(value, func: str, name: str, sampling_rate: float) -> float:
    """Return a cutoff frequency in Hz, requiring ``0 < value < sampling_rate / 2``."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{func}: {name} must be a number or None, got {type(value).__name__}")
    f = float(value)
    nyquist = sampling_rate / 2.0
    if not (0.0 < f < nyquist):
        raise ValueError(f"{func}: {name} must be in (0, Nyquist={nyquist:g}) Hz, got {value!r}")
    return f


def check_positive_int(value, func: str, name: str, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{func}: {name} must be an int, got {type(value).__name__}")
    v = int(value)
    if v < low or (high is not None and v > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{func}: {name} must be in {bound}, got {value!r}")
    return v


def check_backend(backend, func: str, options: tuple[str, ...]) -> str:
    """Return ``backend`` when it is one of ``options``; ValueError listing them otherwise."""
    if backend not in options:
        raise ValueError(f"{func}: backend must be one of {options}, got {backend!r}")
    return backend
