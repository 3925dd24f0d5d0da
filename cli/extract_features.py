"""``fgclep extract-features``: WFDB records, folders or caches -> measurement table (+ fiducials)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer


def extract_features_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="WFDB record paths (with or without .hea), directories of records, or preprocessed caches.")],
    out: Annotated[Path, typer.Option(help="FEATURES.csv to write (one row per record).")],
    fiducials: Annotated[Optional[Path], typer.Option(
        help="Also write per-lead and global fiducials (samples at each record's own rate) here.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Threads (the C++ core releases the GIL).")] = 1,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Delineate and measure every record; unreadable records are listed in skipped.csv beside --out."""
    from fgclep.features import extract_features

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        res = extract_features(inputs, out, fiducials=fiducials, workers=workers, progress=progress)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{res.n_records} records measured -> {res.features_path}; {res.n_skipped} skipped "
               f"(reasons in {res.skipped_path})")


def register(app: typer.Typer) -> None:
    """Add ``extract-features`` to the fgclep application."""
    app.command("extract-features")(extract_features_command)
