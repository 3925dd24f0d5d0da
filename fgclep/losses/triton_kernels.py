"""Fused Triton kernels of the soft sigmoid loss (forward and backward in two passes).

Anatomy (after Liger-Kernel and Triton's fused layer-norm tutorial): jit kernels with the math in
comments, then launchers, then the autograd Function. The module-level API lives in
:mod:`fgclep.losses.soft_sigmoid` (``backend="triton"``).

Math, with ``P`` pairs, ``s_ij = <x_i, y_j>``, ``z_ij = t·s_ij + b``, ``g_ij = σ(z_ij) − S_ij``::

    L       = Σ_ij [softplus(z_ij) − S_ij·z_ij] / P
    ∂L/∂x_i = (t/P)·Σ_j g_ij·y_j        (row pass, with the loss, ∂L/∂t = Σ g·s/P, ∂L/∂b = Σ g/P)
    ∂L/∂y_j = (t/P)·Σ_i g_ij·x_i        (column pass)

Targets ``S`` are recomputed per tile, never read from an N×M buffer (except for an explicit
target matrix): identity ``[i + offset == j]``, fgclep ``(1 + <r_i, r_j>)/2``, threshold
``[<r_i, r_j> >= τ]``. Each program holds a (BLOCK, d) fp32 accumulator; dots accumulate in fp32
whatever the input dtype (fp16/bf16/fp32; float64 inputs are computed in fp32). Extra memory is
O((N + M)·d). Under ``TRITON_INTERPRET=1`` (CPU) there is one autotune config, inputs are upcast
to fp32 before the dots, and only tl.exp / tl.log are used (no libdevice).

Shared memory: a program keeps its own (BLOCK, d) tile and buffers ``num_stages`` tiles of the
side it loops over (plus the report-embedding tiles of the fgclep/threshold targets). Configs
whose estimate exceeds the device's shared memory are pruned before autotuning (fp32 or wide
embeddings on a small-memory GPU keep only the small configs); should the compiler still run out
of resources, the loss warns once and falls back to the chunked backend.
"""
from __future__ import annotations

import functools
import os
import warnings

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable
from triton.runtime.errors import OutOfResources

from fgclep.losses.soft_sigmoid import LossProblem, grads_from_saved

__all__ = ["triton_loss", "TritonSoftSigmoid"]

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


# FGCLEP_TRITON_AUTOTUNE=0 keeps only the first GPU config: no autotuning, a quarter of the
# compilations (the GPU correctness tests use it; read at import, like TRITON_INTERPRET).
AUTOTUNE = os.environ.get("FGCLEP_TRITON_AUTOTUNE", "1") != "0"


# (BLOCK_M, BLOCK_N, num_warps, num_stages): the first that fits is the default without
# autotuning; the last three are for fp32 or wide embeddings on GPUs with little shared memory.
GPU_CONFIGS = ((64, 64, 4, 3), (64, 128, 8, 3), (128, 64, 8, 3), (32, 64, 4, 4),
               (64, 64, 4, 2), (32, 32, 4, 2), (32, 32, 4, 1))


def _configs():
    if INTERPRET:
        return [triton.Config({"BLOCK_M": 16, "BLOCK_N": 16}, num_warps=1)]
    return [triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=w, num_stages=s)
            for bm, bn, w, s in GPU_CONFIGS]


def shared_memory_estimate(own_block: int, looped_block: int, stages: int, block_d: int,
                           block_k: int, itemsize: int, target_code: int) -> int:
    """Conservative bytes of shared memory for one program of a pass.

    ``own_block`` rows (or columns) stay resident while ``stages`` tiles of ``looped_block`` rows
    of the other side are buffered, each ``block_d`` wide, plus ``block_k`` wide report-embedding
    tiles for the fgclep/threshold targets (``target_code`` 1 or 2).
    """
    width = block_d + (block_k if target_code in (1, 2) else 0)
    return itemsize * width * (own_block + stages * looped_block)


def device_shared_memory(device) -> int:
    """Largest shared memory (bytes) a program may use on ``device``; 99 KiB if it can't be read."""
    try:
        index = device.index if device.index is not None else torch.cuda.current_device()
        return int(triton.runtime.driver.active.utils.get_device_properties(index)["max_shared_mem"])
    except Exception:  # noqa: BLE001 - any driver failure: assume a small (consumer) GPU
        return 99 * 1024


