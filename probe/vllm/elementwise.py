#!/usr/bin/env python3
"""The elementwise kernels of vLLM 0.24's compiled decode steps (norms, rotary, activations, gates: what is not a GEMM,
attention, the fused MoE, the router or sampling), per decoder layer, from profiled windows (vllm_bench.py's
"profile_steps"), against moesim's pricing of them (`StepCostModel.compiledElementwiseUs`: each kernel the GPU's
smallest kernel time plus their traffic at the achieved bandwidth), with the least-squares floor and bandwidth.

  python3 probe/vllm/elementwise.py probe/results/2026-12-04-h200-vllm-{g,j,l}/*/k-n*-i*-o96.json

Only kernels launched once a layer count (launches per step at least layers - 2); the small-batch FillFunctor of the
fused MoE's path is left out (the fused-MoE rows hold it). The kernel counts and bytes per token follow
`ModelArchitecture.elementwiseKernels` (the model's config.json from profiles/models); the measured count per layer is
printed beside moesim's.
"""
import argparse
import json
import os
import sys

import kernels
from mla_grid import ROUTER

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FLOOR_US = 2.0          # KernelCost.minKernelUs
BANDWIDTH = 4.8e12 * 0.971  # the H200 profile's achieved bandwidth (hbm_bandwidth_gbps x achieved_bandwidth_fraction)


def shape(model):
    """Kernels per layer and bytes per token (layer 1, the first MoE layer where there are dense layers first), as
    ModelArchitecture.elementwiseKernels counts them at TP 1 for vLLM's compiled graph."""
    c = json.load(open(os.path.join(ROOT, "profiles", "models", model + ".json")))["config"]
    fam, h = c["model_type"], c["hidden_size"]
    heads, kv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    hd = c.get("head_dim") or h // heads
    k, b = 2, 2 * 4 * h * 2
    if "kv_lora_rank" in c:
        k += 4
        b += 2 * 2 * (heads * (c["qk_nope_head_dim"] + c["qk_rope_head_dim"]) + c["kv_lora_rank"] + c["qk_rope_head_dim"])
    else:
        side = 0 if fam.startswith("qwen2") else (1 if fam == "olmoe" else 2)
        k += side
        if side:
            b += 2 * 2 * (heads + kv) * hd
    moe = any(x in c for x in ("num_experts", "num_local_experts", "n_routed_experts"))
    shared = c.get("shared_expert_intermediate_size") or (c.get("n_shared_experts", 0) * c.get("moe_intermediate_size", 0))
    mlp = shared if moe else c["intermediate_size"]
    if mlp:
        k += 1
        b += 3 * 2 * mlp
    if moe and c.get("shared_expert_intermediate_size"):
        k += 2
        b += 2 * 2 * h
    return c["num_hidden_layers"], k, b


def measured(path):
    d = json.load(open(path))
    g = d.get("gpu_profile")
    if not g or "error" in g:
        return None
    model, n = d["provenance"]["model"], d["run"]["n"]
    layers, k, b = shape(model)
    steps = g["steps"]
    ks = [(l / steps, us / steps) for name, l, us in g["kernel_us"]
          if kernels.component(name) == "elementwise" and not ROUTER.search(name) and "FillFunctor" not in name and l / steps >= layers - 2]
    tokens = n if "mnbt" not in path else 512
    return model, tokens, sum(x[0] for x in ks) / layers, sum(x[1] for x in ks) / layers, k, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    rows = [r for r in map(measured, ap.parse_args().files) if r]
    print("| model | tokens | kernels a layer, measured / moesim | us a layer, measured | moesim | error |")
    print("|---|---|---|---|---|---|")
    for model, t, km, us, k, b in rows:
        p = k * FLOOR_US + t * b / BANDWIDTH * 1e6
        print("| %s | %d | %.1f / %d | %.2f | %.2f | %+.0f%% |" % (model, t, km, k, us, p, 100 * (p - us) / us))
    best = None
    for a in [x / 100 for x in range(100, 300, 5)]:
        for bw in [x / 10 for x in range(10, 60)]:
            e = sum(((k * a + t * b / (bw * 1e6)) / us - 1) ** 2 for _, t, _, us, k, b in rows)
            if best is None or e < best[0]:
                best = (e, a, bw)
    print("\nleast squares on relative error over %d windows: floor %.2f us a kernel, %.1f TB/s (moesim: %.1f us, %.2f TB/s)"
          % (len(rows), best[1], best[2], FLOOR_US, BANDWIDTH / 1e12))


if __name__ == "__main__":
    sys.exit(main())
