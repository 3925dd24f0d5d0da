"""fgclep: fine-grained ECG-text contrastive pretraining (FG-CLEP, arXiv 2505.11939).

The library is organised by data flow (see docs and DESIGN): ``fgclep.signal`` (C++ filtering,
delineation, measurements), ``fgclep.data`` (readers, cache, tasks, synthetic corpus),
``fgclep.recovery`` (validated waveform-feature recovery), ``fgclep.text``, ``fgclep.models``,
``fgclep.losses``, ``fgclep.train`` and ``fgclep.eval``.
"""
from __future__ import annotations

import os as _os

__version__ = "0.1.0"

__all__ = ["__version__", "set_num_threads", "get_num_threads"]


def set_num_threads(n: int) -> None:
    """Set the number of threads the C++ core uses for batch loops.

    Parameters
    ----------
    n : int
        Number of threads, ``>= 1``. The environment variable ``FGCLEP_NUM_THREADS`` sets the
        default at import time.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    from fgclep import _core

    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Return the number of threads the C++ core uses."""
    from fgclep import _core

    return int(_core.get_num_threads())


if "FGCLEP_NUM_THREADS" in _os.environ:
    # Validate early so that a bad value is reported by name rather than silently ignored.
    _env_threads = _os.environ["FGCLEP_NUM_THREADS"]
    if not _env_threads.strip().isdigit() or int(_env_threads) < 1:
        raise ValueError(f"FGCLEP_NUM_THREADS must be a positive integer, got {_env_threads!r}")
