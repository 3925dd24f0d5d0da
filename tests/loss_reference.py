"""Float64 reference of the soft sigmoid loss, seeded inputs for every target kind, and the
compare / assert / run-as-worker helpers of the Triton checks.

Shared by the Triton checks under the interpreter (``test_losses_triton.py``, CPU) and on a CUDA
device (``test_gpu.py``), which both run their cases in a subprocess of their own file. The reference is the formula itself, written independently of
``fgclep.losses``: ``mean(softplus(z) - S·z)`` with ``z = t·x·yᵀ + b``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

THRESHOLD = 0.3
GRAD_NAMES = ("loss", "d_ecg", "d_text", "d_scale", "d_bias")


def reference(x, y, t, b, s):
    """Loss in the inputs' dtype (pass float64 tensors)."""
    z = t * (x @ y.T) + (0.0 if b is None else b)
    return (torch.logaddexp(z, torch.zeros_like(z)) - s * z).mean()


def make_inputs(n, m, target, dtype, d=24, k=40, seed=0, device="cpu"):
    """Unit-norm features ``x (n, d)``, ``y (m, d)``, the float64 target matrix and the loss kwargs.

    ``target="threshold"`` draws report embeddings around 5 class centres, so every similarity is
    near 1 (same class) or near 0 and none lies within rounding of the threshold: a rounding
    difference cannot flip a target there at any size.
    """
    g = torch.Generator().manual_seed(seed + 7 * n + m)
    x, y = (F.normalize(torch.randn(r, d, generator=g, dtype=torch.float64), dim=1).to(dtype)
            for r in (n, m))
    if target == "threshold":
        centres = F.normalize(torch.randn(5, k, generator=g, dtype=torch.float64), dim=1)
        rr, rc = (F.normalize(centres[torch.arange(r) % 5]
                              + 0.05 * torch.randn(r, k, generator=g, dtype=torch.float64), dim=1)
                  for r in (n, m))
    else:
        rr, rc = (F.normalize(torch.randn(r, k, generator=g, dtype=torch.float64), dim=1)
                  for r in (n, m))
    rr, rc = rr.to(dtype), rc.to(dtype)
    kw = {"target": target}
    if target == "identity":
        s = (torch.arange(n)[:, None] == torch.arange(m)[None, :]).double()
    elif target == "fgclep":
        kw["target_emb"], s = (rr, rc), (1 + rr.double() @ rc.double().T) / 2
    elif target == "threshold":
        kw["target_emb"], kw["threshold"] = (rr, rc), THRESHOLD
        s = (rr.double() @ rc.double().T >= THRESHOLD).double()
    else:
        kw["target"] = torch.rand(n, m, generator=g, dtype=torch.float64).to(dtype)
        s = kw["target"].double()
    dev = torch.device(device)
    if dev.type != "cpu":
        x, y, s = x.to(dev), y.to(dev), s.to(dev)
        if "target_emb" in kw:
            kw["target_emb"] = tuple(r.to(dev) for r in kw["target_emb"])
        if torch.is_tensor(kw["target"]):
            kw["target"] = kw["target"].to(dev)
    return x, y, s, kw


def loss_and_grads(fn, x, y, t, b):
    """``[loss, d_x, d_y, d_t(, d_b)]`` in float64 from ``fn(x, y, t, b)`` on fresh leaves."""
    leaves = [x.clone().requires_grad_(), y.clone().requires_grad_(),
              t.clone().requires_grad_()] + ([] if b is None else [b.clone().requires_grad_()])
    loss = fn(*leaves[:3], leaves[3] if b is not None else None)
    return [loss.detach().double()] + [v.double() for v in torch.autograd.grad(loss, leaves)]


def compare(fn, x, y, s, t, b):
    """Largest error of the loss and each gradient of ``fn`` relative to the float64 reference
    (max |got − want| / max |want|), and whether every output is finite."""
    got = loss_and_grads(fn, x, y, t, b)
    want = loss_and_grads(lambda a, c, u, v: reference(a, c, u, v, s), x.double(), y.double(),
                          t.double(), None if b is None else b.double())
    return {"err": relative_errors(got, want),
            "finite": all(bool(torch.isfinite(v).all()) for v in got)}


def relative_errors(got, want):
    """Relative max errors of two ``loss_and_grads`` lists."""
    return [float((a - e).abs().max() / max(float(e.abs().max()), 1e-6)) for a, e in zip(got, want)]


def assert_within(res, tol):
    """Assert that a :func:`compare` result is finite with every relative error <= ``tol``."""
    assert res["finite"], "non-finite loss or gradient"
    bad = {nm: e for nm, e in zip(GRAD_NAMES, res["err"]) if not e <= tol}
    assert not bad, f"relative errors above {tol}: {bad}"


def run_self_as_worker(test_file, env, timeout):
    """Run ``test_file`` as a script in the repo root with ``env``; return its last-line JSON."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    path = Path(test_file).resolve()
    proc = subprocess.run([sys.executable, str(path)], env=env, cwd=path.parents[1],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
