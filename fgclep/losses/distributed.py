"""Distributed soft sigmoid loss: local ECG rows against the text of the whole global batch.

Each of W ranks holds ``n_r`` pairs; the global batch has ``N = Σ n_r`` ECGs and as many texts.
The full-batch loss splits into row blocks, ``L = Σ_r L_r`` with
``L_r = Σ_{i ∈ rank r, all j} ℓ_ij / N²``. Rank r all-gathers the text embeddings (and target
embeddings), computes its block ``L_r`` with any backend, and returns:

* the value ``L`` (the block losses summed over ranks, so every rank logs the full-batch loss);
* the gradient of ``W·L_r`` (``ddp_average=True``, default) or of ``L_r`` (``False``).

Gradient bookkeeping. ``x_i`` only occurs in its own rank's block, so ``∂L_r/∂x_i = ∂L/∂x_i``.
``y_j`` occurs in every block; the all-gather's backward sums the gathered text gradient over
ranks (an all-reduce, then each rank keeps its own slice: a reduce-scatter written with the
collective gloo and NCCL both have), giving ``Σ_r' ∂L_r'/∂y_j = ∂L/∂y_j`` (times W with
``ddp_average``). Scale and bias are replicated; each rank gets ``∂L_r/∂t``. DDP then *averages*
parameter gradients over ranks, so multiplying by W makes the average equal ``∂L/∂θ`` of the
full batch exactly; with ``ddp_average=False`` summing them does (for a manual all-reduce SUM).

Ranks may hold different batch sizes (e.g. the last batch without ``drop_last``): sizes are
gathered first and the text is padded for the collective.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from fgclep.losses.soft_sigmoid import (
    BACKENDS,
    DEFAULT_THRESHOLD,
    TARGETS,
    build_problem,
    run_backend,
    soft_sigmoid_loss,
)

__all__ = ["distributed_soft_sigmoid_loss", "DistributedSoftSigmoidLoss"]


def _gather_padded(local: torch.Tensor, sizes: list, group) -> torch.Tensor:
    """All-gather rows of possibly different counts; returns the (Σ sizes, ...) concatenation."""
    width = max(sizes)
    padded = local.new_zeros((width,) + tuple(local.shape[1:]))
    padded[: local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous(), group=group)
    return torch.cat([p[:s] for p, s in zip(parts, sizes)], dim=0)


class _GatherRows(torch.autograd.Function):
    """All-gather in forward; sum over ranks and keep this rank's slice in backward."""

    @staticmethod
    def forward(ctx, local, sizes, offset, group):
        ctx.sizes, ctx.offset, ctx.group = sizes, offset, group
        return _gather_padded(local.detach(), sizes, group)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        n = ctx.sizes[dist.get_rank(ctx.group)]
        return grad[ctx.offset: ctx.offset + n], None, None, None