def prune_configs(configs, named_args, *, column_pass: bool, limit=None, **kwargs):
    """Configs whose shared-memory estimate fits the device (``early_config_prune`` hook).

    With ``FGCLEP_TRITON_AUTOTUNE=0`` only the first fitting config is kept. When none fits,
    the one with the smallest estimate is kept (the compiler then decides).
    """
    x = named_args["X"]
    if limit is None:
        limit = device_shared_memory(x.device)

    def need(cfg):
        bm, bn = cfg.kwargs["BLOCK_M"], cfg.kwargs["BLOCK_N"]
        own, looped = (bn, bm) if column_pass else (bm, bn)
        return shared_memory_estimate(own, looped, cfg.num_stages, kwargs["BLOCK_D"],
                                      kwargs["BLOCK_K"], x.element_size(), kwargs["TARGET"])

    fitting = [c for c in configs if need(c) <= limit]
    if not fitting:
        return [min(configs, key=need)]
    return fitting if AUTOTUNE else fitting[:1]


@triton.jit
def _softplus_sigmoid(z):
    # softplus(z) = max(z, 0) + log(1 + e^{−|z|}),  σ(z) = 1/(1 + e^{−z}) written with e^{−|z|}:
    # no overflow for any finite z (|z| = 1e3 gives e = 0, softplus = max(z, 0)).
    e = tl.exp(-tl.abs(z))
    sp = tl.maximum(z, 0.0) + tl.log(1.0 + e)
    sig = tl.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return sp, sig


@triton.jit
def _tile(X, Y, RR, RC, SD, rows, cols, x, y, t, b, N, M, K, stride_rr, stride_rc, stride_sd,
          row_offset, threshold, HAS_BIAS: tl.constexpr, TARGET: tl.constexpr,
          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
          PRECISION: tl.constexpr):
    # One (BLOCK_M, BLOCK_N) tile: s = x·yᵀ, z = t·s + b, targets S, per-pair loss ℓ and
    # g = σ(z) − S (both zero outside the N×M batch).
    s = tl.dot(x, tl.trans(y), input_precision=PRECISION)
    z = s * t
    if HAS_BIAS:
        z = z + b
    valid = (rows[:, None] < N) & (cols[None, :] < M)
    if TARGET == 0:      # identity: row i (global index i + offset) pairs with column i + offset
        tgt = tl.where((rows[:, None] + row_offset) == cols[None, :], 1.0, 0.0)
    elif TARGET == 3:    # explicit (N, M) target matrix
        offs = rows[:, None].to(tl.int64) * stride_sd + cols[None, :]
        tgt = tl.load(SD + offs, mask=valid, other=0.0).to(tl.float32)
    else:                # fgclep / threshold: r_rows·r_colsᵀ accumulated over the width K
        rs = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            rr = tl.load(RR + rows[:, None] * stride_rr + ks[None, :],
                         mask=(rows[:, None] < N) & (ks[None, :] < K), other=0.0)
            rc = tl.load(RC + cols[:, None] * stride_rc + ks[None, :],
                         mask=(cols[:, None] < M) & (ks[None, :] < K), other=0.0)
            rs += tl.dot(rr, tl.trans(rc), input_precision=PRECISION)
        if TARGET == 1:
            tgt = 0.5 + 0.5 * rs
        else:
            tgt = tl.where(rs >= threshold, 1.0, 0.0)
    sp, sig = _softplus_sigmoid(z)
    loss = tl.where(valid, sp - tgt * z, 0.0)
    g = tl.where(valid, sig - tgt, 0.0)
    return s, loss, g


@triton.autotune(configs=_configs(), key=["N", "M", "D", "K", "TARGET"],
                 prune_configs_by={"early_config_prune": functools.partial(prune_configs, column_pass=False)})
