"""Fused Triton kernels under TRITON_INTERPRET=1 on CPU against a float64 reference.

TRITON_INTERPRET is read when the kernels are decorated, i.e. when fgclep.losses.triton_kernels is
first imported; other test files in the same pytest process may already have imported it (or
triton) without the variable. So the checks run in one subprocess that executes this file as a
script with TRITON_INTERPRET=1 and prints JSON: per case, the largest error of the loss and of
each gradient relative to the reference, and whether everything stayed finite. Skipped only when
triton is not installed.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

from loss_reference import assert_within, run_self_as_worker

SHAPES = [(1, 1), (7, 13), (65, 33), (130, 40)]
TARGETS = ["identity", "fgclep", "threshold", "matrix"]
DTYPES = ["float32", "bfloat16", "float16", "float64"]
TOL = {"float32": 1e-5, "float64": 1e-5, "bfloat16": 1e-2, "float16": 4e-3}


def _cases():
    cases = [(t, s, bias, "float32") for t in TARGETS for s in SHAPES for bias in (False, True)]
    cases += [(t, (65, 33), True, dt) for t in TARGETS for dt in ("bfloat16", "float16", "float64")]
    return cases


def _name(case):
    target, (n, m), bias, dtype = case
    return f"{target}-{n}x{m}-{'bias' if bias else 'nobias'}-{dtype}"


def _worker() -> dict:  # pragma: no cover - runs in the subprocess
    import torch

    from fgclep.losses import soft_sigmoid_loss
    from fgclep.losses.soft_sigmoid import build_problem, run_backend
    from loss_reference import compare, loss_and_grads, make_inputs, relative_errors

    def triton(a, c, u, v, **kw):
        return soft_sigmoid_loss(a, c, u, v, backend="triton", **kw)

    out = {}
    for case in _cases():
        target, (n, m), bias, dtype_name = case
        dtype = getattr(torch, dtype_name)
        x, y, s, kw = make_inputs(n, m, target, dtype)
        t = torch.tensor(6.0, dtype=torch.float32)
        b = torch.tensor(-2.5, dtype=torch.float32) if bias else None
        out[_name(case)] = compare(lambda a, c, u, v: triton(a, c, u, v, **kw), x, y, s, t, b)

    # Extreme scale and bias: finite, and equal to the reference where it is finite.
    x, y, s, kw = make_inputs(40, 40, "fgclep", torch.float32)
    for sc, bi in ((1e3, 1e3), (1e3, -1e3), (1.0, 1e3)):
        t, b = torch.tensor(sc), torch.tensor(bi)
        out[f"extreme-{sc:g}-{bi:g}"] = compare(lambda a, c, u, v: triton(a, c, u, v, **kw),
                                                x, y, s, t, b)

    # The identity diagonal at a row offset (the distributed wrapper's local rows).
    x, y, _, _ = make_inputs(20, 50, "identity", torch.float32)
    t, b = torch.tensor(6.0), torch.tensor(-1.0)
    res = []
    for backend in ("triton", "torch"):
        res.append(loss_and_grads(lambda a, c, u, v: run_backend(build_problem(
            a, c, u, v, target="identity", row_offset=17, n_pairs=50 * 50), backend), x, y, t, b))
    out["identity-row-offset"] = {"err": relative_errors(*res),
                                  "finite": all(bool(torch.isfinite(v).all()) for v in res[0])}

    # The autograd node is the Triton Function (no silent fallback under the interpreter).
    xs = x.clone().requires_grad_()
    loss = soft_sigmoid_loss(xs, y[:20], t, target="identity", backend="triton")
    out["node"] = type(loss.grad_fn).__name__
    return out


@pytest.fixture(scope="module")
def results():
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    env = dict(os.environ, TRITON_INTERPRET="1")
    return run_self_as_worker(__file__, env, timeout=600)


@pytest.mark.parametrize("case", _cases(), ids=_name)
def test_triton_matches_reference(results, case):
    assert_within(results[_name(case)], TOL[case[3]])


@pytest.mark.parametrize("name", ["extreme-1000-1000", "extreme-1000--1000", "extreme-1-1000"])
def test_triton_extreme_values_finite(results, name):
    assert results[name]["finite"]
    assert max(results[name]["err"]) <= 1e-4


def test_triton_identity_row_offset(results):
    assert max(results["identity-row-offset"]["err"]) <= 1e-5


def test_triton_node_is_fused_function(results):
    assert results["node"].startswith("TritonSoftSigmoid")


if __name__ == "__main__":
    if os.environ.get("TRITON_INTERPRET") != "1":
        sys.exit("run with TRITON_INTERPRET=1")
    print(json.dumps(_worker()))
