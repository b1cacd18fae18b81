#!/usr/bin/env bash
# GPU check (<= 8 minutes on one H200): GPT-2-124M- and T5-base-shaped students, 50 steps each in bf16
# through the project's training entry point (launch.train), tokens/s and MFU against the bf16 dense
# peak (989 TFLOPS: NVIDIA's H200 spec sheet), then ARC-Challenge scored through lm-eval on the GPU.
#
#   benchmarks/gpu_check.sh                         # on the GPU machine (writes gpu_check.json to $OUT or .)
#   benchmarks/gpu_check.sh --shapes tiny --steps 2 # the same path on CPU, tiny students (~1-2 min)
#
# Extra arguments go to benchmarks/gpu_check.py (--batch, --rows, --limit, --peak-tflops).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 MPLBACKEND=Agg
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  set -- --batch 32 --rows 4000 "$@"   # a GPU step of 16 short examples is launch-bound: larger batches
fi
timeout 480 "$PYTHON" -W ignore benchmarks/gpu_check.py --out "${OUT:-.}/gpu_check.json" "$@"
