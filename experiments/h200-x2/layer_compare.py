#!/usr/bin/env python3
"""One MoE layer on 2x H200, measured (probe/results/2026-11-29-h200x2/moe_layer_2gpu_gpu.json, GPU time per phase)
against `moesim explain` for the same shape, plan and token count. Prints a Markdown table (README, "Multi-GPU
ground truth"). Run from the repository root after `swift build -c release`:

    python3 experiments/h200-x2/layer_compare.py [--measured FILE] [--moesim .build/release/moesim]

Mapping: measured TP = experts sharded along the intermediate width on both GPUs, all T tokens on each, one
all-reduce of [T, hidden]; moesim `--tensor-parallel-size 2`. Measured EP = experts whole, 4 (Mixtral), 32 (OLMoE)
or 30 (Qwen) per GPU, T/2 tokens per GPU, all-to-all dispatch and combine; moesim `--strategy ep` (DP 2 x EP,
all2all backend alltoall). T <= 256 is posed to moesim as T decode sequences (context 16), larger T as prefill
(sequences of at most 2,048 tokens; at least 2 under EP, one per DP rank). Compared: router, experts (slowest GPU), and the collectives
(TP: the all-reduce after the FFN; EP: dispatch + combine).
"""
import argparse
import json
import subprocess
import sys


def explain(moesim, model, mode, T):
    cmd = [moesim, "explain", "--model", model, "--gpu", "h200-sxm-141gb", "--json",
           "--max-num-seqs", str(max(T, 256)), "--max-num-batched-tokens", str(max(T, 2048))]
    cmd += ["--tensor-parallel-size", "2"] if mode == "tp" else ["--strategy", "ep"]
    if T <= 256:
        cmd += ["--decode-seqs", str(T), "--kv-len", "16"]
    else:
        n = max(T // 2048, 1 if mode == "tp" else 2)  # prompts of at most 2,048 tokens (OLMoE's context is 4,096)
        cmd += ["--decode-seqs", "0", "--prefill-seqs", str(n), "--prefill-len", str(T // n)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {out.stderr.strip()}")
    layer = {c["component"]: c["time_us"] for c in json.loads(out.stdout)["layer"]}
    route = layer.get("router + shared experts", 0.0)
    experts = layer.get("experts (slowest GPU)", 0.0)
    if mode == "tp":
        comm = layer.get("TP all-reduce (after FFN)", 0.0)
    else:
        comm = sum(v for k, v in layer.items() if k.startswith("EP "))
    return route, experts, comm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--measured", default="probe/results/2026-11-29-h200x2/moe_layer_2gpu_gpu.json")
    ap.add_argument("--moesim", default=".build/release/moesim")
    args = ap.parse_args()
    rows = json.load(open(args.measured))["rows"]
    print("| model | plan | tokens | measured route / experts / comm (us) | moesim route / experts / comm (us) | "
          "measured total | moesim total | moesim / measured |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for r in rows:
        T = r["tokens"]
        if T not in (4, 64, 1024, 16384):
            continue
        comm = r["allreduce_us"] if r["mode"] == "tp" else r["dispatch_us"] + r["combine_us"]
        m = (r["route_us"], r["experts_us"], comm)
        s = explain(args.moesim, r["shape"], r["mode"], T)
        ratio = sum(s) / sum(m)
        ratios.append(ratio)
        print(f"| {r['shape']} | {r['mode'].upper()} | {T} | {m[0]:.0f} / {m[1]:.0f} / {m[2]:.0f} | "
              f"{s[0]:.0f} / {s[1]:.0f} / {s[2]:.0f} | {sum(m):.0f} | {sum(s):.0f} | {ratio:.2f} |")
    import statistics
    print(f"\nmoesim / measured over {len(ratios)} points: median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}")


if __name__ == "__main__":
    main()
