"""``fgclep demo``: the whole chain offline on the SYNTHETIC corpus (see :mod:`fgclep.demo`)."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Target(str, Enum):
    identity = "identity"
    threshold = "threshold"
    fgclep = "fgclep"


def demo_command(
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder: PNGs, cache, runs, results.json, demo_summary.json.")]
    = Path("fgclep-demo"),
    small: Annotated[bool, typer.Option("--small", help="Reduced size (what CI runs, ~2 min on 2 cores).")]
    = False,
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="Run the chain on this real preprocessed cache instead of synthetic data.")]
    = None,
    task: Annotated[Optional[str], typer.Option(
        "--task", help="Evaluation task (default: synthetic, or the first task of --data's dataset).")]
    = None,
    n_records: Annotated[Optional[int], typer.Option(
        "--n-records", min=1, help="Records for the signal steps (default 200; 16 with --small).")]
    = None,
    chain_records: Annotated[Optional[int], typer.Option(
        "--chain-records", min=50, help="Synthetic records in the chain's cache (default 1500; 400 "
                                        "with --small).")] = None,
    target: Annotated[Target, typer.Option(
        "--target", help="Loss targets of both training stages.")] = Target.identity,
    no_chain: Annotated[bool, typer.Option(
        "--no-chain", help="Only the signal steps (generate, clean vs scipy, PNG).")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of corpus, splits and training.")] = 0,
) -> None:
    """Generate SYNTHETIC ECGs, clean, measure, recover features, train coarse then fine, evaluate."""
    from fgclep.demo import format_summary, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run_demo(out, n_records=n_records, seed=seed, small=small, chain=not no_chain,
                          data=data, task=task, chain_records=chain_records, target=target.value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(format_summary(result))


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the fgclep application."""
    app.command("demo")(demo_command)
