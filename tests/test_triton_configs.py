"""Triton kernel configs: shared-memory pruning and the out-of-resources fallback.

These run on the CPU without the interpreter: they call the pruning hook the autotuner calls on a
GPU, and simulate a compiler that runs out of resources. The kernels' numbers are checked in
test_losses_triton.py (interpreter) and test_gpu.py (compiled).
"""
from __future__ import annotations

import types
import warnings

import pytest
import torch

pytest.importorskip("triton")

from fgclep.losses import triton_kernels as tk  # noqa: E402
from fgclep.losses.chunked import chunked_loss  # noqa: E402
from fgclep.losses.soft_sigmoid import build_problem  # noqa: E402

KIB = 1024


def _x(dtype):
    """Stands in for the embedding tensor the autotuner passes: its device and element size."""
    size = torch.tensor([], dtype=dtype).element_size()
    return types.SimpleNamespace(device=torch.device("cuda", 0), element_size=lambda: size)


def _prune(dtype, limit, column_pass=False, block_d=256, block_k=64, target=1):
    return tk.prune_configs(_gpu_configs(), {"X": _x(dtype)}, column_pass=column_pass,
                            limit=limit, BLOCK_D=block_d, BLOCK_K=block_k, TARGET=target)


def _gpu_configs():
    import triton

    return [triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=w, num_stages=s)
            for bm, bn, w, s in tk.GPU_CONFIGS]


def _key(cfg):
    return cfg.kwargs["BLOCK_M"], cfg.kwargs["BLOCK_N"], cfg.num_warps, cfg.num_stages


def test_estimate_counts_resident_and_buffered_tiles():
    # bf16, d = 256 plus a 64-wide report tile, 64 resident rows, 3 buffered 64-row tiles:
    # 2 bytes * 320 * (64 + 192) = 163,840.
    assert tk.shared_memory_estimate(64, 64, 3, 256, 64, 2, 1) == 163_840
    # identity targets read no report embeddings: 4 bytes * 256 * (32 + 2 * 64) = 163,840.
    assert tk.shared_memory_estimate(32, 64, 2, 256, 64, 4, 0) == 163_840


def test_fp32_on_an_a100_keeps_only_small_configs():
    """fp32, d = 256, fgclep target, 163 KiB (A100): the 64x64 three-stage default needs
    4 * 320 * 256 = 320 KiB and goes; what stays fits, in the listed order."""
    limit = 163 * KIB
    kept = _prune(torch.float32, limit)
    assert kept and (64, 64, 4, 3) not in [_key(c) for c in kept]
    for cfg in _gpu_configs():
        bm, bn = cfg.kwargs["BLOCK_M"], cfg.kwargs["BLOCK_N"]
        fits = tk.shared_memory_estimate(bm, bn, cfg.num_stages, 256, 64, 4, 1) <= limit
        assert (_key(cfg) in [_key(c) for c in kept]) == fits


def test_column_pass_swaps_resident_and_looped_blocks():
    # (64, 128) with 3 stages: the row pass buffers 128-row tiles, the column pass 64-row ones.
    limit = 2 * 256 * (128 + 3 * 64)  # bf16, identity: exactly the column pass's need
    row = [_key(c) for c in _prune(torch.bfloat16, limit, column_pass=False, target=0)]
    col = [_key(c) for c in _prune(torch.bfloat16, limit, column_pass=True, target=0)]
    assert (64, 128, 8, 3) in col and (64, 128, 8, 3) not in row


def test_nothing_fits_keeps_the_smallest():
    kept = _prune(torch.float32, limit=1)
    assert [_key(c) for c in kept] == [(32, 32, 4, 1)]


def test_without_autotuning_the_first_fitting_config_is_used(monkeypatch):
    monkeypatch.setattr(tk, "AUTOTUNE", False)
    assert [_key(c) for c in _prune(torch.bfloat16, limit=228 * KIB)] == [(64, 64, 4, 3)]
    # fp32 with the 64-wide report tile: (64, 64, 2 stages) needs 4 * 320 * 192 = 240 KiB;
    # (32, 32, 2 stages) needs 4 * 320 * 96 = 120 KiB.
    assert [_key(c) for c in _prune(torch.float32, limit=163 * KIB)] == [(32, 32, 4, 2)]


def test_out_of_resources_falls_back_to_chunked_once(monkeypatch):
    from triton.runtime.errors import OutOfResources

    calls = []

    def fail(*args):
        calls.append(1)
        raise OutOfResources(300_000, 232_448, "shared memory")

    monkeypatch.setattr(tk.TritonSoftSigmoid, "apply", staticmethod(fail))
    monkeypatch.setattr(tk, "_OUT_OF_RESOURCES", set())
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(12, 8, generator=g), dim=1).requires_grad_()
    y = torch.nn.functional.normalize(torch.randn(12, 8, generator=g), dim=1).requires_grad_()
    scale = torch.tensor(10.0, requires_grad=True)
    prob = build_problem(x, y, scale, target="fgclep")
    with pytest.warns(RuntimeWarning, match="do not fit"):
        loss = tk.triton_loss(prob)
    want = chunked_loss(build_problem(x, y, scale, target="fgclep"))
    assert torch.equal(loss.detach(), want.detach())
    loss.backward()  # the fallback is differentiable
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same shape warns once, then goes straight to chunked
        tk.triton_loss(build_problem(x, y, scale, target="fgclep"))
    assert len(calls) == 1
