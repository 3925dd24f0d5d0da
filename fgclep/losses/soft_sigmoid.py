"""Similarity-weighted ("soft") sigmoid loss: targets, dense torch reference, public API.

The loss of FG-CLEP (arXiv 2505.11939, §3) generalises SigLIP's pairwise sigmoid loss
(Zhai et al., 2023, arXiv 2303.15343) from hard 0/1 targets to soft targets ``S`` in [0, 1]:

    z_ij = t·<x_i, y_j> + b                 (t = exp(log-temperature), b an optional bias)
    L    = mean_ij [ softplus(z_ij) − S_ij·z_ij ]        over all N×M pairs

With ``S = I`` this is SigLIP's loss divided by the batch size (SigLIP sums over columns and
averages over rows: ``−Σ_ij log σ(±z_ij) / N``), so ``N·L`` equals it exactly. The gradient is
``∂L/∂z_ij = (σ(z_ij) − S_ij)/(N·M)``; it is known as soon as one tile of ``z`` is known, which is
what the chunked and Triton backends exploit (see :mod:`fgclep.losses.chunked`).

What we changed from the paper: the paper builds ``S`` from report-embedding similarity only; we
also offer ``target="identity"`` (SigLIP), ``target="threshold"`` (hard targets from the same
similarity) and an explicit target matrix, and three interchangeable backends.

Targets are constants: no gradient flows into ``target_emb`` or an explicit target matrix (the
paper stops the gradient through the report similarity).
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

__all__ = ["soft_sigmoid_loss", "SoftSigmoidLoss", "BACKENDS", "TARGETS", "DEFAULT_THRESHOLD"]

BACKENDS = ("auto", "torch", "chunked", "triton")
TARGETS = ("fgclep", "identity", "threshold")
#: Default cosine threshold of ``target="threshold"``: report embeddings this close count as the
#: same report (near-duplicate machine statements such as "sinus rhythm. normal ecg"); each
#: pair of a report with itself (cosine 1) is always positive.
DEFAULT_THRESHOLD = 0.9

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TARGET_CODES = {"identity": 0, "fgclep": 1, "threshold": 2, "matrix": 3}

TargetEmb = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor], None]


@dataclass
class LossProblem:
    """Validated inputs of one loss evaluation, shared by all backends.

    ``kind`` is one of ``"identity"``, ``"fgclep"``, ``"threshold"``, ``"matrix"``;
    ``r_rows`` (N, k) / ``r_cols`` (M, k) are the detached target embeddings (fgclep,
    threshold), ``matrix`` the detached (N, M) targets; ``row_offset`` shifts the identity
    diagonal (row i is the positive of column ``i + row_offset``; the distributed wrapper uses it
    for its local rows); ``n_pairs`` divides the summed loss (N·M, or the global count under DDP).
    """

    ecg: torch.Tensor
    text: torch.Tensor
    scale: torch.Tensor
    bias: Optional[torch.Tensor]
    kind: str
    r_rows: Optional[torch.Tensor] = None
    r_cols: Optional[torch.Tensor] = None
    matrix: Optional[torch.Tensor] = None
    threshold: float = DEFAULT_THRESHOLD
    row_offset: int = 0
    n_pairs: int = 1

    @property
    def code(self) -> int:
        return _TARGET_CODES[self.kind]

    @property
    def compute_dtype(self) -> torch.dtype:
        """float64 for float64 inputs, float32 otherwise (fp32 accumulation for bf16/fp16)."""
        return torch.float64 if self.ecg.dtype == torch.float64 else torch.float32

    def target_tile(self, i0: int, i1: int, dtype: torch.dtype) -> torch.Tensor:
        """The targets ``S[i0:i1, :]`` as a dense (i1 − i0, M) tensor of ``dtype``."""
        m = self.text.shape[0]
        dev = self.ecg.device
        if self.kind == "identity":
            rows = torch.arange(i0, i1, device=dev) + self.row_offset
            return (rows[:, None] == torch.arange(m, device=dev)[None, :]).to(dtype)
        if self.kind == "matrix":
            return self.matrix[i0:i1].to(dtype)
        sim = self.r_rows[i0:i1].to(dtype) @ self.r_cols.to(dtype).T
        if self.kind == "fgclep":
            return sim.add_(1.0).mul_(0.5)
        return (sim >= self.threshold).to(dtype)


def _as_scalar_tensor(value, name: str, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"soft_sigmoid_loss: {name} must hold one value, got shape {tuple(value.shape)}")
        if not value.is_floating_point():
            raise TypeError(f"soft_sigmoid_loss: {name} must be a floating tensor, "
                            f"got {value.dtype}")
        if value.device != like.device:
            raise ValueError(f"soft_sigmoid_loss: {name} is on {value.device}, "
                             f"features are on {like.device}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"soft_sigmoid_loss: {name} must be a float or a 1-element tensor, "
                        f"got {type(value).__name__}")
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    return torch.tensor(float(value), dtype=dtype, device=like.device)


def _check_emb(r: torch.Tensor, rows: int, name: str, like: torch.Tensor) -> torch.Tensor:
    if not isinstance(r, torch.Tensor):
        raise TypeError(f"soft_sigmoid_loss: {name} must be a tensor, got {type(r).__name__}")
    if r.ndim != 2 or r.shape[0] != rows:
        raise ValueError(f"soft_sigmoid_loss: {name} must have shape ({rows}, k), "
                         f"got {tuple(r.shape)}")
    if r.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"soft_sigmoid_loss: {name} must be floating, got {r.dtype}")
    if r.device != like.device:
        raise ValueError(f"soft_sigmoid_loss: {name} is on {r.device}, features on {like.device}")
    return r.detach()


def build_problem(ecg, text, scale, bias=None, *, target="fgclep", target_emb: TargetEmb = None,
                  threshold: float = DEFAULT_THRESHOLD, row_offset: int = 0,
                  n_pairs: Optional[int] = None) -> LossProblem:
    """Validate the arguments of :func:`soft_sigmoid_loss` and bundle them for a backend."""
    for name, t in (("ecg", ecg), ("text", text)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"soft_sigmoid_loss: {name} must be a torch.Tensor, "
                            f"got {type(t).__name__}")
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
            raise ValueError(f"soft_sigmoid_loss: {name} must have shape (batch, dim) with "
                             f"batch, dim >= 1, got {tuple(t.shape)}")
        if t.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"soft_sigmoid_loss: {name} dtype must be one of "
                            f"{[str(d) for d in _FLOAT_DTYPES]}, got {t.dtype}")
    if ecg.shape[1] != text.shape[1]:
        raise ValueError(f"soft_sigmoid_loss: ecg dim {ecg.shape[1]} != text dim {text.shape[1]}")
    if ecg.dtype != text.dtype:
        raise TypeError(f"soft_sigmoid_loss: ecg dtype {ecg.dtype} != text dtype {text.dtype}")
    if ecg.device != text.device:
        raise ValueError(f"soft_sigmoid_loss: ecg on {ecg.device} but text on {text.device}")
    n, m = ecg.shape[0], text.shape[0]
    scale_t = _as_scalar_tensor(scale, "scale", ecg)
    bias_t = None if bias is None else _as_scalar_tensor(bias, "bias", ecg)
    prob = LossProblem(ecg, text, scale_t, bias_t, kind="identity", threshold=float(threshold),
                       row_offset=int(row_offset), n_pairs=int(n_pairs or n * m))

    if isinstance(target, torch.Tensor):
        if target_emb is not None:
            raise ValueError("soft_sigmoid_loss: target_emb must be None when target is a tensor")
        if target.shape != (n, m):
            raise ValueError(f"soft_sigmoid_loss: target matrix must have shape ({n}, {m}), "
                             f"got {tuple(target.shape)}")
        if target.device != ecg.device:
            raise ValueError(f"soft_sigmoid_loss: target is on {target.device}, "
                             f"features on {ecg.device}")
        prob.kind, prob.matrix = "matrix", target.detach()
        return prob
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"soft_sigmoid_loss: target must be one of {TARGETS} or an (N, M) "
                         f"tensor, got {target!r}")
    prob.kind = target
    if target == "identity":
        if target_emb is not None:
            raise ValueError("soft_sigmoid_loss: target_emb is not used by target='identity'; "
                             "pass None")
        return prob
    if target_emb is None:
        if n != m:
            raise ValueError(f"soft_sigmoid_loss: target={target!r} with N={n} != M={m} needs "
                             "target_emb=(r_rows, r_cols); the default r = text only fits a "
                             "square batch")
        prob.r_rows = prob.r_cols = text.detach()
    elif isinstance(target_emb, (tuple, list)):
        if len(target_emb) != 2:
            raise ValueError("soft_sigmoid_loss: target_emb tuple must be (r_rows, r_cols), got "
                             f"{len(target_emb)} items")
        prob.r_rows = _check_emb(target_emb[0], n, "target_emb[0] (r_rows)", ecg)
        prob.r_cols = _check_emb(target_emb[1], m, "target_emb[1] (r_cols)", ecg)
        if prob.r_rows.shape[1] != prob.r_cols.shape[1]:
            raise ValueError("soft_sigmoid_loss: r_rows and r_cols must share their width, got "
                             f"{prob.r_rows.shape[1]} and {prob.r_cols.shape[1]}")
    else:
        if n != m:
            raise ValueError(f"soft_sigmoid_loss: one target_emb tensor only fits a square batch "
                             f"(N={n}, M={m}); pass (r_rows, r_cols)")
        prob.r_rows = prob.r_cols = _check_emb(target_emb, n, "target_emb", ecg)
    return prob


def dense_loss(prob: LossProblem) -> torch.Tensor:
    """Readable dense reference: builds the full N×M logits; autograd does the rest.

    Memory is O(N·M) (several N×M tensors are kept for backward); use it for checks and small
    batches. Half-precision inputs are upcast to float32.
    """
    dt = prob.compute_dtype
    x, y = prob.ecg.to(dt), prob.text.to(dt)
    z = prob.scale.to(dt) * (x @ y.T)
    if prob.bias is not None:
        z = z + prob.bias.to(dt)
    s = prob.target_tile(0, x.shape[0], dt)
    return (F.softplus(z) - s * z).sum() / prob.n_pairs


def triton_usable(device: torch.device) -> bool:
    """True when the Triton backend can run on ``device``.

    That is CUDA with triton importable, or any device under ``TRITON_INTERPRET=1``.
    """
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def run_backend(prob: LossProblem, backend: str) -> torch.Tensor:
    """Dispatch a validated problem to a backend (see :func:`soft_sigmoid_loss`)."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"soft_sigmoid_loss: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "triton" if prob.ecg.is_cuda and triton_usable(prob.ecg.device) else "chunked"
    elif backend == "triton" and not triton_usable(prob.ecg.device):
        warnings.warn(f"soft_sigmoid_loss: backend='triton' is unavailable on {prob.ecg.device} "
                      "(needs triton and CUDA, or TRITON_INTERPRET=1); using 'chunked'",
                      RuntimeWarning, stacklevel=3)
        backend = "chunked"
    # The loss always runs in fp32 (fp64 for fp64 inputs), whatever an enclosing autocast region
    # would choose: it exponentiates logits of size ~scale, where bf16 rounding would show.
    with torch.autocast(device_type=prob.ecg.device.type, enabled=False):
        if backend == "torch":
            return dense_loss(prob)
        if backend == "chunked":
            from fgclep.losses.chunked import chunked_loss
            return chunked_loss(prob)
        from fgclep.losses.triton_kernels import triton_loss
        return triton_loss(prob)


