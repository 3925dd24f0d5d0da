"""Peak extra memory and forward+backward time of the soft sigmoid loss backends.

Usage::

    python benchmarks/bench_loss.py                                   # CPU: torch, chunked
    python benchmarks/bench_loss.py --device cuda --dtype bfloat16 \\
        --sizes 4096 16384 32768 65536 --backends torch chunked triton

Every (backend, N) point runs in a fresh child process so one measurement cannot inherit
another's allocator state. Inputs (N×d ECG and text features with requires_grad, a learnable
log-scale and bias, target="fgclep" with r = text) are created first; "extra memory" is the
peak above that point during one forward+backward, gradients of the features included.

Memory method. CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``
(exact allocator bytes). CPU: torch has no CPU allocator statistics, and tracemalloc does not see
torch's allocations, so the child runs with ``MALLOC_MMAP_THRESHOLD_=131072`` (every allocation
above 128 KiB is its own mmap, returned to the OS when freed, so resident memory follows live
tensor bytes), warms the code paths up at N = 64, resets the kernel's resident-set high-water mark
(``echo 5 > /proc/self/clear_refs``) and reports ``VmHWM − VmRSS`` read from /proc/self/status
around one forward+backward. Where clear_refs is not writable it falls back to sampling
/proc/self/statm every 0.5 ms in a thread (can miss short peaks; the JSON says which method ran).
Time: median over ``--repeats`` forward+backward calls after one warm-up call, as wall-clock and
as process CPU time (all threads; on a shared CPU the wall time also counts waiting for cores).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

MIB = 1024.0 * 1024.0


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


class _RssPeak:
    """Peak resident memory above the current level during a ``with`` block (bytes)."""

    def __init__(self):
        self.method = "clear_refs+VmHWM"
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            self.method = "statm-sampling"
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._rss())
            time.sleep(0.0005)

    def __enter__(self):
        if self.method == "clear_refs+VmHWM":
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.base = _status_kib("VmRSS") * 1024
        else:
            self.base = self._peak = self._rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.method == "clear_refs+VmHWM":
            self.peak = _status_kib("VmHWM") * 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._peak, self._rss())
        self.extra = self.peak - self.base
        return False


def _child(args) -> dict:
    import torch
    import torch.nn.functional as F

    from fgclep.losses import soft_sigmoid_loss

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    dtype = getattr(torch, args.dtype)

    def make(n):
        g = torch.Generator(device="cpu").manual_seed(n)
        x = F.normalize(torch.randn(n, args.dim, generator=g), dim=1).to(dev, dtype)
        y = F.normalize(torch.randn(n, args.dim, generator=g), dim=1).to(dev, dtype)
        log_t = torch.tensor(2.3, device=dev, requires_grad=True)
        bias = torch.tensor(-5.0, device=dev, requires_grad=True)
        return x.requires_grad_(), y.requires_grad_(), log_t, bias

    def step(x, y, log_t, bias):
        loss = soft_sigmoid_loss(x, y, log_t.exp(), bias, target="fgclep", backend=args.backend)
        loss.backward()
        x.grad = y.grad = log_t.grad = bias.grad = None
        return loss

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    out = {"backend": args.backend, "n": args.n, "dim": args.dim, "device": args.device,
           "dtype": args.dtype, "threads": args.threads}
    if dev.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(dev)
    try:
        step(*make(64))                            # load code paths, compile/autotune small
        inputs = make(args.n)
        sync()
        if dev.type == "cuda":
            step(*inputs)                          # autotune at this size before measuring
            sync()
            torch.cuda.reset_peak_memory_stats(dev)
            base = torch.cuda.memory_allocated(dev)
            step(*inputs)
            sync()
            out["extra_mib"] = (torch.cuda.max_memory_allocated(dev) - base) / MIB
            out["memory_method"] = "torch.cuda.max_memory_allocated"
        else:
            with _RssPeak() as meter:
                step(*inputs)
            out["extra_mib"] = meter.extra / MIB
            out["memory_method"] = meter.method
            step(*inputs)                          # warm-up for the timing
        times, cpu = [], []
        for _ in range(args.repeats):
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            step(*inputs)
            sync()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out["time_ms"] = 1e3 * statistics.median(times)
        out["cpu_ms"] = 1e3 * statistics.median(cpu)
    except torch.cuda.OutOfMemoryError:
        out["error"] = "out of memory"
    return out


def _run_point(args, backend: str, n: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--backend", backend,
           "--n", str(n), "--dim", str(args.dim), "--device", args.device, "--dtype", args.dtype,
           "--repeats", str(args.repeats), "--threads", str(args.threads)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"backend": backend, "n": n, "error": f"child failed: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(rows: list) -> str:
    ref = {r["n"]: r for r in rows if r["backend"] == "torch" and "error" not in r}
    lines = ["| N | backend | fwd+bwd wall ms | CPU ms | extra memory MiB | memory / torch "
             "| wall speed-up vs torch |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']} | {r['backend']} | {r['error']} | | | | |")
            continue
        base = ref.get(r["n"])
        mem = f"{r['extra_mib'] / base['extra_mib']:.3f}" if base else "–"
        spd = f"{base['time_ms'] / r['time_ms']:.2f}×" if base else "–"
        lines.append(f"| {r['n']} | {r['backend']} | {r['time_ms']:.1f} | {r['cpu_ms']:.1f} "
                     f"| {r['extra_mib']:.1f} "
                     f"| {mem} | {spd} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--backends", nargs="+", default=None,
                   help="default: torch chunked (cpu), torch chunked triton (cuda)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    backends = args.backends or (["torch", "chunked"] if args.device == "cpu"
                                 else ["torch", "chunked", "triton"])
    rows = []
    for n in args.sizes:
        for backend in backends:
            row = _run_point(args, backend, n)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"d = {args.dim}, {args.dtype}, device {args.device}, {args.threads} threads, "
          f"target fgclep with bias, median of {args.repeats}")
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
