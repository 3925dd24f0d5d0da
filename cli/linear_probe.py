"""``fgclep linear-probe``: logistic regression on frozen ECG features (or explicit fine-tuning)."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer


class Mode(str, Enum):
    linear = "linear"
    finetune = "finetune"


def linear_probe_command(
    checkpoint: Annotated[Path, typer.Option(
        help="Model directory, or a training run directory with final/.")],
    cache: Annotated[Path, typer.Option(help="Preprocessed cache (fgclep preprocess --out).")],
    task: Annotated[str, typer.Option(help="Task name, e.g. ptbxl_super.")],
    out: Annotated[Path, typer.Option(help="RESULTS.json; the per-class CSV and ROC PNG go beside it.")],
    fraction: Annotated[float, typer.Option(help="Share of training labels: 0.01, 0.1 or 1.0 "
                                                 "(stratified, >= 1 positive per class).")] = 1.0,
    mode: Annotated[Mode, typer.Option(help="linear: frozen encoder + logistic regression; "
                                            "finetune: the encoder trains too.")] = Mode.linear,
    seed: Annotated[Optional[List[int]], typer.Option(
        help="Seeds (repeat the option); mean ± SD over them. Default 0 1 2.")] = None,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs (finetune mode; best on val kept).")] = 10,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate (finetune mode).")] = 1e-4,
    splits: Annotated[Optional[Path], typer.Option(
        help="Folder of MERL split CSVs (read by column name).")] = None,
    split_seed: Annotated[int, typer.Option(help="Seed of seeded splits (CPSC2018, CSN).")] = 0,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % CIs (0: none).")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Records per batch.")] = 64,
    feature_cache: Annotated[Optional[Path], typer.Option(
        help="Folder caching frozen features (default: beside --out).")] = None,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:N.")] = "cpu",
) -> None:
    """Test macro AUROC at the validation-selected point, mean ± SD over seeds."""
    from fgclep.data import open_cache
    from fgclep.eval.features import load_encoder
    from fgclep.eval.linear_probe import linear_probe

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    seeds = tuple(seed) if seed else (0, 1, 2)
    try:
        res = linear_probe(load_encoder(checkpoint, device=device), open_cache(cache), task,
                           fraction=fraction, mode=mode.value, seeds=seeds, splits_dir=splits,
                           batch_size=batch_size, n_boot=n_boot,
                           feature_cache_dir=feature_cache or out.parent / "features", out=out,
                           finetune_options={"epochs": epochs, "lr": lr, "batch_size": batch_size,
                                             "device": device},
                           split_seed=split_seed)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from None
    macro, sd = res["macro_auroc"], res["macro_auroc_sd"]
    txt = "undefined" if macro is None else f"{macro:.4f} ± {sd:.4f}"
    typer.echo(f"{res['task']} {mode.value} probe at {fraction:g}: test macro AUROC {txt} "
               f"over seeds {list(seeds)}; results in {out}")


def register(app: typer.Typer) -> None:
    """Add ``linear-probe`` to the fgclep application."""
    app.command("linear-probe")(linear_probe_command)
