"""``fgclep evaluate-all``: the six-task benchmark table (zero-shot and 1/10/100 % probes)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from .linear_probe import Mode


def evaluate_all_command(
    checkpoint: Annotated[Path, typer.Option(
        help="Model directory, or a training run directory with final/.")],
    caches: Annotated[Path, typer.Option(help="Folder with one cache per dataset: ptbxl/, cpsc2018/, csn/.")],
    out: Annotated[Path, typer.Option(help="Output folder: results.md, results.json, per-task files.")],
    task: Annotated[Optional[List[str]], typer.Option(
        help="Tasks (repeat; default: the six benchmark tasks).")] = None,
    mode: Annotated[Mode, typer.Option(help="Probe mode: linear (frozen) or finetune.")] = Mode.linear,
    seed: Annotated[Optional[List[int]], typer.Option(help="Probe seeds (repeat). Default 0 1 2.")] = None,
    prompts: Annotated[Optional[Path], typer.Option(
        help="Prompt JSON for all tasks (e.g. CKEPE_prompt.json).")] = None,
    splits: Annotated[Optional[Path], typer.Option(help="Folder of MERL split CSVs.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % CIs.")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Records per batch.")] = 64,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:N.")] = "cpu",
) -> None:
    """Write the paper-style Markdown table of zero-shot and linear-probe macro AUROC."""
    from fgclep.eval.evaluate_all import SIX_TASKS, evaluate_all
    from fgclep.eval.features import load_encoder

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        res = evaluate_all(load_encoder(checkpoint, device=device), caches,
                           tasks=tuple(task) if task else SIX_TASKS, mode=mode.value,
                           seeds=tuple(seed) if seed else (0, 1, 2), prompts=prompts, splits_dir=splits,
                           n_boot=n_boot, batch_size=batch_size, out_dir=out,
                           finetune_options={"device": device, "batch_size": batch_size})
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(res["markdown"])
    typer.echo(f"tables in {out / 'results.md'} ({res['seconds']:.0f} s)")


def register(app: typer.Typer) -> None:
    """Add ``evaluate-all`` to the fgclep application."""
    app.command("evaluate-all")(evaluate_all_command)
