"""Soft sigmoid loss: torch and chunked backends against an independent float64 reference."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fgclep.losses import SoftSigmoidLoss, soft_sigmoid_loss
from fgclep.losses.chunked import ChunkedSoftSigmoid, chunked_loss
from fgclep.losses.soft_sigmoid import build_problem

SHAPES = [(1, 1), (7, 13), (65, 33), (16, 16)]
TARGETS = ["identity", "fgclep", "threshold", "matrix"]
THRESHOLD = 0.3


def reference(x, y, t, b, s):
    """Written out from the formula, in float64: mean_ij softplus(z) − S·z."""
    z = t * (x @ y.T) + (0.0 if b is None else b)
    return (torch.logaddexp(z, torch.zeros_like(z)) - s * z).mean()


def make_case(n, m, target, bias, seed=0, d=8, k=5, dtype=torch.float64):
    """Random normalised features, scale/bias leaves and targets; returns kwargs and the S of the
    reference (built here from the definition, not by the code under test)."""
    g = torch.Generator().manual_seed(seed + 31 * n + m)
    x = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    y = F.normalize(torch.randn(m, d, generator=g, dtype=torch.float64), dim=1)
    rr = F.normalize(torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    rc = F.normalize(torch.randn(m, k, generator=g, dtype=torch.float64), dim=1)
    x, y, rr, rc = (v.to(dtype) for v in (x, y, rr, rc))
    kw = {"target": target}
    if target == "identity":
        s = (torch.arange(n)[:, None] == torch.arange(m)[None, :]).double()
    elif target == "fgclep":
        kw["target_emb"] = (rr, rc)
        s = (1 + rr.double() @ rc.double().T) / 2
    elif target == "threshold":
        kw["target_emb"] = (rr, rc)
        kw["threshold"] = THRESHOLD
        s = (rr.double() @ rc.double().T >= THRESHOLD).double()
    else:
        s = torch.rand(n, m, generator=g, dtype=torch.float64)
        kw["target"] = s.to(dtype)
        s = kw["target"].double()
    t = torch.tensor(7.5, dtype=torch.float64)
    b = torch.tensor(-3.0, dtype=torch.float64) if bias else None
    return x, y, t, b, s, kw


def grads(loss_fn, x, y, t, b, dtype):
    xs = x.detach().to(dtype).requires_grad_()
    ys = y.detach().to(dtype).requires_grad_()
    ts = t.detach().to(dtype if dtype == torch.float64 else torch.float32).requires_grad_()
    bs = None if b is None else b.detach().to(ts.dtype).requires_grad_()
    loss = loss_fn(xs, ys, ts, bs)
    leaves = [xs, ys, ts] + ([] if bs is None else [bs])
    return [loss.detach().double()] + [g.double() for g in torch.autograd.grad(loss, leaves)]


def expected(x, y, t, b, s):
    return grads(lambda a, c, u, v: reference(a, c, u, v, s), x, y, t, b, torch.float64)


def assert_close_all(got, want, rtol, atol):
    names = ["loss", "d_ecg", "d_text", "d_scale", "d_bias"]
    for name, a, e in zip(names, got, want):
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("backend", ["torch", "chunked"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("bias", [False, True])
def test_backends_match_float64_reference(backend, shape, target, bias):
    x, y, t, b, s, kw = make_case(*shape, target, bias)
    want = expected(x, y, t, b, s)
    got = grads(lambda a, c, u, v: soft_sigmoid_loss(a, c, u, v, backend=backend, **kw),
                x, y, t, b, torch.float64)
    assert_close_all(got, want, rtol=1e-10, atol=1e-12)
    got32 = grads(lambda a, c, u, v: soft_sigmoid_loss(
        a, c, u, v, backend=backend, **{k: (w.float() if torch.is_tensor(w) else
                                            tuple(e.float() for e in w) if isinstance(w, tuple)
                                            else w) for k, w in kw.items()}),
        x, y, t, b, torch.float32)
    assert_close_all(got32, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("tile_elements", [1, 40, 33 * 65])
@pytest.mark.parametrize("target", TARGETS)
def test_chunked_tiles_give_same_result(tile_elements, target):
    """Many small row tiles (1 row, several rows, all rows) must agree with the reference."""
    x, y, t, b, s, kw = make_case(65, 33, target, bias=True)
    want = expected(x, y, t, b, s)

    def fn(a, c, u, v):
        prob = build_problem(a, c, u, v, **kw)
        return chunked_loss(prob, tile_elements=tile_elements)

    assert_close_all(grads(fn, x, y, t, b, torch.float64), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("target", TARGETS)
def test_gradcheck_chunked_function(target):
    x, y, t, b, _, kw = make_case(5, 4, target, bias=True)
    inputs = [v.clone().requires_grad_() for v in (x, y, t, b)]
    prob = build_problem(*inputs, **kw)
    assert torch.autograd.gradcheck(
        lambda a, c, u, v: ChunkedSoftSigmoid.apply(a, c, u, v, prob, 8, True), inputs)


@pytest.mark.parametrize("backend", ["torch", "chunked"])
def test_half_precision_inputs(backend):
    x, y, t, b, s, kw = make_case(33, 17, "fgclep", bias=True, d=32)
    want = expected(x, y, t, b, s)
    for dtype in (torch.bfloat16, torch.float16):
        kw_h = dict(kw, target_emb=tuple(e.to(dtype) for e in kw["target_emb"]))
        s_h = (1 + kw_h["target_emb"][0].double() @ kw_h["target_emb"][1].double().T) / 2
        xh, yh = x.to(dtype).double(), y.to(dtype).double()
        want = expected(xh, yh, t, b, s_h)
        got = grads(lambda a, c, u, v: soft_sigmoid_loss(a, c, u, v, backend=backend, **kw_h),
                    x, y, t, b, dtype)
        # Computation is fp32; only the returned feature gradients are rounded to half.
        assert_close_all(got, want, rtol=1e-2, atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "chunked"])
def test_autocast_region_keeps_fp32(backend):
    """Forward inside autocast (backward outside, as torch's AMP recipe does) stays fp32."""
    x, y, t, b, s, kw = make_case(17, 9, "fgclep", bias=True, d=16)
    kw["target_emb"] = tuple(e.float() for e in kw["target_emb"])
    out = []
    for enabled in (False, True):
        leaves = [v.float().requires_grad_() for v in (x, y, t, b)]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            loss = soft_sigmoid_loss(*leaves, backend=backend, **kw)
        assert loss.dtype == torch.float32
        out.append([loss.detach()] + list(torch.autograd.grad(loss, leaves)))
    assert_close_all(out[1], out[0], rtol=1e-6, atol=1e-8)


def test_identity_times_n_is_siglip():
    """N·L(identity) equals SigLIP's −Σ_ij log σ(l_ij·z_ij)/N, l = 2I − 1 (Zhai et al. 2023)."""
    g = torch.Generator().manual_seed(3)
    n = 12
    x = F.normalize(torch.randn(n, 16, generator=g, dtype=torch.float64), dim=1)
    y = F.normalize(torch.randn(n, 16, generator=g, dtype=torch.float64), dim=1)
    t, b = torch.tensor(10.0, dtype=torch.float64), torch.tensor(-10.0, dtype=torch.float64)
    logits = t * x @ y.T + b
    labels = 2 * torch.eye(n, dtype=torch.float64) - 1
    siglip = -F.logsigmoid(labels * logits).sum() / n
    for backend in ("torch", "chunked"):
        loss = soft_sigmoid_loss(x, y, t, b, target="identity", backend=backend)
        torch.testing.assert_close(n * loss, siglip, rtol=1e-12, atol=0)


def test_default_target_emb_is_detached_text():
    x, y, t, b, _, _ = make_case(9, 9, "fgclep", bias=True)
    yg = y.clone().requires_grad_()
    a = soft_sigmoid_loss(x, yg, t, b, target="fgclep")
    (ga,) = torch.autograd.grad(a, yg)
    want = expected(x, y, t, b, (1 + y @ y.T) / 2)
    torch.testing.assert_close(a, want[0])
    # No gradient flows through the targets: d_text equals the constant-target gradient.
    torch.testing.assert_close(ga, want[2])
    single = soft_sigmoid_loss(x, y, t, b, target="fgclep", target_emb=y)
    torch.testing.assert_close(a.detach(), single)


@pytest.mark.parametrize("backend", ["torch", "chunked"])
@pytest.mark.parametrize("scale,bias", [(1e3, 1e3), (1e3, -1e3), (1e3, None), (1.0, 1e3)])
def test_extreme_values_stay_finite(backend, scale, bias):
    x, y, _, _, s, kw = make_case(20, 20, "fgclep", bias=False, d=8)
    t = torch.tensor(scale, dtype=torch.float64)
    b = None if bias is None else torch.tensor(bias, dtype=torch.float64)
    got = grads(lambda a, c, u, v: soft_sigmoid_loss(a, c, u, v, backend=backend, **kw),
                x, y, t, b, torch.float32)
    assert all(torch.isfinite(v).all() for v in got)
    assert_close_all(got, expected(x, y, t, b, s), rtol=1e-4, atol=1e-3)


def test_chunked_keeps_no_pair_matrix():
    n, m, d = 64, 48, 8
    x = F.normalize(torch.randn(n, d), dim=1).requires_grad_()
    y = F.normalize(torch.randn(m, d), dim=1).requires_grad_()
    t = torch.tensor(10.0, requires_grad=True)
    loss = soft_sigmoid_loss(x, y, t, target="identity", backend="chunked")
    saved = [v for v in loss.grad_fn.saved_tensors if v is not None]
    assert max(v.numel() for v in saved) == n * d
    assert type(loss.grad_fn).__name__.startswith("ChunkedSoftSigmoid")


def test_no_grad_skips_gradients():
    x = F.normalize(torch.randn(10, 8), dim=1).requires_grad_()
    with torch.no_grad():
        loss = soft_sigmoid_loss(x, x, 5.0, target="identity", backend="chunked")
    assert loss.grad_fn is None
    torch.testing.assert_close(loss, soft_sigmoid_loss(x, x, 5.0, target="identity",
                                                       backend="torch").detach())


def test_auto_uses_chunked_on_cpu():
    x = F.normalize(torch.randn(4, 8), dim=1).requires_grad_()
    loss = soft_sigmoid_loss(x, x, 5.0, target="identity", backend="auto")
    assert type(loss.grad_fn).__name__.startswith("ChunkedSoftSigmoid")


def test_frozen_text_and_float_scale():
    x, y, t, b, s, kw = make_case(7, 13, "identity", bias=False)
    xg = x.clone().requires_grad_()
    loss = soft_sigmoid_loss(xg, y, float(t), backend="chunked", **kw)
    (gx,) = torch.autograd.grad(loss, xg)
    torch.testing.assert_close(gx, expected(x, y, t, b, s)[1])


def test_module_matches_function():
    x, y, t, b, _, kw = make_case(8, 8, "fgclep", bias=True)
    r = kw["target_emb"][0]
    fn = SoftSigmoidLoss(target="fgclep", backend="chunked")
    out = fn(ecg_features=x, text_features=y, logit_scale=t, logit_bias=b, target_emb=(r, r))
    torch.testing.assert_close(out, soft_sigmoid_loss(x, y, t, b, target_emb=r, backend="torch"))
    assert "chunked" in repr(fn)


def test_triton_unavailable_warns_and_falls_back(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    x, y, t, b, _, kw = make_case(6, 6, "identity", bias=True)
    with pytest.warns(RuntimeWarning, match="using 'chunked'"):
        got = soft_sigmoid_loss(x, y, t, b, backend="triton", **kw)
    torch.testing.assert_close(got, soft_sigmoid_loss(x, y, t, b, backend="torch", **kw))


def _errors():
    x = torch.randn(4, 8)
    return [
        (dict(ecg=x, text=x, scale=1.0, backend="cuda"), ValueError, "backend must be one of"),
        (dict(ecg=x, text=x, scale=1.0, target="soft"), ValueError, "target must be one of"),
        (dict(ecg=x[0], text=x, scale=1.0), ValueError, "ecg must have shape"),
        (dict(ecg=x, text=torch.randn(4, 7), scale=1.0), ValueError, "dim 8 != text dim 7"),
        (dict(ecg=x, text=x.double(), scale=1.0), TypeError, "dtype"),
        (dict(ecg=x.long(), text=x.long(), scale=1.0), TypeError, "dtype must be one of"),
        (dict(ecg=x, text=x, scale=torch.ones(2)), ValueError, "scale must hold one value"),
        (dict(ecg=x, text=x, scale="10"), TypeError, "scale must be a float"),
        (dict(ecg=x, text=x, scale=1.0, bias=[0.0]), TypeError, "bias must be a float"),
        (dict(ecg=x, text=x[:3], scale=1.0), ValueError, "needs target_emb"),
        (dict(ecg=x, text=x[:3], scale=1.0, target_emb=x), ValueError, "square batch"),
        (dict(ecg=x, text=x, scale=1.0, target="identity", target_emb=x), ValueError,
         "not used by target='identity'"),
        (dict(ecg=x, text=x, scale=1.0, target=torch.ones(4, 5)), ValueError, r"shape \(4, 4\)"),
        (dict(ecg=x, text=x, scale=1.0, target_emb=(x, x[:, :3])), ValueError, "share their"),
        (dict(ecg=x, text=x, scale=1.0, target_emb=(x, x[:2])), ValueError, "r_cols"),
        (dict(ecg=x, text=x, scale=1.0, target_emb=(x,)), ValueError, "tuple must be"),
    ]


@pytest.mark.parametrize("kwargs,exc,match", _errors())
def test_bad_input_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        soft_sigmoid_loss(**kwargs)


def test_module_rejects_bad_options():
    with pytest.raises(ValueError, match="backend must be one of"):
        SoftSigmoidLoss(backend="fast")
    with pytest.raises(ValueError, match="target must be one of"):
        SoftSigmoidLoss(target="hard")
