"""Output-path checks shared by the batch entry points: a file where a folder must go is a
ValueError naming the path, raised before any work (never a bare FileExistsError traceback)."""
from __future__ import annotations

import os
from pathlib import Path


def check_dir_path(path: str | os.PathLike, who: str, what: str = "out") -> Path:
    """Raise ValueError when ``path`` or an existing folder above it is a file; return the Path.

    Parameters
    ----------
    path : path
        A folder that will be created (or reused).
    who, what : str
        Function and argument names for the message.
    """
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"{who}: {what} {path}: {p} is a file, not a folder")
            break
    return path


def make_dir(path: str | os.PathLike, who: str, what: str = "out") -> Path:
    """:func:`check_dir_path`, then create the folder; an OSError becomes a ValueError naming it."""
    path = check_dir_path(path, who, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{who}: cannot create {what} folder {path}: {exc.strerror or exc}") from None
    return path


def check_file_path(path: str | os.PathLike, who: str, what: str = "out") -> Path:
    """Raise ValueError when the output file ``path`` is a folder or a file sits above it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{who}: {what} {path} is a folder; give a file name")
    check_dir_path(path.parent, who, f"folder of {what}")
    return path
