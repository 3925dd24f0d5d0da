"""``fgclep demo``: offline tour on the SYNTHETIC corpus (see :mod:`fgclep.demo`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def demo_command(
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder for the 12-lead PNG and demo_summary.json.")]
    = Path("fgclep-demo"),
    n_records: Annotated[Optional[int], typer.Option(
        "--n-records", min=1, help="Synthetic records to generate (default 200; 16 with --small).")]
    = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the synthetic corpus.")] = 0,
    small: Annotated[bool, typer.Option("--small", help="Quick smoke run on a few records.")]
    = False,
) -> None:
    """Generate a SYNTHETIC ECG corpus, clean it (fgclep vs scipy timing) and plot a record."""
    from fgclep.demo import format_summary, run_demo

    try:
        result = run_demo(out, n_records=n_records, seed=seed, small=small)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(format_summary(result))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
