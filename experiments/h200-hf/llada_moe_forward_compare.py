#!/usr/bin/env python3
"""One LLaDA-MoE denoising forward on 1x H200, measured (probe/harness/llada_moe_forward_bench.py) against
`moesim explain --engine hf` (experts implementation loop_all, engine profile hf). Run after `swift build -c release`:

    python3 experiments/h200-hf/llada_moe_forward_compare.py

The measured forward replaces the experts with the released loop written with functional GEMMs (F.linear); the
released code calls an nn.Module per expert (three nn.Linear), as probe/harness/llada_moe_loop_bench.py does, whose
per-expert cost moesim's `remote_loop_expert_us` was fitted on. The functional loop has less Python per expert, so
this comparison bounds moesim's prediction from below rather than checking it exactly.
"""
import json
import subprocess

d = json.load(open("probe/results/2026-11-29-h200x2/llada_moe_forward_1gpu.json"))
print("| sequence length | measured, functional loop (ms) | measured, Transformers grouped_mm (ms) | moesim loop_all (ms) | moesim / measured loop |")
print("|---|---|---|---|---|")
for r in d["rows"]:
    L = r["seq_len"]
    h = L // 2
    out = subprocess.run([".build/release/moesim", "explain", "--engine", "hf", "--model", "llada-moe-7b", "--gpu",
                          "h200-sxm-141gb", "--generation", "diffusion", "--input-len", str(h), "--gen-length", str(h),
                          "--diffusion-steps", str(h), "--json"], capture_output=True, text=True, check=True)
    pred = json.loads(out.stdout)["forward_us"]["total"] / 1000
    print(f"| {L} | {r['released_loop_ms']:.1f} | {r['grouped_mm_ms']:.1f} | {pred:.1f} | {pred / r['released_loop_ms']:.2f} |")
