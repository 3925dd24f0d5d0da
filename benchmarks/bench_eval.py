"""Embedding throughput of fgclep's ECG encoders on CPU (records/s), for docs/benchmarks.md.

Usage: python benchmarks/bench_eval.py [--records 256] [--batch-size 64] [--models resnet1d18 ...]
Runs ``fgclep.eval.features.embedding_throughput`` (``encode_ecg`` on random (N, 12, 5000) input,
batched, no_grad, eval mode) with 1 and 2 torch threads, freshly initialised weights (the speed
does not depend on them). The text tower is built but not used.
"""
from __future__ import annotations

import argparse
import platform

import torch

from fgclep.eval.features import embedding_throughput
from fgclep.models import create_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--models", nargs="+", default=["resnet1d_small", "resnet1d18", "vit_tiny"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    args = ap.parse_args()
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.records} records of (12, 5000), batch {args.batch_size}")
    print("| model | threads | records/s | ms/record |")
    print("|---|---|---|---|")
    for name in args.models:
        model = create_model(name)
        for t in args.threads:
            torch.set_num_threads(t)
            r = embedding_throughput(model, n_records=args.records, batch_size=args.batch_size)
            print(f"| {name} | {t} | {r['records_per_s']:.1f} | {1000 / r['records_per_s']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