def soft_sigmoid_loss(ecg: torch.Tensor, text: torch.Tensor, scale, bias=None, *,
                      target="fgclep", target_emb: TargetEmb = None, backend: str = "auto",
                      threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """Similarity-weighted sigmoid loss of FG-CLEP, mean over all N×M pairs.

    ``L = mean_ij[softplus(z_ij) − S_ij·z_ij]`` with ``z_ij = scale·<ecg_i, text_j> + bias``.

    Parameters
    ----------
    ecg : torch.Tensor
        (N, d) ECG embeddings, **already L2-normalised** (not renormalised here).
    text : torch.Tensor
        (M, d) text embeddings, L2-normalised, same dtype and device as ``ecg``. Row ``i`` of
        ``text`` is the report of ECG ``i`` for the identity and default fgclep targets.
    scale : torch.Tensor or float
        Logit scale ``t`` (``exp`` of a learnable log-temperature); a 1-element tensor receives
        a gradient.
    bias : torch.Tensor, float or None
        Logit bias ``b``; a 1-element tensor receives a gradient. None: no bias.
    target : {"fgclep", "identity", "threshold"} or torch.Tensor
        ``"fgclep"``: ``S = (1 + <r_i, r_j>)/2``; ``"identity"``: ``S_ij = [i == j]`` (SigLIP;
        rectangular batches use the leading diagonal); ``"threshold"``: ``S_ij = [<r_i, r_j> >=
        threshold]``; an (N, M) tensor: explicit targets. Targets get no gradient.
    target_emb : torch.Tensor, tuple of two tensors, or None
        ``r`` for fgclep/threshold (L2-normalised, e.g. cached report embeddings): one (N, k)
        tensor for a square batch (rows and columns), or ``(r_rows (N, k), r_cols (M, k))``.
        None: ``r = text.detach()`` (square batches only).
    backend : {"auto", "torch", "chunked", "triton"}
        ``"torch"``: dense reference (O(N·M) memory); ``"chunked"``: row tiles, O(N·d) memory
        kept for backward; ``"triton"``: fused GPU kernels; ``"auto"``: triton on CUDA when
        importable, else chunked. A requested but unusable triton warns and uses chunked.
    threshold : float
        Cosine threshold of ``target="threshold"`` (default :data:`DEFAULT_THRESHOLD` = 0.9).

    Returns
    -------
    torch.Tensor
        0-dim loss, float64 for float64 inputs, else float32.

    Examples
    --------
    >>> import torch, torch.nn.functional as F
    >>> from fgclep.losses import soft_sigmoid_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> x = F.normalize(torch.randn(8, 16, generator=g), dim=1)
    >>> y = F.normalize(torch.randn(8, 16, generator=g), dim=1)
    >>> log_t = torch.tensor(2.3026, requires_grad=True)
    >>> loss = soft_sigmoid_loss(x, y, log_t.exp(), target="identity", backend="chunked")
    >>> loss.backward(); bool(torch.isfinite(log_t.grad))
    True
    """
    prob = build_problem(ecg, text, scale, bias, target=target, target_emb=target_emb,
                         threshold=threshold)
    return run_backend(prob, backend)


class SoftSigmoidLoss(nn.Module):
    """Module form of :func:`soft_sigmoid_loss`, taking a model's outputs by name.

    Parameters
    ----------
    target, backend, threshold
        As in :func:`soft_sigmoid_loss`, fixed at construction.

    Examples
    --------
    >>> loss_fn = SoftSigmoidLoss(target="fgclep")
    >>> # loss = loss_fn(**model(signals, texts))   # ecg_features, text_features, logit_scale, ...
    """

    def __init__(self, target="fgclep", backend: str = "auto",
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__()
        if isinstance(target, str) and target not in TARGETS:
            raise ValueError(f"SoftSigmoidLoss: target must be one of {TARGETS}, got {target!r}")
        if backend not in BACKENDS:
            raise ValueError(f"SoftSigmoidLoss: backend must be one of {BACKENDS}, got {backend!r}")
        self.target, self.backend, self.threshold = target, backend, float(threshold)

    def forward(self, ecg_features: torch.Tensor, text_features: torch.Tensor, logit_scale,
                logit_bias=None, target_emb: TargetEmb = None) -> torch.Tensor:
        return soft_sigmoid_loss(ecg_features, text_features, logit_scale, logit_bias,
                                 target=self.target, target_emb=target_emb, backend=self.backend,
                                 threshold=self.threshold)

    def extra_repr(self) -> str:
        target = self.target if isinstance(self.target, str) else "matrix"
        return f"target={target!r}, backend={self.backend!r}, threshold={self.threshold}"


def grads_from_saved(ctx, grad_out: torch.Tensor):
    """Backward of the fused Functions (chunked, Triton), which compute every gradient in the
    forward pass and save it: scale the saved ``(d_ecg, d_text, d_scale, d_bias)`` by the
    incoming gradient and cast each to its input's dtype and shape (None where not needed)."""
    dx, dy, d_t, d_b = ctx.saved_tensors
    need_x, need_y, need_t, need_b = ctx.flags
    (t_shape, b_shape), (x_dt, y_dt, t_dt, b_dt) = ctx.shapes, ctx.dtypes
    saved = next((t for t in (dx, dy, d_t, d_b) if t is not None), None)
    g = grad_out if saved is None else grad_out.to(saved.dtype)  # Triton saves fp32 grads
    gx = (dx * g).to(x_dt) if need_x else None
    gy = (dy * g).to(y_dt) if need_y else None
    gt = (d_t * g).to(t_dt).reshape(t_shape) if need_t else None
    gb = (d_b * g).to(b_dt).reshape(b_shape) if need_b else None
    return gx, gy, gt, gb
