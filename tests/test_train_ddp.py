"""`torchrun --nproc_per_node 2` end to end on CPU (gloo): DDP training, rank-0 outputs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fgclep.models import load_model
from train_helpers import make_cache


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    cache = make_cache(tmp_path / "cache")
    out = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "fgclep.cli.main", "train", "--cache", str(cache), "--out", str(out),
           "--model", "resnet1d_small", "--batch-size", "4", "--max-steps", "3", "--lr", "1e-3",
           "--device", "cpu", "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # Rank 0 alone logs: one line per logged step, not one per process.
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [3]
    ckpt = out / "checkpoint-3"
    state = json.loads((ckpt / "trainer_state.json").read_text())
    # 48 train records over 2 processes x batch 4: 6 optimizer steps per epoch.
    assert state["world_size"] == 2 and state["steps_per_epoch"] == 6
    assert (ckpt / "rng-rank0.pt").is_file() and (ckpt / "rng-rank1.pt").is_file()
    assert load_model(out / "final").config.name == "resnet1d_small"
