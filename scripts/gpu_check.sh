#!/usr/bin/env bash
# The GPU path measured on a real GPU, in one go: run from the repo root on a CUDA machine.
#   bash scripts/gpu_check.sh             # about 3-6 minutes on an H200 (torch.compile: ~1 min each)
#   bash scripts/gpu_check.sh --dry-run   # the same steps on the CPU with tiny models (no GPU)
# 1. the machine: nvidia-smi, Python, torch and its CUDA/cuDNN, the card torch sees
# 2. python -m bench.gpu_app: the app's own LiveRuns (Baby GPT, Train on text) on CUDA, their
#    rates and device as snapshot() reports them, and a model saved there and loaded on the CPU
# 3. python -m bench gpu --quick: nanoGPT's shakespeare_char, nanoGPT eager/compiled against
#    gptviz fp32, bf16 + fused AdamW and + torch.compile (ms/step, tokens/s, MFU, loss check)
# Logs and JSON go to bench/results/gpu/ (dry run: bench/results/gpu-dry-run/) and, when $OUT
# is set, to $OUT as well, as they are written. The app part runs first: it is the shorter one,
# so its figures exist even if compilation in the bench part overruns its time limit.
# Exits non-zero if any part failed or found a failed check. Needs no network and no Streamlit.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; fi
RES=bench/results/gpu
if [[ $DRY == 1 ]]; then RES=bench/results/gpu-dry-run; fi
mkdir -p "$RES"
if [[ -n "${OUT:-}" ]]; then mkdir -p "$OUT"; fi
failed=()

# tee a part's output into $RES/NAME.log (and $OUT/NAME.log); its status is the part's
log() { tee "$RES/$1.log" ${OUT:+"$OUT/$1.log"}; }
keep() { if [[ -n "${OUT:-}" && -f "$RES/$1" ]]; then cp -f "$RES/$1" "$OUT/"; fi; }

{
    echo "== $(date -u +%FT%TZ)  commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "== nvidia-smi"
    nvidia-smi 2>&1 || echo "(nvidia-smi failed or is not installed)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
        --format=csv 2>&1 || true
    echo "== python and torch ($PYTHON)"
    "$PYTHON" - <<'EOF'
import sys
import torch
print("python", sys.version.split()[0])
print("torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| cuDNN", torch.backends.cudnn.version(), "| available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"| capability {p.major}.{p.minor} | {p.total_memory / 2**30:.1f} GiB",
          f"| {p.multi_processor_count} SMs | bf16", torch.cuda.is_bf16_supported())
EOF
} 2>&1 | log env
cuda=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [[ $DRY == 0 && $cuda != 1 ]]; then
    echo "PyTorch sees no CUDA device: nothing measured (bash scripts/gpu_check.sh --dry-run" \
         "runs the same steps on the CPU)" | tee -a "$RES/env.log" ${OUT:+"$OUT/env.log"}
    exit 2
fi

if [[ $DRY == 1 ]]; then
    app_args=(--device cpu --steps 60 --baby-steps 300)
    bench_args=(--gpu-dry-run --repeats 1)
else
    app_args=(--device cuda)
    bench_args=()
fi

echo "== python -m bench.gpu_app ${app_args[*]}" | log gpu_app
timeout 150 "$PYTHON" -m bench.gpu_app "${app_args[@]}" --out "$RES" 2>&1 \
    | tee -a "$RES/gpu_app.log" ${OUT:+"$OUT/gpu_app.log"} || failed+=("bench.gpu_app")
keep gpu_app.json

echo "== python -m bench gpu --quick ${bench_args[*]}" | log bench_gpu
timeout 330 "$PYTHON" -m bench gpu --quick "${bench_args[@]}" --out "$RES" 2>&1 \
    | tee -a "$RES/bench_gpu.log" ${OUT:+"$OUT/bench_gpu.log"} || failed+=("bench gpu")
keep gpu.json
if [[ -f "$RES/gpu.json" ]] && ! "$PYTHON" -c "
import json, sys
lc = json.load(open(sys.argv[1]))['results']['loss_check']
sys.exit(0 if lc['within_noise'] else 1)" "$RES/gpu.json"; then
    failed+=("bench gpu loss check (fast path not within noise of fp32)")
fi

echo "== results in $RES/${OUT:+ and $OUT/}: $(ls "$RES" | tr '\n' ' ')"
if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "gpu_check: all parts passed"
