"""``fgclep preprocess``: a dataset folder -> cleaned 500 Hz 10 s sharded cache."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Dataset(str, Enum):
    ptbxl = "ptbxl"
    mimic = "mimic-iv-ecg"
    cpsc2018 = "cpsc2018"
    csn = "csn"
    ludb = "ludb"
    wfdb = "wfdb"
    synthetic = "synthetic"


class Dtype(str, Enum):
    float16 = "float16"
    float32 = "float32"


class CleanMethod(str, Enum):
    fgclep = "fgclep"
    bandpass = "bandpass"


class LengthPolicy(str, Enum):
    first10 = "first10"
    merl_cpsc = "merl_cpsc"


def preprocess_command(
    dataset: Annotated[Dataset, typer.Argument(help="Dataset layout of --root.")],
    out: Annotated[Path, typer.Option(help="Cache directory to write (resumes if it exists).")],
    root: Annotated[Optional[Path], typer.Option(help="Dataset folder (not for synthetic).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N inputs (synthetic: N records).")] = None,
    dtype: Annotated[Dtype, typer.Option(help="Stored sample type (float16 halves the disk).")] = Dtype.float16,
    length_policy: Annotated[LengthPolicy, typer.Option(
        help="first10: first 10 s, zero-padded; merl_cpsc: MERL's first 5 s, zero-padded.")] = LengthPolicy.first10,
    clean_method: Annotated[CleanMethod, typer.Option(
        help="ecg_clean method: fgclep (median baseline + band-pass) or bandpass (much faster).")] = CleanMethod.fgclep,
    shard_size: Annotated[int, typer.Option(help="Inputs per shard (unit of resume and of work).")] = 1024,
    seed: Annotated[int, typer.Option(help="Seed of the stratified split and the synthetic corpus.")] = 0,
    splits: Annotated[Optional[Path], typer.Option(help="Folder of MERL split CSVs (read by column name).")] = None,
    csv: Annotated[Optional[Path], typer.Option(help="wfdb only: CSV with path, report, labels columns.")] = None,
    rate: Annotated[int, typer.Option(help="ptbxl only: 500 (records500/) or 100 (records100/).")] = 500,
    min_words: Annotated[int, typer.Option(help="mimic-iv-ecg only: drop reports with fewer words.")] = 4,
    overwrite: Annotated[bool, typer.Option(help="Delete an existing cache at --out first.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Clean, resample to 500 Hz, fix to 10 s and cache a dataset; skipped inputs go to skipped.csv."""
    from fgclep.data.preprocess import PreprocessConfig, preprocess

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options: dict = {}
    if csv is not None:
        options["csv"] = str(csv)
    if dataset is Dataset.ptbxl:
        options["rate"] = rate
    if dataset is Dataset.mimic:
        options["min_words"] = min_words
    cfg = PreprocessConfig(dataset=dataset.value, out=out, root=root, workers=workers, limit=limit,
                           dtype=dtype.value, length_policy=length_policy.value,
                           shard_size=shard_size, seed=seed, clean_method=clean_method.value, splits_dir=splits,
                           overwrite=overwrite, progress=progress, options=options)
    try:
        res = preprocess(cfg)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{res.n_records} records cached in {res.out}, {res.n_skipped} skipped "
               f"(reasons in {res.out / 'skipped.csv'}); {res.seconds:.1f} s, "
               f"{res.records_per_second:.0f} records/s")


def register(app: typer.Typer) -> None:
    """Add ``preprocess`` to the fgclep application."""
    app.command("preprocess")(preprocess_command)
