"""Chunked soft sigmoid loss: an autograd Function that never keeps an N×M tensor.

Math (``P = n_pairs``, ``g_ij = ∂L/∂z_ij``)::

    z_ij = t·s_ij + b,   s_ij = <x_i, y_j>
    L    = Σ_ij [softplus(z_ij) − S_ij·z_ij] / P
    g_ij = (σ(z_ij) − S_ij) / P
    ∂L/∂x_i = t·Σ_j g_ij·y_j      ∂L/∂y_j = t·Σ_i g_ij·x_i
    ∂L/∂t   = Σ_ij g_ij·s_ij      ∂L/∂b   = Σ_ij g_ij

``g`` depends only on one tile of ``z``, so the forward pass walks over row tiles of at most
``tile_elements`` pairs, accumulates the loss and all four gradients, and frees the tile. It
saves the (N, d) and (M, d) gradients plus two scalars; backward only multiplies them by the
incoming gradient. Extra memory is O((N + M)·d + tile_elements) instead of several N×M tensors.
Computation runs in float32 (float64 for float64 inputs); gradients return in each input's dtype.
Double backward is not supported (the loss is a training objective, never differentiated twice).
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from fgclep.losses.soft_sigmoid import LossProblem, grads_from_saved

__all__ = ["chunked_loss", "ChunkedSoftSigmoid", "DEFAULT_TILE_ELEMENTS"]

#: Pairs per row tile (2**20 → 4 MiB per float32 temporary, ~5 temporaries alive at once).
DEFAULT_TILE_ELEMENTS = 1 << 20


def forward_and_grads(prob: LossProblem, need_x: bool, need_y: bool,
                      tile_elements: int = DEFAULT_TILE_ELEMENTS):
    """Loss and gradients of ``prob`` by row tiles; returns (loss, dx, dy, dt, db) in fp32/fp64.

    ``dx``/``dy`` are None when not needed; ``dt``/``db`` are 0-dim tensors.
    """
    dt_ = prob.compute_dtype
    x = prob.ecg.detach().to(dt_)
    y = prob.text.detach().to(dt_)
    n, m = x.shape[0], y.shape[0]
    t = prob.scale.detach().to(dt_).reshape(())
    b = None if prob.bias is None else prob.bias.detach().to(dt_).reshape(())
    rows = max(1, int(tile_elements) // m)

    loss = torch.zeros((), dtype=dt_, device=x.device)
    d_t = torch.zeros((), dtype=dt_, device=x.device)
    d_b = torch.zeros((), dtype=dt_, device=x.device)
    dx = torch.empty_like(x) if need_x else None
    dy = torch.zeros_like(y) if need_y else None
    for i0 in range(0, n, rows):
        i1 = min(n, i0 + rows)
        xc = x[i0:i1]
        s = xc @ y.T                                   # (rows, M) cosines
        z = s * t if b is None else torch.addcmul(b, s, t)
        target = prob.target_tile(i0, i1, dt_)
        # softplus(z) = −log σ(−z), computed stably (min(u, 0) − log1p(e^{−|u|})) for any finite z.
        loss -= F.logsigmoid(-z).sum()
        loss -= torch.dot(target.reshape(-1), z.view(-1))
        g = torch.sigmoid(z).sub_(target)              # σ(z) − S, unscaled
        del z, target
        d_t += torch.dot(g.view(-1), s.view(-1))
        d_b += g.sum()
        del s
        if need_x:
            torch.mm(g, y, out=dx[i0:i1])
        if need_y:
            dy.addmm_(g.T, xc)
    inv = 1.0 / prob.n_pairs
    loss *= inv
    if need_x:
        dx.mul_(t * inv)
    if need_y:
        dy.mul_(t * inv)
    return loss, dx, dy, d_t * inv, d_b * inv


class ChunkedSoftSigmoid(torch.autograd.Function):
    """Autograd Function over (ecg, text, scale, bias); the problem's targets are constants.

    ``apply(ecg, text, scale, bias, prob, tile_elements, grad_enabled)``; ``bias`` may be None.
    """

    @staticmethod
    def forward(ctx, ecg, text, scale, bias, prob: LossProblem, tile_elements: int,
                grad_enabled: bool):
        # needs_input_grad is also True under torch.no_grad(); skip the gradients there.
        need_x, need_y, need_t, need_b = (bool(v) and grad_enabled
                                          for v in ctx.needs_input_grad[:4])
        # Read the tensors passed to apply (gradcheck perturbs exactly those), not prob's copies.
        prob = replace(prob, ecg=ecg, text=text, scale=scale, bias=bias)
        loss, dx, dy, d_t, d_b = forward_and_grads(prob, need_x, need_y, tile_elements)
        ctx.shapes = (scale.shape, None if bias is None else bias.shape)
        ctx.dtypes = (ecg.dtype, text.dtype, scale.dtype, None if bias is None else bias.dtype)
        ctx.flags = (need_x, need_y, need_t, need_b and bias is not None)
        ctx.save_for_backward(dx, dy, d_t, d_b)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        return (*grads_from_saved(ctx, grad_out), None, None, None)


def chunked_loss(prob: LossProblem, tile_elements: int = DEFAULT_TILE_ELEMENTS) -> torch.Tensor:
    """Loss of a validated problem with the chunked Function (the CPU default backend)."""
    if isinstance(tile_elements, bool) or not isinstance(tile_elements, int) or tile_elements < 1:
        raise ValueError("chunked_loss: tile_elements must be a positive int, "
                         f"got {tile_elements!r}")
    return ChunkedSoftSigmoid.apply(prob.ecg, prob.text, prob.scale, prob.bias, prob,
                                    tile_elements, torch.is_grad_enabled())
