#!/usr/bin/env bash
# One call of the vLLM campaign on a lent GPU host (the session's device tool), from the repository root:
#
#   probe/vllm/device_vllm.sh BUDGET_S [SKIP_JOBS] [JOBS_FILE]
#
# 1. Moves any bundle parts carried in .bundle/ (git-ignored) to /root/vstash, which outlives the call while the host
#    stays warm; with all parts there (.bundle/PARTS, default 4) and vLLM not yet unpacked, checks the SHA-256 (.bundle/SHA256) and unpacks
#    vLLM 0.24.0 into /root/vsite (see shared/vllm-on-gpu-host/README.md for how the bundle is made).
# 2. Runs the job list (probe/vllm/suite.py) until BUDGET_S seconds from the call's start are nearly spent; jobs done
#    in an earlier call on this host (/root/vres/<job>/done) or named in SKIP_JOBS are not run again.
# 3. Packs the jobs finished in this call (result files, step traces, logs; not the raw step logs) into
#    $OUT/vres-<time>.tar.xz.
# The checkout travels with every call (64 MiB in all): since the fourteenth session the tracked tree (about 56 MB,
# most of it probe/results) leaves no room for a 12 MiB part, so move probe/results aside for the calls (the device
# needs only probe/vllm), which then carry four parts each, and put it back before committing.
# On a user's own host with vLLM installed: python3 probe/vllm/suite.py --jobs probe/vllm/jobs-h200.json --results DIR
# --vsite "" does the same.
set -u
T0=$(date +%s)
budget=${1:-540}
skip=${2:-}
jobs=${3:-probe/vllm/jobs-h200.json}
OUT=${OUT:-/tmp/out}
mkdir -p /root/vstash /root/vres "$OUT"
for p in .bundle/*.part*; do [ -e "$p" ] && mv "$p" /root/vstash/; done
[ -e .bundle/SHA256 ] && cp .bundle/SHA256 /root/vstash/SHA256
# How many parts the bundle was split into (.bundle/PARTS; 4 if not given): the checkout and one part must fit in one
# call's 64 MiB, so a larger checkout needs smaller, more parts.
[ -e .bundle/PARTS ] && cp .bundle/PARTS /root/vstash/PARTS
want_n=$(cat /root/vstash/PARTS 2>/dev/null || echo 4)
n=$(ls /root/vstash/*.part* 2>/dev/null | wc -l)
if [ ! -e /root/vsite/vllm/__init__.py ]; then
  if [ "$n" -lt "$want_n" ]; then echo "bundle: $n of $want_n parts on this host; vLLM not unpacked yet"; nvidia-smi -L; exit 0; fi
  want=$(cat /root/vstash/SHA256); got=$(cat /root/vstash/*.part* | sha256sum | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then echo "bundle: SHA-256 mismatch ($got, want $want)"; exit 3; fi
  mkdir -p /root/vsite && cat /root/vstash/*.part* | xz -d -T8 | tar -x -C /root/vsite || { echo "bundle: unpack failed"; exit 3; }
  echo "bundle: unpacked in $(( $(date +%s) - T0 )) s"
  (nvidia-smi; nvidia-smi -q | head -60; lscpu; free -g; python3 -c "import torch, sys; print(sys.version); print(torch.__version__, torch.version.cuda)") > /root/vres/host.txt 2>&1
fi
export PYTHONPATH=/root/vsite HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 VLLM_USE_FLASHINFER_SAMPLER=0
touch /root/vres/.call-start
left=$(( budget - ($(date +%s) - T0) - 25 ))
# JOBS_FILE "none": only bring vLLM over (for a command of one's own after this script, e.g. probe/vllm/moe_bench.py).
[ "$jobs" = none ] && { echo "bundle: vLLM in /root/vsite; no jobs ($(( $(date +%s) - T0 )) s)"; exit 0; }
python3 probe/vllm/suite.py --jobs "$jobs" --results /root/vres --budget "$left" --skip "$skip"
cd /root/vres
new=$(find . -maxdepth 2 -name done -newer .call-start | xargs -r -n1 dirname | sort)
stamp=$(date +%H%M%S)
if [ -n "$new" ]; then
  tar -cJf "$OUT/vres-$stamp.tar.xz" --exclude='*/steplog' host.txt $new 2>/dev/null || tar -cJf "$OUT/vres-$stamp.tar.xz" --exclude='*/steplog' $new
  # The raw step logs too, in a second file, if small enough to come back.
  tar -cJf "$OUT/steplog-$stamp.tar.xz" $(for d in $new; do echo "$d/steplog"; done) 2>/dev/null
  ls -la "$OUT"
fi
echo "call: $(( $(date +%s) - T0 )) s; jobs done on this host: $(ls -d */done 2>/dev/null | xargs -r -n1 dirname | tr '\n' ' ')"