def distributed_soft_sigmoid_loss(ecg: torch.Tensor, text: torch.Tensor, scale, bias=None, *,
                                  target="fgclep", target_emb=None, backend: str = "auto",
                                  threshold: float = DEFAULT_THRESHOLD, group=None,
                                  ddp_average: bool = True) -> torch.Tensor:
    """Soft sigmoid loss over the global batch of a process group (see the module docstring).

    Parameters
    ----------
    ecg, text : torch.Tensor
        This rank's (n, d) L2-normalised embeddings (row i of text is the report of ECG i).
    scale, bias, backend, threshold
        As in :func:`fgclep.losses.soft_sigmoid_loss`.
    target : {"fgclep", "identity", "threshold"} or torch.Tensor
        String targets as in :func:`soft_sigmoid_loss`, with the positives of the identity at
        this rank's global rows; a tensor gives this rank's rows against all global columns,
        shape (n, N_global).
    target_emb : torch.Tensor or None
        This rank's (n, k) target embeddings; they are all-gathered for the columns. None:
        the (gathered) text, detached.
    group : torch.distributed.ProcessGroup or None
        Process group (default: the world).
    ddp_average : bool
        True: gradients are W times this rank's share, so DDP's gradient *mean* equals the
        full-batch gradient. False: plain shares, whose *sum* over ranks equals it.

    Returns
    -------
    torch.Tensor
        0-dim full-batch loss (identical on every rank). Without an initialised process group
        (or with one rank) this is :func:`soft_sigmoid_loss` on the local batch.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size(group) == 1:
        return soft_sigmoid_loss(ecg, text, scale, bias, target=target, target_emb=target_emb,
                                 backend=backend, threshold=threshold)
    if not isinstance(ecg, torch.Tensor) or not isinstance(text, torch.Tensor):
        raise TypeError("distributed_soft_sigmoid_loss: ecg and text must be tensors")
    if ecg.ndim != 2 or text.ndim != 2 or ecg.shape[0] != text.shape[0]:
        raise ValueError("distributed_soft_sigmoid_loss: ecg and text must be (n, d) with the "
                         f"same n per rank, got {tuple(ecg.shape)} and {tuple(text.shape)}")
    if isinstance(target_emb, (tuple, list)):
        raise ValueError("distributed_soft_sigmoid_loss: pass this rank's (n, k) target_emb; "
                         "the columns are gathered here")
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    n_local = torch.tensor([ecg.shape[0]], dtype=torch.int64, device=ecg.device)
    counts = [torch.zeros_like(n_local) for _ in range(world)]
    dist.all_gather(counts, n_local, group=group)
    sizes = [int(c.item()) for c in counts]
    offset, n_global = sum(sizes[:rank]), sum(sizes)

    text_all = _GatherRows.apply(text, sizes, offset, group)
    emb = None
    if isinstance(target, str) and target in ("fgclep", "threshold"):
        r_local = text.detach() if target_emb is None else target_emb.detach()
        if r_local.ndim != 2 or r_local.shape[0] != ecg.shape[0]:
            raise ValueError("distributed_soft_sigmoid_loss: target_emb must be (n, k) with this "
                             f"rank's n={ecg.shape[0]}, got {tuple(r_local.shape)}")
        emb = (r_local, _gather_padded(r_local.contiguous(), sizes, group))
    elif target_emb is not None:
        raise ValueError("distributed_soft_sigmoid_loss: target_emb is only used by the "
                         "'fgclep' and 'threshold' targets")
    prob = build_problem(ecg, text_all, scale, bias, target=target, target_emb=emb,
                         threshold=threshold, row_offset=offset, n_pairs=n_global * n_global)
    block = run_backend(prob, backend)

    total = block.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    factor = float(world) if ddp_average else 1.0
    # Value: the full-batch loss; gradient: factor · ∂L_r (the detached part carries no gradient).
    return block * factor + (total - block.detach() * factor)


class DistributedSoftSigmoidLoss(nn.Module):
    """Module form of :func:`distributed_soft_sigmoid_loss` (same forward as SoftSigmoidLoss).

    Examples
    --------
    >>> loss_fn = DistributedSoftSigmoidLoss(target="fgclep")   # inside torchrun + DDP
    >>> # loss = loss_fn(**ddp_model(signals, texts), target_emb=report_emb_local)
    """

    def __init__(self, target="fgclep", backend: str = "auto",
                 threshold: float = DEFAULT_THRESHOLD, group=None,
                 ddp_average: bool = True) -> None:
        super().__init__()
        if isinstance(target, str) and target not in TARGETS:
            raise ValueError(f"DistributedSoftSigmoidLoss: target must be one of {TARGETS}, "
                             f"got {target!r}")
        if backend not in BACKENDS:
            raise ValueError(f"DistributedSoftSigmoidLoss: backend must be one of {BACKENDS}, "
                             f"got {backend!r}")
        self.target, self.backend, self.threshold = target, backend, float(threshold)
        self.group, self.ddp_average = group, bool(ddp_average)

    def forward(self, ecg_features, text_features, logit_scale, logit_bias=None,
                target_emb=None) -> torch.Tensor:
        return distributed_soft_sigmoid_loss(
            ecg_features, text_features, logit_scale, logit_bias, target=self.target,
            target_emb=target_emb, backend=self.backend, threshold=self.threshold,
            group=self.group, ddp_average=self.ddp_average)
