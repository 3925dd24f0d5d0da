"""The training loop, readable top to bottom (after nanoGPT): set up, then per optimizer step
accumulate micro-batches, clip, step, log, checkpoint.

Model, loss and step are separate objects (open_clip): the model returns features, temperature
and bias by name; :class:`fgclep.losses.SoftSigmoidLoss` takes them by name; this loop adds
them up. Under ``torchrun`` the same code runs DDP with the distributed loss.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Optional

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from fgclep.losses import DistributedSoftSigmoidLoss, SoftSigmoidLoss
from fgclep.models import DualEncoder, create_model, load_model, save_model
from fgclep.text import embed_reports
from fgclep.train import checkpoint as ckpt_io
from fgclep.train.config import TrainConfig
from fgclep.train.data import TrainData
from fgclep.train.distributed import (DistContext, broadcast_object, cleanup_distributed,
                                      setup_distributed)

logger = logging.getLogger(__name__)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; training stopped without writing a checkpoint."""


def train(config: TrainConfig) -> dict[str, Any]:
    """Train a dual encoder on a preprocessing cache (one process, or DDP under torchrun).

    Parameters
    ----------
    config : TrainConfig
        See :class:`fgclep.train.TrainConfig` for every field and its default.

    Returns
    -------
    dict
        ``run_dir``, ``final`` (a :func:`fgclep.models.load_model` directory), ``steps``,
        ``final_loss`` (mean loss of the last logged window), ``resumed_from`` (or None).

    Raises
    ------
    TrainingDivergedError
        When the loss is not finite; the message names the step and what to try.

    Examples
    --------
    >>> from fgclep.train import TrainConfig, train
    >>> train(TrainConfig(cache="cache/", out="runs/coarse", model="resnet1d_small",
    ...                   epochs=2, batch_size=32, lr=1e-3))  # doctest: +SKIP
    """
    config.validate()
    ctx = setup_distributed(config.device)
    try:
        result = _train(config, ctx)
        # Leave together: a rank that tears its gloo pairs down while rank 0 still writes the
        # final model can make rank 0's process group abort at exit.
        ctx.barrier()
        return result
    finally:
        cleanup_distributed(ctx)


def resolve_model_dir(path: str | Path) -> Path:
    """A run directory (its ``final/``) or a :func:`save_model` directory → the model directory."""
    path = Path(path)
    for cand in (path / "final", path):
        if (cand / "config.json").is_file():
            return cand
    raise ValueError(f"train: init={str(path)!r} is neither a run directory with final/ nor a "
                     "saved model directory (config.json + model.safetensors)")


def _build_model(cfg: TrainConfig, resume_from: Optional[Path]) -> DualEncoder:
    if resume_from is not None:
        return load_model(resume_from / "model")
    if cfg.init is not None:
        # Stage 2 continues from stage 1's weights; its config fixes the architecture.
        return load_model(resolve_model_dir(cfg.init))
    return create_model(cfg.model, **cfg.model_overrides)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # Decay only matrices/kernels; biases, norms, temperature and logit bias stay undecayed.
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _lr_lambda(total: int, warmup_fraction: float, min_ratio: float):
    warmup = max(1, math.ceil(warmup_fraction * total)) if warmup_fraction > 0 else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def _amp_dtype(amp: str, device: torch.device) -> Optional[torch.dtype]:
    if device.type != "cuda":
        if amp in ("bf16", "fp16"):
            raise ValueError(f"train: amp={amp!r} needs a CUDA device; use amp='none' on CPU")
        return None
    if amp == "none":
        return None
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def _report_embeddings(cfg: TrainConfig, model: DualEncoder, data: TrainData,
                       ctx: DistContext) -> torch.Tensor:
    """Pretrained text-encoder embeddings of the split's reports, cached in the run directory.

    They are the targets ``r`` of the fgclep loss and, with a frozen tower, its text input."""
    from fgclep.text import load_text_encoder

    encoder = model.text.model if model.text_frozen else load_text_encoder(
        model.config.text.name_or_path)
    encoder.max_seq_length = model.config.text.max_length
    cache_path = Path(cfg.out) / "report_embeddings.npz"
    emb = None
    if ctx.is_main:  # rank 0 fills the cache first; the others then only read it
        emb = embed_reports(data.reports, model=encoder, batch_size=cfg.embedding_batch_size,
                            cache_path=cache_path)
    ctx.barrier()
    if emb is None:
        emb = embed_reports(data.reports, model=encoder, batch_size=cfg.embedding_batch_size,
                            cache_path=cache_path)
    return torch.from_numpy(emb)


