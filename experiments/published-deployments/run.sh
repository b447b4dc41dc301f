#!/bin/sh
# Re-runs the published-deployment checks (README.md here): each moesim command, then measured vs predicted for all
# of them from runs.json (`moesim validate`; every run is fit: false, so all are held out). Nothing is fitted.
set -e
cd "$(dirname "$0")/../.."
M=${MOESIM:-.build/release/moesim}
[ -x "$M" ] || swift build -c release
VLLM_DEFAULTS="--max-num-seqs 1024 --max-num-batched-tokens 8192 --request-rate inf --seed 42 --no-async-scheduling --gpu-memory-utilization 0.9"
run() { echo; echo "\$ moesim run $*"; "$M" run "$@"; }
run --model gpt-oss-120b --gpu h100-sxm-80gb --random-input-len 2000 --random-output-len 100 --num-prompts 500 --max-model-len 32768 $VLLM_DEFAULTS
run --model qwen3-235b-a22b --gpu h100-sxm-80gb --tensor-parallel-size 8 --random-input-len 2000 --random-output-len 100 --num-prompts 500 $VLLM_DEFAULTS
run --model deepseek-r1 --gpu h200-sxm-141gb --tensor-parallel-size 8 --random-input-len 4000 --random-output-len 200 --num-prompts 500 $VLLM_DEFAULTS
run --model deepseek-r1 --gpu h200-sxm-141gb --tensor-parallel-size 8 --random-input-len 228 --random-output-len 213 --num-prompts 100 --max-concurrency 4 $VLLM_DEFAULTS
echo
"$M" validate experiments/published-deployments/runs.json
