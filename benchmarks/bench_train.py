"""Training-step throughput on CPU and the share of step time spent outside forward/backward.

Usage::

    python benchmarks/bench_train.py                       # resnet1d18 + MiniLM and the demo model
    python benchmarks/bench_train.py --models resnet1d18 --batch-size 32 --steps 8 --json out.json
    python benchmarks/bench_train.py --models resnet1d18 --device cuda --amp bf16 --batch-size 128

Each model trains for ``--steps + 1`` optimizer steps with :func:`fgclep.train.train` on a
synthetic cache (``fgclep preprocess synthetic``), logging every step. The first step (lazy
initialisation, allocator warm-up) is dropped; the rest give

* samples/s = batch size x steps / summed step wall time, and the process CPU time per step
  (all threads; on a shared CPU the wall time also counts waiting for a core),
* outside share = 1 - (forward + loss + backward time) / step time. "Inside" includes report
  tokenisation (part of the text forward); "outside" is reading the batch from the cache,
  gradient clipping, the AdamW step and logging. Checkpoints are written between steps and are
  not counted. On a GPU the forward/backward timer does not wait for the kernels (only the loss
  value is synchronised), so there the outside share is not a measurement; samples/s is.

``resnet1d18`` trains the ECG ResNet1D-18 and the top 3 of MiniLM's 6 layers on tokenised
reports; ``resnet1d_small`` is the CPU demo model (100 Hz input, frozen text tower replaced by
cached embeddings). Wall times on a shared CPU include waiting for cores: the table prints the
load average seen at the start and end of each run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path


def bench_model(cache: Path, model: str, batch_size: int, steps: int, work: Path,
                device: str = "cpu", amp: str = "auto") -> dict:
    from fgclep.train import TrainConfig, train

    out = work / f"run-{model}"
    shutil.rmtree(out, ignore_errors=True)
    load_before = os.getloadavg()[0]
    train(TrainConfig(cache=str(cache), out=str(out), model=model, split=None,
                      batch_size=batch_size, max_steps=steps + 1, lr=2e-5, log_every=1,
                      checkpoint_every=10**6, progress=False, device=device, amp=amp))
    load_after = os.getloadavg()[0]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()][1:]
    step_s = sum(r["step_s"] for r in rows)
    fwd_bwd = sum(r["fwd_bwd_s"] for r in rows)
    return {"model": model, "batch_size": batch_size, "steps": len(rows),
            "samples_per_s": batch_size * len(rows) / step_s,
            "step_s": step_s / len(rows), "outside_share": 1.0 - fwd_bwd / step_s,
            "cpu_s_per_step": sum(r["cpu_s"] for r in rows) / len(rows),
            "load_avg": [round(load_before, 1), round(load_after, 1)],
            "torch_threads": __import__("torch").get_num_threads(), "device": device, "amp": amp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet1d18", "resnet1d_small"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6, help="timed steps (after one warm-up)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--amp", default="auto", choices=["auto", "bf16", "fp16", "none"],
                        help="mixed precision (auto: bf16/fp16 on GPU, none on CPU)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from fgclep.data.preprocess import PreprocessConfig, preprocess

    work = Path(tempfile.mkdtemp(prefix="fgclep-bench-train-"))
    try:
        cache = work / "cache"
        n = args.batch_size * (args.steps + 1)
        preprocess(PreprocessConfig("synthetic", cache, limit=n, progress=False))
        results = [bench_model(cache, m, args.batch_size, args.steps, work, args.device, args.amp)
                   for m in args.models]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.device != "cpu":
        import torch

        print(f"device {torch.cuda.get_device_name(torch.device(args.device))}, amp {args.amp}")
    print("| model | batch | timed steps | samples/s | wall s/step | CPU s/step | outside fwd/bwd "
          "| load avg (start, end) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['model']} | {r['batch_size']} | {r['steps']} | {r['samples_per_s']:.1f} | "
              f"{r['step_s']:.3f} | {r['cpu_s_per_step']:.3f} | {100 * r['outside_share']:.1f} % | "
              f"{r['load_avg'][0]}, {r['load_avg'][1]} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
