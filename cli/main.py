"""The ``fgclep`` Typer application.

Each command lives in its own module of this package and registers itself on ``app`` through
``register(app)``; a command is listed in ``_COMMAND_MODULES`` only once it works.
"""
from __future__ import annotations

import importlib
from typing import Annotated, Optional

import typer

import fgclep

app = typer.Typer(
    name="fgclep",
    help="Fine-grained ECG-text contrastive pretraining: preprocess, measure, recover features, "
    "train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules of this package that define commands, in the order `fgclep --help` lists them.
_COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "preprocess",
    "extract_features",
    "plot_ecg",
    "recover_features",
    "tasks",
    "download",
    "train",
    "zeroshot",
    "linear_probe",
    "evaluate_all",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"fgclep {fgclep.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version_callback, is_eager=True,
                     help="Show the version and exit."),
    ] = None,
) -> None:
    """fgclep command line."""


for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