@triton.jit
def _row_kernel(X, Y, RR, RC, SD, SCALE, BIAS, DX, LOSS, DT, DB, N, M, D, K,
                stride_x, stride_y, stride_rr, stride_rc, stride_sd, stride_dx,
                row_offset, threshold, inv_pairs,
                HAS_BIAS: tl.constexpr, TARGET: tl.constexpr, NEED_DX: tl.constexpr,
                BLOCK_D: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    # Row pass for rows i of this block, looping over all column tiles j:
    #   LOSS[i] = Σ_j ℓ_ij,  DT[i] = Σ_j g_ij·s_ij,  DB[i] = Σ_j g_ij,
    #   DX[i]   = (t/P)·Σ_j g_ij·y_j   (the launcher divides the three row sums by P).
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    ds = tl.arange(0, BLOCK_D)
    x = tl.load(X + rows[:, None] * stride_x + ds[None, :],
                mask=(rows[:, None] < N) & (ds[None, :] < D), other=0.0)
    t = tl.load(SCALE).to(tl.float32)
    b = 0.0
    if HAS_BIAS:
        b = tl.load(BIAS).to(tl.float32)
    acc_loss = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc_dt = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc_db = tl.zeros((BLOCK_M,), dtype=tl.float32)
    coef = t * inv_pairs
    acc_dx = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    for j0 in range(0, M, BLOCK_N):
        cols = j0 + tl.arange(0, BLOCK_N)
        y = tl.load(Y + cols[:, None] * stride_y + ds[None, :],
                    mask=(cols[:, None] < M) & (ds[None, :] < D), other=0.0)
        s, loss, g = _tile(X, Y, RR, RC, SD, rows, cols, x, y, t, b, N, M, K, stride_rr,
                           stride_rc, stride_sd, row_offset, threshold, HAS_BIAS, TARGET,
                           BLOCK_M, BLOCK_N, BLOCK_K, PRECISION)
        acc_loss += tl.sum(loss, axis=1)
        acc_dt += tl.sum(g * s, axis=1)
        acc_db += tl.sum(g, axis=1)
        if NEED_DX:
            acc_dx += tl.dot(g.to(y.dtype), y, input_precision=PRECISION)
    rmask = rows < N
    tl.store(LOSS + rows, acc_loss, mask=rmask)
    tl.store(DT + rows, acc_dt, mask=rmask)
    tl.store(DB + rows, acc_db, mask=rmask)
    if NEED_DX:
        tl.store(DX + rows[:, None] * stride_dx + ds[None, :], acc_dx * coef,
                 mask=rmask[:, None] & (ds[None, :] < D))


@triton.autotune(configs=_configs(), key=["N", "M", "D", "K", "TARGET"],
                 prune_configs_by={"early_config_prune": functools.partial(prune_configs, column_pass=True)})
@triton.jit
def _col_kernel(X, Y, RR, RC, SD, SCALE, BIAS, DY, N, M, D, K,
                stride_x, stride_y, stride_rr, stride_rc, stride_sd, stride_dy,
                row_offset, threshold, inv_pairs,
                HAS_BIAS: tl.constexpr, TARGET: tl.constexpr,
                BLOCK_D: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    # Column pass for columns j of this block, looping over all row tiles i:
    #   DY[j] = (t/P)·Σ_i g_ij·x_i   (the same g as the row pass, recomputed tile by tile).
    pid = tl.program_id(0)
    cols = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    ds = tl.arange(0, BLOCK_D)
    y = tl.load(Y + cols[:, None] * stride_y + ds[None, :],
                mask=(cols[:, None] < M) & (ds[None, :] < D), other=0.0)
    t = tl.load(SCALE).to(tl.float32)
    b = 0.0
    if HAS_BIAS:
        b = tl.load(BIAS).to(tl.float32)
    coef = t * inv_pairs
    acc_dy = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    for i0 in range(0, N, BLOCK_M):
        rows = i0 + tl.arange(0, BLOCK_M)
        x = tl.load(X + rows[:, None] * stride_x + ds[None, :],
                    mask=(rows[:, None] < N) & (ds[None, :] < D), other=0.0)
        s, loss, g = _tile(X, Y, RR, RC, SD, rows, cols, x, y, t, b, N, M, K, stride_rr,
                           stride_rc, stride_sd, row_offset, threshold, HAS_BIAS, TARGET,
                           BLOCK_M, BLOCK_N, BLOCK_K, PRECISION)
        acc_dy += tl.dot(tl.trans(g.to(x.dtype)), x, input_precision=PRECISION)
    tl.store(DY + cols[:, None] * stride_dy + ds[None, :], acc_dy * coef,
             mask=(cols[:, None] < M) & (ds[None, :] < D))


# ----------------------------------------------------------------------------------- launchers
def _block(width: int) -> int:
    return max(16, triton.next_power_of_2(int(width)))


def _kernel_inputs(prob: LossProblem):
    """Contiguous kernel operands: fp32 under the interpreter or for float64, else native."""
    work = prob.ecg.dtype
    if INTERPRET or work == torch.float64:
        work = torch.float32
    x = prob.ecg.detach().to(work).contiguous()
    y = prob.text.detach().to(work).contiguous()
    scale = prob.scale.detach().to(torch.float32).reshape(1).contiguous()
    bias = (scale if prob.bias is None
            else prob.bias.detach().to(torch.float32).reshape(1).contiguous())
    rr = rc = sd = x                     # stand-ins for pointers this target kind never reads
    k = 1
    if prob.kind in ("fgclep", "threshold"):
        rr = prob.r_rows.to(work).contiguous()
        rc = prob.r_cols.to(work).contiguous()
        k = rr.shape[1]
    elif prob.kind == "matrix":
        sd = prob.matrix.to(torch.float32).contiguous()
    return x, y, rr, rc, sd, scale, bias, k


def forward_and_grads(prob: LossProblem, need_x: bool, need_y: bool):
    """Row pass (and column pass when ``need_y``); returns fp32 (loss, dx, dy, dt, db)."""
    x, y, rr, rc, sd, scale, bias, k = _kernel_inputs(prob)
    n, d = x.shape
    m = y.shape[0]
    dev = x.device
    precision = "ieee" if x.dtype == torch.float32 else "tf32"
    inv = 1.0 / prob.n_pairs
    common = dict(N=n, M=m, D=d, K=k, stride_x=x.stride(0), stride_y=y.stride(0),
                  stride_rr=rr.stride(0), stride_rc=rc.stride(0), stride_sd=sd.stride(0),
                  row_offset=prob.row_offset, threshold=float(prob.threshold), inv_pairs=inv,
                  HAS_BIAS=prob.bias is not None, TARGET=prob.code, BLOCK_D=_block(d),
                  BLOCK_K=min(64, _block(k)), PRECISION=precision)
    loss_rows = torch.empty(n, dtype=torch.float32, device=dev)
    dt_rows = torch.empty_like(loss_rows)
    db_rows = torch.empty_like(loss_rows)
    dx = torch.empty((n, d), dtype=torch.float32, device=dev) if need_x else loss_rows
    grid_rows = lambda meta: (triton.cdiv(n, meta["BLOCK_M"]),)  # noqa: E731
    _row_kernel[grid_rows](x, y, rr, rc, sd, scale, bias, dx, loss_rows, dt_rows, db_rows,
                           stride_dx=dx.stride(0), NEED_DX=need_x, **common)
    dy = None
    if need_y:
        dy = torch.empty((m, d), dtype=torch.float32, device=dev)
        grid_cols = lambda meta: (triton.cdiv(m, meta["BLOCK_N"]),)  # noqa: E731
        _col_kernel[grid_cols](x, y, rr, rc, sd, scale, bias, dy, stride_dy=dy.stride(0),
                               **common)
    return (loss_rows.sum() * inv, dx if need_x else None, dy, dt_rows.sum() * inv,
            db_rows.sum() * inv)


# ---------------------------------------------------------------------------- autograd Function
class TritonSoftSigmoid(torch.autograd.Function):
    """Fused loss: forward runs both passes and keeps only the (N, d)/(M, d) gradients."""

    @staticmethod
    def forward(ctx, ecg, text, scale, bias, prob: LossProblem, grad_enabled: bool):
        # needs_input_grad is also True under torch.no_grad(); skip the gradients there.
        need_x, need_y, need_t, need_b = (bool(v) and grad_enabled
                                          for v in ctx.needs_input_grad[:4])
        loss, dx, dy, d_t, d_b = forward_and_grads(prob, need_x, need_y)
        ctx.shapes = (scale.shape, None if bias is None else bias.shape)
        ctx.dtypes = (ecg.dtype, text.dtype, scale.dtype, None if bias is None else bias.dtype)
        ctx.flags = (need_x, need_y, need_t, need_b and bias is not None)
        ctx.save_for_backward(dx, dy, d_t, d_b)
        return loss.to(prob.compute_dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        return (*grads_from_saved(ctx, grad_out), None, None)


_OUT_OF_RESOURCES: set = set()


def triton_loss(prob: LossProblem) -> torch.Tensor:
    """Loss of a validated problem with the fused kernels (``backend="triton"``).

    If Triton reports that the kernels do not fit this device for the embedding width and dtype
    (``OutOfResources``: shared memory, in practice), warns once per such shape and uses the
    chunked backend.
    """
    shape_key = (str(prob.ecg.device), prob.ecg.shape[1], prob.ecg.dtype, prob.kind)
    if shape_key not in _OUT_OF_RESOURCES:
        try:
            return TritonSoftSigmoid.apply(prob.ecg, prob.text, prob.scale, prob.bias, prob,
                                           torch.is_grad_enabled())
        except OutOfResources as err:
            _OUT_OF_RESOURCES.add(shape_key)
            warnings.warn(f"soft_sigmoid_loss: the Triton kernels do not fit {prob.ecg.device} for "
                          f"width {prob.ecg.shape[1]} and {prob.ecg.dtype} ({err}); using the "
                          "chunked backend for this shape", RuntimeWarning, stacklevel=3)
    from fgclep.losses.chunked import chunked_loss
    return chunked_loss(prob)
