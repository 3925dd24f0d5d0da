"""``fgclep download``: fetch an open PhysioNet dataset, verified against SHA256SUMS.txt."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Dataset(str, Enum):
    ptbxl = "ptbxl"
    ludb = "ludb"
    cpsc2018 = "cpsc2018"
    csn = "csn"
    mimic = "mimic-iv-ecg"


def download_command(
    dataset: Annotated[Dataset, typer.Argument(help="Dataset to fetch.")],
    to: Annotated[Path, typer.Option(help="Destination folder (re-running resumes and verifies).")],
    base_url: Annotated[Optional[str], typer.Option(
        help="Mirror with PhysioNet's layout (default https://physionet.org/files/<slug>/<version>/).")] = None,
    workers: Annotated[int, typer.Option(help="Parallel downloads.")] = 4,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Download a dataset; files are verified by SHA-256 and partial files resumed."""
    from fgclep.data.download import download

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        res = download(dataset.value, to, base_url=base_url, workers=workers, progress=progress)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{len(res.downloaded)} files downloaded ({res.bytes / 1e6:.1f} MB), "
               f"{len(res.skipped)} already verified, {len(res.failed)} failed, in {res.to}")
    if res.failed:
        for rel, reason in sorted(res.failed.items()):
            typer.echo(f"FAILED {rel}: {reason}", err=True)
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``download`` to the fgclep application."""
    app.command("download")(download_command)
