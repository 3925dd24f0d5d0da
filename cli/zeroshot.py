"""``fgclep zeroshot``: zero-shot classification of one benchmark task from class prompts."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer


def zeroshot_command(
    checkpoint: Annotated[Path, typer.Option(
        help="Model directory, or a training run directory with final/.")],
    cache: Annotated[Path, typer.Option(help="Preprocessed cache (fgclep preprocess --out).")],
    task: Annotated[str, typer.Option(help="Task: ptbxl_super, ptbxl_sub, ptbxl_form, ptbxl_rhythm, "
                                           "cpsc2018, csn, synthetic.")],
    out: Annotated[Path, typer.Option(help="RESULTS.json; the per-class CSV and ROC PNG go beside it.")],
    split: Annotated[str, typer.Option(help="Split to report; F1 thresholds come from val.")] = "test",
    prompts: Annotated[Optional[Path], typer.Option(
        help="Prompt JSON (key -> text or list; MERL's CKEPE_prompt.json works). "
             "Default: fgclep's built-in prompts.")] = None,
    splits: Annotated[Optional[Path], typer.Option(
        help="Folder of MERL split CSVs (read by column name).")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % CIs (0: none).")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    split_seed: Annotated[int, typer.Option(help="Seed of seeded splits (CPSC2018, CSN).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Records per embedding batch.")] = 64,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:N.")] = "cpu",
) -> None:
    """Zero-shot AUROC (per class, macro, bootstrap CIs) and F1 at val-chosen thresholds."""
    from fgclep.data import open_cache
    from fgclep.eval.features import load_encoder
    from fgclep.eval.zeroshot import zeroshot

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        res = zeroshot(load_encoder(checkpoint, device=device), open_cache(cache), task, split=split,
                       prompts=prompts, splits_dir=splits, n_boot=n_boot, seed=seed, split_seed=split_seed,
                       batch_size=batch_size, out=out)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from None
    ci = res["macro_auroc_ci"] or [None, None]
    ci_txt = f" (95 % CI {ci[0]:.4f}-{ci[1]:.4f})" if ci[0] is not None else ""
    macro = res["macro_auroc"]
    typer.echo(f"{res['task']} {split}: zero-shot macro AUROC "
               f"{'undefined' if macro is None else f'{macro:.4f}'}{ci_txt}; results in {out}")


def register(app: typer.Typer) -> None:
    """Add ``zeroshot`` to the fgclep application."""
    app.command("zeroshot")(zeroshot_command)