def _check_resume(cfg: TrainConfig, ctx: DistContext, data: TrainData, ckpt: Path) -> int:
    state = ckpt_io.read_trainer_state(ckpt)
    layout = {"world_size": ctx.world_size, "batch_size": cfg.batch_size,
              "grad_accum_steps": cfg.grad_accum_steps, "seed": cfg.seed,
              "steps_per_epoch": data.steps_per_epoch}
    for key, value in layout.items():
        if state.get(key) != value:
            raise ValueError(f"train: cannot resume exactly from {ckpt}: it was written with "
                             f"{key}={state.get(key)!r}, this run has {key}={value!r}")
    return int(state["step"])


def _truncate_metrics(path: Path, step: int) -> None:
    # Lines logged after the checkpoint belong to the interrupted trajectory: drop them.
    if path.is_file():
        keep = [ln for ln in path.read_text().splitlines() if ln.strip()
                and json.loads(ln).get("step", 0) <= step]
        path.write_text("".join(ln + "\n" for ln in keep))


def _train(cfg: TrainConfig, ctx: DistContext) -> dict[str, Any]:
    run_dir = Path(cfg.out)
    from fgclep._paths import check_dir_path
    check_dir_path(run_dir, "train")
    existing = ckpt_io.list_checkpoints(run_dir)
    if existing and not cfg.resume:
        raise ValueError(f"train: {run_dir} already holds checkpoints; pass resume=True (--resume) "
                         "to continue it, or choose another output directory")
    resume_from = ckpt_io.latest_checkpoint(run_dir) if cfg.resume else None
    if cfg.resume and resume_from is None and ctx.is_main:
        logger.warning("train: resume requested but %s has no checkpoint; starting fresh", run_dir)
    # Data: original reports for the coarse stage, enhanced ones for the fine stage.
    from fgclep.data import open_cache
    ds = open_cache(cfg.cache, reports="enhanced" if cfg.stage == "fine" else "original")
    data = TrainData(ds, cfg.split, cfg.batch_size, cfg.grad_accum_steps, cfg.seed,
                     ctx.rank, ctx.world_size)

    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    ctx.barrier()

    # Model: the same seed on every rank (DDP also broadcasts rank 0's weights).
    torch.manual_seed(cfg.seed)
    model = _build_model(cfg, resume_from).to(ctx.device)
    use_cached_text = model.text_frozen and cfg.precompute_text
    report_emb = None
    needs_r = cfg.target in ("fgclep", "threshold")  # targets computed from report embeddings
    if use_cached_text or needs_r:
        report_emb = _report_embeddings(cfg, model, data, ctx).to(ctx.device)

    total_steps = cfg.max_steps or cfg.epochs * data.steps_per_epoch
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                  foreach=ctx.device.type == "cuda")
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(total_steps, cfg.warmup_fraction, cfg.min_lr_ratio))
    amp_dtype = _amp_dtype(cfg.amp, ctx.device)
    # fp16 needs loss scaling against underflow; bf16 and fp32 do not.
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=amp_dtype == torch.float16)
    loss_cls = DistributedSoftSigmoidLoss if ctx.distributed else SoftSigmoidLoss
    loss_fn = loss_cls(target=cfg.target, backend=cfg.loss_backend)

    start_step = 0
    if resume_from is not None:
        start_step = _check_resume(cfg, ctx, data, resume_from)
        ckpt_io.load_training_state(resume_from, ctx.rank, optimizer, scheduler, scaler)
        if ctx.is_main:
            _truncate_metrics(run_dir / "metrics.jsonl", start_step)
            logger.info("train: resumed from %s at step %d", resume_from, start_step)
    else:
        torch.manual_seed(cfg.seed + ctx.rank)  # dropout differs across ranks, like data does

    net = model
    if ctx.distributed:
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
    model.train()

    writer = _tensorboard(run_dir) if ctx.is_main else None
    bar = tqdm(total=total_steps, initial=start_step, desc=f"train {cfg.stage}", unit="step",
               disable=not (ctx.is_main and cfg.progress))
    window: dict[str, float] = {"loss": 0.0, "n": 0, "fwd_bwd_s": 0.0, "step_s": 0.0, "cpu_s": 0.0}
    last_loss = float("nan")
    order, order_epoch = None, -1
    step = start_step
    while step < total_steps:
        t_step, cpu_step = time.perf_counter(), time.process_time()
        epoch, k = divmod(step, data.steps_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = data.epoch_order(epoch), epoch

        # Accumulate gradients over micro-batches; DDP syncs only on the last one.
        step_loss, fwd_bwd = 0.0, 0.0
        for micro in range(cfg.grad_accum_steps):
            pos = data.micro_batch(order, k, micro)
            signals = data.signals(pos).to(ctx.device, non_blocking=True)
            sync = micro == cfg.grad_accum_steps - 1 or not ctx.distributed
            t0 = time.perf_counter()
            with (contextlib.nullcontext() if sync else net.no_sync()):
                with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    if use_cached_text:
                        out = net(signals, text_embeddings=report_emb[torch.as_tensor(pos)])
                    else:
                        out = net(signals, texts=data.texts(pos))
                target_emb = report_emb[torch.as_tensor(pos)] if needs_r else None
                loss = loss_fn(**out, target_emb=target_emb)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingDivergedError(
                        f"train: loss is {value} at step {step + 1} (epoch {epoch}, micro-batch "
                        f"{micro}, lr {scheduler.get_last_lr()[0]:.3g}); stopped without "
                        "checkpointing. Lower --lr, raise warm-up, use amp 'bf16' or 'none', or "
                        f"resume from the last checkpoint in {run_dir}")
                scaler.scale(loss / cfg.grad_accum_steps).backward()
            fwd_bwd += time.perf_counter() - t0
            step_loss += value / cfg.grad_accum_steps

        # Clip the global gradient norm (after unscaling fp16 gradients), then step.
        scaler.unscale_(optimizer)
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        step += 1
        bar.update(1)

        window["loss"] += step_loss
        window["n"] += 1
        window["fwd_bwd_s"] += fwd_bwd
        window["step_s"] += time.perf_counter() - t_step
        window["cpu_s"] += time.process_time() - cpu_step  # all threads of this process
        if ctx.is_main and (step % cfg.log_every == 0 or step == total_steps):
            last_loss = window["loss"] / window["n"]
            record = {
                "step": step, "epoch": epoch, "loss": last_loss,
                "lr": scheduler.get_last_lr()[0], "grad_norm": grad_norm,
                "logit_scale": float(model.logit_scale.detach()),
                "logit_bias": None if model.logit_bias is None else float(model.logit_bias.detach()),
                "samples_per_s": window["n"] * cfg.batch_size * cfg.grad_accum_steps
                * ctx.world_size / max(window["step_s"], 1e-9),
                "fwd_bwd_s": window["fwd_bwd_s"], "step_s": window["step_s"],
                "cpu_s": window["cpu_s"],
            }
            with open(run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            if writer is not None:
                for key in ("loss", "lr", "grad_norm", "logit_scale", "samples_per_s"):
                    writer.add_scalar(f"train/{key}", record[key], step)
            bar.set_postfix(loss=f"{last_loss:.4f}")
            window = {"loss": 0.0, "n": 0, "fwd_bwd_s": 0.0, "step_s": 0.0, "cpu_s": 0.0}

        # Checkpoint at the configured cadence, at every epoch end by default, and at the end.
        every = cfg.checkpoint_every or data.steps_per_epoch
        if step % every == 0 or step == total_steps:
            _checkpoint(cfg, run_dir, ctx, model, optimizer, scheduler, scaler, data, step)

    bar.close()
    if writer is not None:
        writer.close()
    final = run_dir / "final"
    if ctx.is_main:
        save_model(model, final)
        logger.info("train: finished %d steps; model in %s", total_steps, final)
    ctx.barrier()
    last_loss = broadcast_object(ctx, last_loss)
    return {"run_dir": str(run_dir), "final": str(final), "steps": total_steps,
            "final_loss": last_loss,
            "resumed_from": None if resume_from is None else str(resume_from)}


def _checkpoint(cfg, run_dir, ctx, model, optimizer, scheduler, scaler, data, step) -> None:
    ckpt_io.write_rank_rng(run_dir, step, ctx.rank)
    ctx.barrier()  # every rank's RNG file is in place before rank 0 renames the directory
    if ctx.is_main:
        state = {"step": step, "epoch": step // data.steps_per_epoch,
                 "step_in_epoch": step % data.steps_per_epoch,
                 "steps_per_epoch": data.steps_per_epoch, "world_size": ctx.world_size,
                 "batch_size": cfg.batch_size, "grad_accum_steps": cfg.grad_accum_steps,
                 "seed": cfg.seed, "train_config": cfg.to_dict(),
                 "model_config": model.config.to_dict()}
        ckpt_io.finalize_checkpoint(run_dir, step, model, optimizer, scheduler, scaler, state,
                                    cfg.keep_checkpoints)
    ctx.barrier()


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional; metrics.jsonl always has everything
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))
