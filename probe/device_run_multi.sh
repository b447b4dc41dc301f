#!/usr/bin/env bash
# One device call on a host of 2+ GPUs: NCCL collectives (moesim-probe), one MoE layer under TP and EP
# (harness/moe_layer_bench.py), random-weight checkpoints and Transformers' TP/EP generate() runs
# (harness/hf_dist_bench.py), LLaDA-MoE's expert loop (harness/llada_moe_loop_bench.py), a two-stage pipeline of
# OLMoE layers (harness/pp_pipeline_bench.py, step pp). Everything into $OUT.
#   OUT=/some/dir LIMIT=570 TAG=x2a STEPS="env,nccl,layer,hf" HF_QUEUE="model:mode:impl:b1,b2:in/out;..." \
#     bash probe/device_run_multi.sh
# HF_QUEUE entries: MODEL[@LAYERS]:MODE:IMPL:B1,B2,...:IN/OUT (MODE tp|ep). A checkpoint is built the first time a
# model is needed (saved under /tmp/ckpt, reused while the machine stays up).
# Files in $OUT: summary-TAG.txt, results-TAG.tgz (re-written after every step, so a cut-off call keeps what ran).
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export PATH=/usr/local/cuda/bin:$PATH TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
START=$(date +%s)
LIMIT=${LIMIT:-570}
DEADLINE=$((START + LIMIT))
OUT=${OUT:-/tmp/moesim-out}
TAG=${TAG:-multi}
STEPS=${STEPS:-env,nccl,layer,hf}
NGPU=${NGPU:-$(nvidia-smi -L 2>/dev/null | wc -l)}
R=/tmp/results-$TAG
mkdir -p "$OUT" "$R" /tmp/ckpt
SUM="$OUT/summary-$TAG.txt"
el() { echo $(( $(date +%s) - START )); }
say() { echo "[$(el)s] $*" | tee -a "$SUM"; }
pack() { tar czf "$OUT/results-$TAG.tgz" -C /tmp "results-$TAG" 2>/dev/null; }
has() { [[ ",$STEPS," == *",$1,"* ]]; }
say "start $(date -u +%FT%TZ) limit ${LIMIT}s, $NGPU GPUs, steps $STEPS"

if has env; then
  nvidia-smi > "$R/nvidia-smi.txt" 2>&1
  nvidia-smi topo -m > "$R/topo.txt" 2>&1
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv >> "$SUM"
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'gpus', torch.cuda.device_count(), 'nccl', torch.cuda.nccl.version())" 2>&1 | tee -a "$SUM"
  cat "$R/topo.txt" >> "$SUM"
  df -h /tmp | tail -1 >> "$SUM"
fi

if has nccl; then
  NCCL_ROOT=$(python3 probe/find_nccl.py 2>/dev/null || true)
  ( cmake -S probe -B /tmp/probe-build -DNCCL_ROOT="$NCCL_ROOT" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" &&
    cmake --build /tmp/probe-build -j 16 ) > "$R/build.log" 2>&1
  say "probe build rc=$?"
  mkdir -p "$R/probe"
  /tmp/probe-build/moesim-probe --results-dir "$R/probe" --skip check,launch,bandwidth,gemm,grouped,attn \
    --time-budget-s "${NCCL_BUDGET:-90}" > "$R/probe/probe.log" 2>&1
  say "probe nccl rc=$? $(grep -c . "$R/probe/nccl.csv" 2>/dev/null) rows"
  pack
fi

if has layer; then
  torchrun --nproc_per_node "$NGPU" probe/harness/moe_layer_bench.py --out "$R/moe_layer_${NGPU}gpu${LAYER_TAG:-}.json" \
    --deadline-epoch $((START + ${LAYER_BUDGET_END:-240})) ${LAYER_ARGS:-} > "$R/moe_layer${LAYER_TAG:-}.log" 2>&1
  say "moe layer rc=$? $(grep -c ' -> ' "$R/moe_layer${LAYER_TAG:-}.log") points"
  grep ' -> ' "$R/moe_layer${LAYER_TAG:-}.log" | cut -c20-200 >> "$SUM"
  pack
fi

if has pp; then
  torchrun --nproc_per_node 2 probe/harness/pp_pipeline_bench.py --out "$R/pp_pipeline_2gpu.json" \
    --deadline-epoch $((START + ${PP_BUDGET_END:-400})) ${PP_ARGS:-} > "$R/pp_pipeline.log" 2>&1
  say "pp pipeline rc=$?"
  grep ' us, send ' "$R/pp_pipeline.log" >> "$SUM"
  pack
fi

if has llada; then
  python3 probe/harness/llada_moe_loop_bench.py --out "$R/llada_moe_loop.json" > "$R/llada_moe_loop.log" 2>&1
  say "llada loop rc=$?"
  tail -8 "$R/llada_moe_loop.log" | cut -c1-220 | tee -a "$SUM"
  pack
fi

if has hf && [ -n "${HF_QUEUE:-}" ]; then
  mkdir -p "$R/frags"
  IFS=';' read -ra Q <<< "$HF_QUEUE"
  i=0
  for ent in "${Q[@]}"; do
    i=$((i + 1))
    IFS=':' read -r MODEL MODE IMPL BS SHAPE <<< "$ent"
    IN=${SHAPE%/*}; OUTLEN=${SHAPE#*/}
    NAME=${MODEL%@*}; LAYERS=""
    [[ "$MODEL" == *@* ]] && LAYERS=${MODEL#*@}
    CK=/tmp/ckpt/$MODEL
    if [ $(( DEADLINE - $(date +%s) )) -lt 60 ]; then say "SKIP $ent: deadline"; continue; fi
    if [ ! -f "$CK/config.json" ]; then
      python3 probe/harness/make_random_checkpoint.py --model "$NAME" ${LAYERS:+--layers $LAYERS} --out "$CK" \
        > "$R/ckpt-$MODEL.log" 2>&1
      say "checkpoint $MODEL rc=$? $(tail -1 "$R/ckpt-$MODEL.log" | cut -c1-200)"
      cp "$CK/moesim_provenance.json" "$R/frags/ckpt-$MODEL.json" 2>/dev/null
    fi
    F="$R/frags/frag-$i-${MODEL}-${MODE}-${IMPL}-${IN}x${OUTLEN}.json"
    timeout $(( DEADLINE - $(date +%s) - 5 )) torchrun --nproc_per_node "$NGPU" probe/harness/hf_dist_bench.py \
      --ckpt-dir /tmp/ckpt --plan "$MODEL:$MODE:$IMPL:$BS" --input-len "$IN" --output-len "$OUTLEN" \
      --deadline-epoch $((DEADLINE - 8)) --out "$F" > "$R/frags/log-$i.txt" 2>&1
    say "hf $ent rc=$?"
    grep -E "generate median|SKIP|Error" "$R/frags/log-$i.txt" | grep -v Warning | cut -c1-200 | tee -a "$SUM"
    pack
  done
fi
say "end $(date -u +%FT%TZ)"
pack
