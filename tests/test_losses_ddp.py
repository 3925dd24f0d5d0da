"""DistributedSoftSigmoidLoss under DDP (gloo, 2 CPU processes) equals the one-process full batch.

Two processes are spawned once for the module; each runs every case (targets, backends, equal
and unequal local batch sizes) through a DDP-wrapped toy dual encoder and saves its loss and
parameter gradients. The test process computes the same model on the whole batch with the dense
backend and compares. Leaf-feature gradients are checked too, for both ``ddp_average`` settings.
"""
from __future__ import annotations

import importlib.util
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from fgclep.losses import DistributedSoftSigmoidLoss, soft_sigmoid_loss

WORLD = 2
SIZES = [(5, 3), (4, 4), (1, 6)]
CASES = [("fgclep", False, "chunked"), ("fgclep", True, "chunked"), ("identity", False, "chunked"),
         ("threshold", True, "chunked"), ("fgclep", True, "torch"), ("identity", False, "torch"),
         ("identity", False, "triton"), ("fgclep", True, "triton")]
# The workers run the Triton kernels under the CPU interpreter (set before triton is imported).
HAS_TRITON = importlib.util.find_spec("triton") is not None
THRESHOLD = 0.2


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.ecg = nn.Linear(10, 6)
        self.txt = nn.Linear(12, 6)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = nn.Parameter(torch.tensor(-2.0))

    def forward(self, a, b):
        return dict(ecg_features=F.normalize(self.ecg(a), dim=1),
                    text_features=F.normalize(self.txt(b), dim=1),
                    logit_scale=self.log_scale.exp(), logit_bias=self.bias)


def _model():
    torch.manual_seed(0)
    return _Tiny().double()


def _data(n):
    g = torch.Generator().manual_seed(100 + n)
    a = torch.randn(n, 10, generator=g, dtype=torch.float64)
    b = torch.randn(n, 12, generator=g, dtype=torch.float64)
    r = F.normalize(torch.randn(n, 7, generator=g, dtype=torch.float64), dim=1)
    return a, b, r


def _worker(rank, init_file, out_file):
    os.environ["TRITON_INTERPRET"] = "1"
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD)
    results = {}
    for sizes in SIZES:
        lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
        a, b, r = _data(sum(sizes))
        for target, use_emb, backend in CASES:
            if backend == "triton" and not HAS_TRITON:
                continue
            model = nn.parallel.DistributedDataParallel(_model())
            loss_fn = DistributedSoftSigmoidLoss(target=target, backend=backend,
                                                 threshold=THRESHOLD)
            emb = r[lo:hi] if use_emb else None
            loss = loss_fn(**model(a[lo:hi], b[lo:hi]), target_emb=emb)
            loss.backward()
            results[(sizes, target, use_emb, backend)] = (
                loss.detach(), {k: p.grad.clone() for k, p in model.module.named_parameters()})
        # Leaf features: gradients are W·(full-batch rows) with ddp_average, the rows without.
        g = torch.Generator().manual_seed(7)
        x = F.normalize(torch.randn(sum(sizes), 6, generator=g, dtype=torch.float64), dim=1)
        y = F.normalize(torch.randn(sum(sizes), 6, generator=g, dtype=torch.float64), dim=1)
        for avg in (True, False):
            xl, yl = x[lo:hi].clone().requires_grad_(), y[lo:hi].clone().requires_grad_()
            loss = DistributedSoftSigmoidLoss(backend="chunked", ddp_average=avg)(xl, yl, 8.0, -1.0)
            loss.backward()
            results[(sizes, "leaf", avg)] = (loss.detach(), xl.grad, yl.grad)
    torch.save(results, f"{out_file}.{rank}")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    tmp = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(str(tmp / "init"), str(tmp / "out")), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"out.{k}") for k in range(WORLD)]


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_ddp_matches_full_batch(ranks, sizes, case):
    target, use_emb, backend = case
    if backend == "triton" and not HAS_TRITON:
        pytest.skip("triton is not installed")
    a, b, r = _data(sum(sizes))
    model = _model()
    out = model(a, b)
    loss = soft_sigmoid_loss(out["ecg_features"], out["text_features"], out["logit_scale"],
                             out["logit_bias"], target=target, target_emb=r if use_emb else None,
                             backend="torch", threshold=THRESHOLD)
    loss.backward()
    # Triton computes in float32 (the toy model is float64); the others in float64.
    tol = dict(rtol=1e-5, atol=1e-7) if backend == "triton" else dict(rtol=1e-10, atol=1e-13)
    for rank in range(WORLD):
        got_loss, got_grads = ranks[rank][(sizes, target, use_emb, backend)]
        torch.testing.assert_close(got_loss, loss.detach(), **tol)
        for name, p in model.named_parameters():
            torch.testing.assert_close(got_grads[name], p.grad, **tol,
                                       msg=lambda m, n=name: f"rank {rank} {n}: {m}")


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("avg", [True, False])
def test_feature_gradients(ranks, sizes, avg):
    g = torch.Generator().manual_seed(7)
    n = sum(sizes)
    x = F.normalize(torch.randn(n, 6, generator=g, dtype=torch.float64), dim=1).requires_grad_()
    y = F.normalize(torch.randn(n, 6, generator=g, dtype=torch.float64), dim=1).requires_grad_()
    loss = soft_sigmoid_loss(x, y, 8.0, -1.0, backend="torch")
    loss.backward()
    factor = WORLD if avg else 1
    for rank in range(WORLD):
        lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
        got_loss, gx, gy = ranks[rank][(sizes, "leaf", avg)]
        torch.testing.assert_close(got_loss, loss.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(gx, factor * x.grad[lo:hi], rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(gy, factor * y.grad[lo:hi], rtol=1e-10, atol=1e-13)


def test_single_process_falls_back_to_plain_loss():
    x = F.normalize(torch.randn(6, 4, dtype=torch.float64), dim=1)
    got = DistributedSoftSigmoidLoss(target="identity")(x, x, 5.0)
    torch.testing.assert_close(got, soft_sigmoid_loss(x, x, 5.0, target="identity"))


def test_rejects_bad_options():
    with pytest.raises(ValueError, match="backend must be one of"):
        DistributedSoftSigmoidLoss(backend="nccl")
    with pytest.raises(ValueError, match="target must be one of"):
        DistributedSoftSigmoidLoss(target="soft")
