"""``fgclep train``: contrastive pretraining on a preprocessing cache (DDP under torchrun)."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Stage(str, Enum):
    coarse = "coarse"
    fine = "fine"


class Target(str, Enum):
    fgclep = "fgclep"
    identity = "identity"
    threshold = "threshold"


class Amp(str, Enum):
    auto = "auto"
    bf16 = "bf16"
    fp16 = "fp16"
    none = "none"


def train_command(
    cache: Annotated[Path, typer.Option(help="Preprocessing cache directory (fgclep preprocess --out).")],
    out: Annotated[Path, typer.Option(help="Run directory: metrics.jsonl, checkpoint-STEP/, final/.")],
    config: Annotated[Optional[str], typer.Option(
        help="JSON file with TrainConfig fields, or a preset name (demo, demo_small); options "
        "given here override it.")] = None,
    model: Annotated[Optional[str], typer.Option(
        help="Registered model: resnet1d18, vit_tiny, resnet1d_small (fast CPU demo).")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs over the training split.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Pairs per process per micro-batch.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimizer steps.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak AdamW learning rate (default 2e-5).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue exactly from the newest RUN_DIR/checkpoint-STEP.")] = False,
    stage: Annotated[Optional[Stage], typer.Option(
        help="coarse: original reports; fine: enhanced reports (needs --init).")] = None,
    init: Annotated[Optional[Path], typer.Option(
        help="Start from this run directory's final/ model (stage 1 for --stage fine).")] = None,
    target: Annotated[Optional[Target], typer.Option(
        help="Loss targets: fgclep (report similarity), identity (SigLIP) or threshold "
        "(near-identical reports are positives).")] = None,
    amp: Annotated[Optional[Amp], typer.Option(help="Mixed precision (auto: bf16/fp16 on GPU, none on CPU).")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
) -> None:
    """Pretrain the ECG-text dual encoder (run under `torchrun --nproc_per_node N` for DDP)."""
    from fgclep.train import TrainConfig, TrainingDivergedError, train

    overrides = {
        "cache": str(cache), "out": str(out), "model": model, "epochs": epochs,
        "batch_size": batch_size, "max_steps": max_steps, "lr": lr,
        "resume": True if resume else None,
        "stage": stage.value if stage else None, "init": str(init) if init else None,
        "target": target.value if target else None, "amp": amp.value if amp else None,
        "device": device, "progress": False if no_progress else None,
    }
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("fgclep").setLevel(logging.INFO)
    try:
        if config is not None:
            cfg = TrainConfig.from_json(config, **overrides)
        else:
            cfg = TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None},
                                        source="fgclep train")
        result = train(cfg)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except TrainingDivergedError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=3) from None
    typer.echo(f"trained {result['steps']} steps, final loss {result['final_loss']:.4f}; "
               f"model in {result['final']}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to the fgclep application."""
    app.command("train")(train_command)
