#!/usr/bin/env python3
"""Would a GPU power state explain why long compute-bound steps run slower than moesim prices them? A check on the
held-out step traces, not a model moesim uses (docs/accuracy.md, thirty-ninth session).

  .build/release/moesim validate experiments/vllm-h200/manifest.json --steps steps.csv
  python3 experiments/vllm-h200/power_state.py steps.csv [TAU_S] [MIN_TOKENS]

Each step is compute-bound (c = 1) when moesim prices it GPU-bound (its GPU time over its host time) with at least
MIN_TOKENS tokens (default 4,096), else c = 0. A power state s follows c over the measured step durations with time
constant TAU_S (default 0.5 s); a compute-bound step's GPU time is multiplied by 1 + k*s, k = 1/r - 1 for the sustained
GEMM ratio r measured back to back on the GPU (H200 0.868: probe/results/2026-12-04-h200-gemm-sustained; H100 0.892:
probe/results/2026-12-07-h100-gemm-sustained). Prints measured / predicted of the held-out graphless GPU-bound steps
without and with it, overall and for the steps after a second of such steps.
"""
import collections
import csv
import json
import math
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
SUSTAINED = {"h200-sxm-141gb": 0.868, "h100-sxm-80gb": 0.892}


def main():
    tau = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    min_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
    m = json.load(open(os.path.join(here, "manifest.json")))
    entries = {e["id"]: e for e in m["runs"]}

    def gpu(rid):
        a = entries.get(rid, {}).get("args", [])
        return a[a.index("--gpu") + 1] if "--gpu" in a else "?"

    traces = collections.defaultdict(list)
    for r in csv.DictReader(open(sys.argv[1])):
        if r["fit"] != "fit":
            traces[r["id"]].append(r)
    allb, alla, lateb, latea = [], [], [], []
    for tid, rows in traces.items():
        rid = tid[:-len("/steps")]
        if "stall" in entries.get(rid, {}).get("tags", []) or rid.startswith("x2/") or gpu(rid) not in SUSTAINED:
            continue
        k = 1 / SUSTAINED[gpu(rid)] - 1
        s, run = 0.0, 0.0
        for r in rows:
            meas, p = float(r["measured_ms"]), float(r["predicted_ms"])
            pg, ph = float(r["predicted_gpu_ms"]), float(r["predicted_host_ms"])
            c = 1.0 if pg > ph and int(r["tokens"]) >= min_tokens else 0.0
            run = run + meas / 1000 if c else 0.0
            p2 = max(p, pg * (1 + k * s)) if c else p
            if c and r["recorded_mode"] == "NONE":
                allb.append(meas / p); alla.append(meas / p2)
                if run > 1.0:
                    lateb.append(meas / p); latea.append(meas / p2)
            s = c + (s - c) * math.exp(-meas / 1000 / tau)
    print("power state: time constant %.2f s, steps of %d tokens or more" % (tau, min_tokens))
    print("held-out GPU-bound steps without CUDA graphs: %d, median measured / predicted %.3f without, %.3f with" % (
        len(allb), statistics.median(allb), statistics.median(alla)))
    print("  after a second of such steps: %d, %.3f without, %.3f with" % (len(lateb), statistics.median(lateb), statistics.median(latea)))


if __name__ == "__main__":
    main()
