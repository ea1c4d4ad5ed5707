#!/usr/bin/env bash
# The CUDA paths and the GPU figures, in one run on a machine with an NVIDIA GPU:
# the CUDA tests (events, allocator and NVML memory, GPU == CPU for every catalog entry),
# profile snapshots taken on the GPU, and the side-by-side benchmarks on cuda.
#
#   OUT=/some/dir bash bench/gpu_check.sh        # snapshots and logs land in $OUT
#
# Uses the python3 that holds a CUDA torch (and transformers, for the benchmarks); the
# repository itself needs no install (PYTHONPATH). A `gguf` wheel in .whl/ is installed
# first where the package is missing.
set -u
OUT=${OUT:-/tmp/archscope-gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
if ! python3 -c "import gguf" 2>/dev/null && ls .whl/gguf-*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/gguf-*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
fi

section() { echo; echo "=== $* ($(date +%T))"; }

section environment
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0), '| transformers', transformers.__version__)"

section CUDA tests
timeout 240 python3 -m pytest -q -p no:cacheprovider tests/runtime/test_cuda.py 2>&1 | tee "$OUT/cuda-tests.log" | tail -25

section profile snapshots on cuda
timeout 70 python3 -m app profile --arch qwen3-0.6b --scale full --device cuda --dtype bfloat16 \
    --max-new-tokens 64 --sweep 256,1024,4096 --out "$OUT/qwen3-0.6b-cuda.json" --trace "$OUT/qwen3-0.6b-cuda.trace.json" 2>&1 | tail -15
timeout 40 python3 -m app profile --arch deepseek-v3 --scale explore --device cuda --max-new-tokens 32 \
    --out "$OUT/deepseek-v3-explore-cuda.json" 2>&1 | tail -8
python3 - "$OUT/qwen3-0.6b-cuda.json" <<'PY'
import json, statistics, sys
summary = json.load(open(sys.argv[1]))["summary"]
layers = summary["layer_ms_mean"]
print(f"qwen3-0.6b bf16: {summary['decode_tokens_per_s']} tok/s; mean decode ms, layer 0: {layers[0]}, "
      f"median of the others: {statistics.median(layers[1:])}")
PY

section roofline on cuda, bfloat16: measured vs predicted per layer kind
timeout 120 python3 bench/roofline.py --device cuda --dtype bfloat16 --models --slices \
    --arch qwen3-0.6b:full deepseek-v3:explore --new-tokens 32 2>&1 | tail -30

section probe overhead on cuda
timeout 70 python3 bench/probe_overhead.py --models --arch qwen3-0.6b:full gemma3-1b:full deepseek-v3:explore \
    --device cuda --new-tokens 64 --repeats 3 2>&1 | tail -12

section decode vs transformers on cuda, bfloat16, eager and fast
timeout 200 python3 bench/decode.py --device cuda --dtype bfloat16 --models qwen3-0.6b llama3-8b deepseek-v3:explore \
    --new-tokens 64 --repeats 2 2>&1 | tail -15

section probe overhead in fast mode on cuda
timeout 120 python3 bench/probe_overhead.py --models --arch qwen3-0.6b:full deepseek-v3:explore --mode fast \
    --device cuda --new-tokens 64 --repeats 3 2>&1 | tail -8

section MoE decode on cuda, bfloat16: grouped GEMM vs the per-expert loop, ours vs transformers
timeout 150 python3 bench/moe.py --device cuda --dtype bfloat16 \
    --models deepseek-v3:explore gpt-oss-20b:explore qwen3-30b-a3b:slice --new-tokens 64 2>&1 | grep -v "shards" | tail -8

section "studies on cuda, quick, bfloat16 (the issue's 2, 4 and 5, and per-layer embeddings' device memory)"
for study in sliding-window-latency few-large-vs-many-small-experts linear-attention-hybrids per-layer-embeddings; do
    timeout 150 python3 -m app study "$study" --quick --device cuda --dtype bfloat16 --out "$OUT/studies" 2>&1 | tail -2
done
