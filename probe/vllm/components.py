#!/usr/bin/env python3
"""Component by component, vLLM's own decode steps (profiled windows, vllm_bench.py's "profile_steps") against
moesim's GPU time for the same step (`moesim explain`), per step in microseconds.

  python3 probe/vllm/components.py [--moesim .build/release/moesim] probe/results/2026-12-04-h200-vllm-{g,j,l}/*/k-n*-i*-o96.json

Measured columns come from probe/vllm/kernels.py's sorting of kernel names (attention kernels; GEMMs: projections,
routers, shared experts, dense MLPs, LM head; the fused MoE with its routing; elementwise; sampling), with the
grouped top-k router of DeepSeek-style models (torch.topk's kernels and the softmax before them) moved from sampling
to the fused MoE. moesim's (after the slash): the attention kernel over the layers (for MLA, the whole module,
projections included); in the GEMMs column everything else it prices outside attention and experts (projections,
routers, shared experts, dense MLPs, LM head, its elementwise roofline and the sampler, whose kernels the profile
splits between sampling and elementwise); the experts with their router. The profiler inflates small kernels (up to
30% at one sequence), so the measured sums are upper bounds there; the unprofiled step (the same run's median
full-graph step) is given.
"""
import argparse
import json
import os
import statistics
import subprocess

import kernels
from mla_grid import ROUTER, window
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def measured(path):
    d = json.load(open(path))
    g, run = d["gpu_profile"], d["run"]
    by = {}
    for name, _launches, us in g["kernel_us"]:
        c = kernels.component(name)
        if c == "sampling" and ROUTER.search(name):
            c = "fused MoE"
        by[c] = by.get(c, 0.0) + us / g["steps"]
    w = window(path)
    trace = json.load(open(path[:-5] + ".steps.json"))
    col = {k: i for i, k in enumerate(trace["columns"])}
    full = [s[col["interval"]] for s in trace["steps"] if s[col["cg"]] == "FULL" and s[col["interval"]] is not None]
    return (d["provenance"]["model"], run["n"], w["mean_context"], by, w["busy_us_per_step"],
            1e3 * statistics.median(full) if full else float("nan"))


def predicted(moesim, model, n, ctx):
    args = [moesim, "explain", "--model", model, "--gpu", "h200-sxm-141gb", "--decode-seqs", str(n), "--kv-len", str(int(round(ctx))), "--json"]
    routing = os.path.join(ROOT, "experiments", "vllm-h200", model + "-dummy-routing.json")
    if os.path.exists(routing):
        args[4:4] = ["--routing", "histogram:" + routing]
    d = json.loads(subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    layer = {x["component"]: x["time_us"] for x in d["layer"]}
    step = d["step_us"]
    layers = step["attention"] / max(1e-9, layer.get("MLA attention module", 0) or (layer.get("attention projections", 0) + layer.get("attention kernel", 0)))
    attn = layer.get("MLA attention module", layer.get("attention kernel", 0)) * layers
    return {"attention": attn, "GEMMs": step["attention"] - attn + step["dense_gemm"], "fused MoE": step["experts"]}, step["gpu_total"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--moesim", default=os.path.join(ROOT, ".build", "release", "moesim"))
    a = ap.parse_args()
    print("| model | seqs | context | attention | GEMMs | fused MoE + router | elementwise | sampling | kernels' sum | unprofiled step | moesim |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in a.files:
        model, n, ctx, by, busy, step = measured(f)
        p, total = predicted(a.moesim, model, n, ctx)
        cell = lambda k: "%.0f / %.0f" % (by.get(k, 0), p[k]) if k in p else "%.0f / -" % by.get(k, 0)
        print("| %s | %d | %.0f | %s | %s | %s | %s | %s | %.0f | %.0f | %.0f |" % (
            model, n, ctx, cell("attention"), cell("GEMMs"), cell("fused MoE"), cell("elementwise"), cell("sampling"), busy, step, total))


if __name__ == "__main__":
    main()
