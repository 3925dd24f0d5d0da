"""``fgclep tasks``: the benchmark tasks, with class counts and split sizes of a cache."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def tasks_command(
    cache: Annotated[Optional[Path], typer.Option(help="Cache whose class counts and split sizes to show.")] = None,
    splits: Annotated[Optional[Path], typer.Option(help="Folder of MERL split CSVs (read by column name); needs --cache.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the stratified CPSC/CSN splits.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the benchmark tasks (with a cache: only its dataset's tasks, with counts)."""
    from fgclep.data.tasks import task_summary

    if splits is not None and cache is None:
        raise typer.BadParameter("--splits needs --cache: split sizes are counted over a "
                                 "cache's records")
    index = dataset = None
    if cache is not None:
        from fgclep.data import open_cache

        try:
            ds = open_cache(cache)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        index, dataset = ds.index, ds.meta.get("dataset")
    try:
        rows = task_summary(index, dataset=dataset, splits_dir=splits, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"no benchmark task uses dataset {dataset!r} (tasks: ptbxl_*, cpsc2018, csn, "
                   f"synthetic)")
        return
    for row in rows:
        line = f"{row['task']:<13} {row['dataset']:<10} {row['n_classes']:>3} classes"
        if "split_sizes" in row:
            sizes = row["split_sizes"]
            line += f"  train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}"
            typer.echo(line)
            typer.echo("    " + ", ".join(f"{c} {n}" for c, n in row["class_counts"].items()))
        else:
            typer.echo(line + ": " + (", ".join(row["classes"])
                                      or "resolved from a cache (labels with >= 10 records)"))


def register(app: typer.Typer) -> None:
    """Add ``tasks`` to the fgclep application."""
    app.command("tasks")(tasks_command)
