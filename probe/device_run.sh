#!/usr/bin/env bash
# One device call: build + run moesim-probe (optional) and the HF generate harness, everything into $OUT.
#   OUT=/some/dir LIMIT=560 PROBE=1 PLAN="model:impl:b1,b2;..." TAG=call1 bash probe/device_run.sh
# Files written to $OUT (at most 4): probe-<TAG>.tgz (results dir: CSVs, meta.json, profile.json, logs),
# frag-<TAG>.json (harness fragment), harness-<TAG>.log, summary-<TAG>.txt.
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export PATH=/usr/local/cuda/bin:$PATH
START=$(date +%s)
LIMIT=${LIMIT:-560}
DEADLINE=$((START + LIMIT))
OUT=${OUT:-/tmp/moesim-out}
TAG=${TAG:-run}
PROBE=${PROBE:-1}
PLAN=${PLAN:-}
mkdir -p "$OUT"
R=/tmp/probe-results-$TAG
mkdir -p "$R"
SUM="$OUT/summary-$TAG.txt"
echo "start $(date -u +%FT%TZ) limit ${LIMIT}s" | tee "$SUM"
nvidia-smi > "$R/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv | tee -a "$SUM"

if [ "$PROBE" = 1 ]; then
  NCCL_ROOT=$(python3 probe/find_nccl.py 2>/dev/null || true)
  echo "NCCL_ROOT=$NCCL_ROOT nvcc=$(command -v nvcc) cmake=$(command -v cmake)" | tee -a "$SUM"
  python3 probe/gen_shapes.py > "$R/gen_shapes.log" 2>&1
  cp probe/shapes.txt probe/grouped_shapes.txt "$R/"
  NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  ( cmake -S probe -B /tmp/probe-build -DNCCL_ROOT="$NCCL_ROOT" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC" &&
    cmake --build /tmp/probe-build -j 16 ) > "$R/build.log" 2>&1
  echo "build rc=$? ($(( $(date +%s) - START ))s)" | tee -a "$SUM"
  if [ -x /tmp/probe-build/moesim-probe ]; then
    /tmp/probe-build/moesim-probe --results-dir "$R" --time-budget-s "${PROBE_BUDGET:-200}" 2>&1 | tee "$R/probe.log" | grep -v "^\[probe\] gemm [0-9]*/" 
    echo "probe rc=${PIPESTATUS[0]} ($(( $(date +%s) - START ))s)" | tee -a "$SUM"
    python3 probe/make_profile.py "$R" --out "$R/h200-sxm-141gb.json" --interconnect-dir "$R/interconnects" \
      --results-path "probe/results/$(date -u +%F)-h200" 2>&1 | tee -a "$SUM"
  else
    tail -40 "$R/build.log"
  fi
  tar czf "$OUT/probe-$TAG.tgz" -C /tmp "probe-results-$TAG"
fi

if [ -n "$PLAN" ]; then
  python3 probe/harness/hf_generate_bench.py --plan "$PLAN" --deadline-epoch $((DEADLINE - 10)) \
    --out "$OUT/frag-$TAG.json" > "$OUT/harness-$TAG.log" 2>&1
  echo "harness rc=$? ($(( $(date +%s) - START ))s)" | tee -a "$SUM"
  grep -E "generate median|SKIP|Error|error" "$OUT/harness-$TAG.log" | tail -40
fi
echo "end $(date -u +%FT%TZ) ($(( $(date +%s) - START ))s)" | tee -a "$SUM"
