"""Atomic checkpoints and exact resume.

``RUN_DIR/checkpoint-STEP/`` holds::

    model/                 model.safetensors + config.json (fgclep.models.save_model; no pickle)
    training_state.pt      optimizer, LR scheduler and loss-scaler state (torch.save, read back
                           with weights_only=True)
    rng-rank{R}.pt         every rank's torch / CUDA / Python / NumPy RNG states
    trainer_state.json     step, epoch, world size, batch layout, the train and model configs

A checkpoint is written into ``.checkpoint-STEP.tmp`` and renamed when complete, so a crash
never leaves a half-written ``checkpoint-STEP``. The data order is a pure function of
(seed, epoch, rank, world size), and the position in it follows from the step, so restoring the
states above continues the identical trajectory.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import re
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from fgclep.models import save_model

_CKPT = re.compile(r"^checkpoint-(\d+)$")


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first, as (step, path)."""
    out = []
    if run_dir.is_dir():
        for p in run_dir.iterdir():
            m = _CKPT.match(p.name)
            if m and (p / "trainer_state.json").is_file():
                out.append((int(m.group(1)), p))
    return sorted(out)


def latest_checkpoint(run_dir: Path) -> Optional[Path]:
    """The newest complete checkpoint directory, or None."""
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1][1] if ckpts else None


def tmp_dir(run_dir: Path, step: int) -> Path:
    return run_dir / f".checkpoint-{step}.tmp"


def rng_state() -> dict[str, Any]:
    """This process's RNG states in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_rank_rng(run_dir: Path, step: int, rank: int) -> None:
    """Every rank writes its RNG state into the pending checkpoint (before rank 0 finalises)."""
    tmp = tmp_dir(run_dir, step)
    tmp.mkdir(parents=True, exist_ok=True)
    torch.save(rng_state(), tmp / f"rng-rank{rank}.pt")


def finalize_checkpoint(run_dir: Path, step: int, model, optimizer, scheduler, scaler,
                        trainer_state: dict[str, Any], keep: int) -> Path:
    """Rank 0: write model, optimizer/scheduler/scaler and trainer state, rename, prune old ones."""
    tmp = tmp_dir(run_dir, step)
    tmp.mkdir(parents=True, exist_ok=True)
    save_model(model, tmp / "model")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict()}, tmp / "training_state.pt")
    (tmp / "trainer_state.json").write_text(json.dumps(trainer_state, indent=2) + "\n")
    final = run_dir / f"checkpoint-{step}"
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for _, old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _damaged(path: Path, exc: BaseException) -> ValueError:
    return ValueError(f"train: resume: cannot read {path} ({exc}); the checkpoint is damaged: "
                      f"delete {path.parent} to resume from the one before it")


def read_trainer_state(ckpt: Path) -> dict[str, Any]:
    path = ckpt / "trainer_state.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _damaged(path, exc) from None
    if not isinstance(state, dict):
        raise _damaged(path, TypeError("not a JSON object"))
    return state


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise _damaged(path, exc) from None


def load_training_state(ckpt: Path, rank: int, optimizer, scheduler, scaler) -> None:
    """Restore optimizer, scheduler, scaler and this rank's RNG from a checkpoint."""
    state = _torch_load(ckpt / "training_state.pt")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    rng_path = ckpt / f"rng-rank{rank}.pt"
    if not rng_path.is_file():
        raise ValueError(f"train: resume: {rng_path} is missing (was the run saved with another "
                         "number of processes?)")
    set_rng_state(_torch_load(rng_path))
