#!/usr/bin/env python3
"""Fit the per-expert cost of LLaDA-MoE's released expert loop (moesim's `loop_all` experts implementation) from the
H200 measurements of probe/harness/llada_moe_loop_bench.py.

    python3 experiments/h200-hf/llada_moe_loop_fit.py [probe/results/2026-11-29-h200x2/llada_moe_loop.json]

The loop visits every expert and syncs on each (`torch.where`), so one MoE block forward is host-bound at every
token count measured (32 to 4096 tokens: 11.8-16.3 ms, no trend with tokens): block = E x c. The fit is the
least-absolute-deviation estimate of c over the token counts (the median of loop_us / E), robust to the
two slow outliers; it prints c and the residuals. The value goes to profiles/engines/hf.json as
`remote_loop_expert_us`.
"""
import json
import statistics
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "probe/results/2026-11-29-h200x2/llada_moe_loop.json"
d = json.load(open(path))
rows = d["rows"]
E = rows[0]["experts"]
c = statistics.median(r["loop_us"] / r["experts"] for r in rows)
print(f"{d['meta']['gpu']}, torch {d['meta']['torch']}, {d['meta']['date_utc']}: {len(rows)} token counts, E = {E}")
for r in rows:
    print(f"  tokens {r['tokens']:5d}: loop {r['loop_us']:8.1f} us, fit {E * c:8.1f} us, error {100 * (E * c / r['loop_us'] - 1):+5.1f}%")
print(f"remote_loop_expert_us = {c:.1f}  (median of loop_us / E; mean |error| "
      f"{100 * statistics.mean(abs(E * c / r['loop_us'] - 1) for r in rows):.1f}%)")
