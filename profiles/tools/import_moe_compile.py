#!/usr/bin/env python3
"""Writes profiles/kernels/vllm-0.24.0-fused-moe-compile.json: how long Triton takes to compile vLLM 0.24.0's fused-MoE
kernel (bf16 experts, both GEMMs of a layer) for each configuration, relative to one reference configuration, from
probe/vllm/moe_compile.py's measurement (probe/results/2026-12-06-h100-moe-compile/moe-compile.json).

  python3 profiles/tools/import_moe_compile.py probe/results/2026-12-06-h100-moe-compile/moe-compile.json

moesim's first-use stall (engine profile vllm's moe_first_use_us) was measured inside the engine for one
configuration, the reference (128 x 128 x 64 tiles, 8 warps, 3 stages: vLLM's default for more than 512 tokens, and the
H100's tuned one for Qwen3-30B-A3B's large batches); a step that needs another configuration waits that times this
file's ratio. Each configuration's time is the smaller of its two compiles (an even and an odd token count, each a
compile of both kernels): the larger one of a pair sometimes held one-off work of the process (up to +300 ms at its
first configuration of 8 warps). Where several shapes compiled the same configuration (tiles, warps, stages; the
shapes' other compile-time arguments differ), their median. For a configuration not measured, a least-squares line
over the measured ones in the tile's multiply-accumulates per warp (BLOCK_SIZE_M x BLOCK_SIZE_N x BLOCK_SIZE_K /
num_warps), written with its error.
"""
import json
import os
import statistics
import sys

REFERENCE = (128, 128, 64, 8, 3)


def main(src, out):
    d = json.load(open(src))
    by = {}
    for r in d["rows"]:
        c = r["config"]
        key = (c["BLOCK_SIZE_M"], c["BLOCK_SIZE_N"], c["BLOCK_SIZE_K"], c["num_warps"], c["num_stages"])
        by.setdefault(key, []).append(min(r["even"]["compile_ms"], r["odd"]["compile_ms"]))
    ms = {k: statistics.median(v) for k, v in by.items()}
    ref = ms[REFERENCE]
    xs = [k[0] * k[1] * k[2] / k[3] / 1000.0 for k in ms]
    ys = [ms[k] / ref for k in ms]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    errs = [abs(a + b * x - y) / y for x, y in zip(xs, ys)]
    speeds = [d["hostspeed_before"]] + d.get("hostspeed_during", []) + [d["hostspeed_after"]]
    geo = [json.loads(s.split("] ", 1)[1])["workload_geomean_s"] for s in speeds]
    rel = os.path.relpath(src, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    doc = {"version": 1, "name": "vllm-0.24.0-fused-moe-compile",
           "sources": ["measurement, %s, %s, host speed %.4f s (probe/vllm/hostspeed.py, geometric mean of %d readings): %s "
                       "(probe/vllm/moe_compile.py: vLLM %s, Triton %s, each configuration forced on fused_experts, a fresh "
                       "Triton cache per shape), imported by profiles/tools/import_moe_compile.py" % (
                           d["date"][:10], d["gpu"], statistics.geometric_mean(geo), len(geo), rel, d["vllm"], d["triton"])],
           "what": "Triton compile time of the fused-MoE layer's two kernels per configuration (BLOCK_SIZE_M, BLOCK_SIZE_N, "
                   "BLOCK_SIZE_K, num_warps, num_stages), as a ratio to the reference configuration's",
           "reference": {"config": list(REFERENCE), "ms": ref},
           "relative": [{"config": list(k), "ratio": round(ms[k] / ref, 4), "ms": ms[k], "shapes": len(by[k])}
                        for k in sorted(ms, key=lambda k: ms[k])],
           "fit": {"intercept": round(a, 5), "per_kmac_per_warp": round(b, 6),
                   "what": "ratio = intercept + per_kmac_per_warp x BLOCK_SIZE_M x BLOCK_SIZE_N x BLOCK_SIZE_K / num_warps / 1000, "
                           "for a configuration not measured; least squares over the %d measured, mean |error| %.1f%%, max %.1f%%" % (
                               n, 100 * statistics.mean(errs), 100 * max(errs))}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("%s: %d configurations, reference %.0f ms; fit mean |error| %.1f%%, max %.1f%%" % (out, n, ref, 100 * statistics.mean(errs), 100 * max(errs)))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1], os.path.join(here, "..", "kernels", "vllm-0.24.0-fused-moe-compile.json"))
