"""``fgclep plot-ecg``: draw one WFDB record with its fiducials."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def plot_ecg_command(
    record: Annotated[Path, typer.Argument(help="WFDB record path (with or without .hea).")],
    out: Annotated[Path, typer.Option(help="Image to write (PNG, PDF or SVG by extension).")],
) -> None:
    """Draw RECORD on ECG paper with fgclep's delineation marked."""
    from fgclep.features import plot_record

    try:
        plot_record(record, out)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``plot-ecg`` to the fgclep application."""
    app.command("plot-ecg")(plot_ecg_command)
